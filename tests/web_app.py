"""The web service in process: aiohttp's test client on `create_app`, in front of a fake Rasa.

Why: most of what the web service does (input checks, limits, origins, headers, errors, health, the
staff console, what reaches Rasa and what comes back) does not need a Rasa server, only something
that answers like its REST channel. `FakeRasa` is that: a small aiohttp app on a loopback port that
answers the REST webhook, Rasa's `/` and the action server's `/health`, records what it received, and
can be told to fail the ways the real one fails (frozen, HTTP 500, no message). The real
`RasaClient` of the web service talks to it over HTTP, so its timeouts and error handling are tested
for real. The end-to-end paths (a real answer, the tracker store, the browser) stay on the real
stack (tests/conftest.py: `stack`, `web_service`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.serving.web.app import create_app
from bot.serving.web.config import WebConfig
from bot.serving.web.knowledge_holder import KnowledgeHolder
from bot.serving.web.state import KNOWLEDGE

STAFF_TOKEN = "in-process-staff-token-0123456789"
FAKE_ANSWER = "Bonjour ! Je réponds aux questions sur l'OIM."

# One knowledge holder for every in-process app of the session: the staff console's search index
# (spaCy) is built once, not once per test.
_SHARED_KNOWLEDGE = KnowledgeHolder()


@dataclasses.dataclass
class FakeRasa:
    """Rasa's REST channel (and the action server's /health) as a test double, with the route of
    Rasa's HTTP API that appends an event to a conversation (feedback, "handled", staff replies).

    mode: "answer" (one text message), "silent" (an empty list, what stock Rasa answers when the
    action server is down), "error" (HTTP 500), "frozen" (never answers within the test).
    reply: the text of the answer (default FAKE_ANSWER); replies: the whole list of bot messages
    instead (e.g. with a custom payload). events: (sender, query, event) appended through the API.
    """

    mode: str = "answer"
    reply: str = FAKE_ANSWER
    replies: list[dict[str, Any]] | None = None
    received: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    events: list[tuple[str, dict[str, str], dict[str, Any]]] = dataclasses.field(default_factory=list)
    server: TestServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None, "start() first"
        return str(self.server.make_url("")).rstrip("/")

    def texts(self) -> list[str]:
        """The messages that reached Rasa, in order."""
        return [str(item.get("message")) for item in self.received]

    async def start(self) -> FakeRasa:
        app = web.Application()
        app.router.add_get("/", self._root)
        app.router.add_get("/health", self._health)
        app.router.add_post("/webhooks/rest/webhook", self._webhook)
        app.router.add_post("/conversations/{sender}/tracker/events", self._append)
        self.server = TestServer(app)
        await self.server.start_server()
        return self

    async def close(self) -> None:
        if self.server is not None:
            await self.server.close()

    async def _root(self, request: web.Request) -> web.Response:
        return web.Response(text="Hello from Rasa: 3.6.21")

    async def _health(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def _webhook(self, request: web.Request) -> web.Response:
        payload = json.loads(await request.read())
        self.received.append(payload)
        if self.mode == "frozen":
            await asyncio.sleep(3600)
        if self.mode == "error":
            return web.json_response({"error": "boom"}, status=500)
        if self.mode == "silent":
            return web.json_response([])
        if self.replies is not None:
            return web.json_response([{"recipient_id": payload.get("sender"), **reply} for reply in self.replies])
        return web.json_response([{"recipient_id": payload.get("sender"), "text": self.reply}])

    async def _append(self, request: web.Request) -> web.Response:
        self.events.append((request.match_info["sender"], dict(request.query), await request.json()))
        return web.json_response({"events": []})


def sqlite_endpoints(folder: Path) -> Path:
    """An endpoints file with an (empty) SQLite tracker store in `folder`."""
    endpoints = folder / "endpoints.yml"
    endpoints.write_text("tracker_store:\n  type: SQL\n  dialect: sqlite\n  db: trackers.db\n", encoding="utf-8")
    return endpoints


def config_for(rasa_url: str, actions_url: str, endpoints: Path, **fields: Any) -> WebConfig:
    """A WebConfig for tests: generous limits, no purge task, the staff console on."""
    settings: dict[str, Any] = {
        "rasa_urls": (rasa_url,), "actions_url": actions_url, "endpoints": endpoints,
        "staff_token": STAFF_TOKEN, "ip_per_minute": 100_000, "sender_per_minute": 1_000,
        "retention_days": 0, "rasa_timeout_s": 10.0,
    }
    settings.update(fields)
    return WebConfig(**settings)


async def start_client(config: WebConfig) -> TestClient:
    app = create_app(config)
    app[KNOWLEDGE] = _SHARED_KNOWLEDGE
    client = TestClient(TestServer(app))
    await client.start_server()
    return client


def ref(sender_id: str, token: str = STAFF_TOKEN) -> str:
    """The opaque reference the console puts in a conversation's URLs (bot/serving/web/conversation_refs.py)."""
    from bot.serving.web.conversation_refs import ConversationRefs

    return ConversationRefs(token).ref(sender_id)


def conversation_url(sender_id: str, token: str = STAFF_TOKEN, api: bool = False) -> str:
    """/staff/conversations/<ref> (or /api/staff/...) of `sender_id` under the staff token `token`."""
    return f"{'/api' if api else ''}/staff/conversations/{ref(sender_id, token)}"


def chat_body(sender: str, message: Any, **extra: Any) -> bytes:
    return json.dumps({"sender": sender, "message": message, **extra}).encode()
