"""The three platform simulators, served by one aiohttp application in a background thread.

    sims = PlatformSimulators(twilio_sid=..., twilio_token=..., telegram_token=..., graph_token=...).start()
    sims.url                       # base URL; connectors use sims.url + "/twilio", "/telegram", "/graph/v18.0"
    sims.sent("whatsapp", "whatsapp:+336...")  # what the platform received for that user, in order
    sims.fail_next("telegram", 503, times=2)   # the next sends get that status
    PlatformSimulators(..., latency_s=0.15)  # every API call takes 150 ms more (a real platform's round trip)
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

# Limits as the platforms document them.
TWILIO_MAX_BODY = 1600
TELEGRAM_MAX_TEXT = 4096
MESSENGER_MAX_TEXT = 2000


@dataclass
class Sent:
    """One message a connector sent to a platform."""

    platform: str
    recipient: str
    text: str
    raw: dict[str, Any]
    at: float = field(default_factory=time.monotonic)

    @property
    def buttons(self) -> list[str]:
        if self.platform == "telegram":
            rows = (self.raw.get("reply_markup") or {}).get("inline_keyboard") or []
            return [button["text"] for row in rows for button in row]
        if self.platform == "messenger":
            return [reply["title"] for reply in self.raw["message"].get("quick_replies") or []]
        return []


class PlatformSimulators:
    def __init__(self, twilio_sid: str, twilio_token: str, telegram_token: str, graph_token: str,
                 latency_s: float = 0.0) -> None:
        self.twilio_sid, self.twilio_token = twilio_sid, twilio_token
        self.telegram_token, self.graph_token = telegram_token, graph_token
        self.messages: list[Sent] = []
        self.requests: list[tuple[str, str]] = []  # (platform, path) of every API call, refused ones included
        self.webhooks: dict[str, Any] = {}  # Telegram's setWebhook parameters
        self.callback_answers: list[str] = []
        self._failures: dict[str, list[tuple[int, dict[str, str]]]] = {}
        self.delays: dict[str, float] = {}  # platform -> seconds each send takes (a slow platform)
        self.latency_s = latency_s  # seconds every API call takes, all platforms (settable while running)
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self.port = 0

    # --- control ---------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> PlatformSimulators:
        ready = threading.Event()

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self._loop)
            self._runner = web.AppRunner(self._app())
            self._loop.run_until_complete(self._runner.setup())
            site = web.TCPSite(self._runner, "127.0.0.1", 0)
            self._loop.run_until_complete(site.start())
            self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, daemon=True, name="platform-simulators")
        self._thread.start()
        if not ready.wait(15):
            raise RuntimeError("the platform simulators did not start")
        return self

    def stop(self) -> None:
        if self._loop is None:
            return
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)  # type: ignore[union-attr]
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def fail_next(self, platform: str, status: int, times: int = 1, headers: dict[str, str] | None = None) -> None:
        with self._lock:
            self._failures.setdefault(platform, []).extend([(status, headers or {})] * times)

    def sent(self, platform: str, recipient: str) -> list[Sent]:
        with self._lock:
            return [m for m in self.messages if m.platform == platform and m.recipient == recipient]

    def wait_sent(self, platform: str, recipient: str, start: int, minimum: int = 1,
                  quiet_s: float = 1.5, timeout_s: float = 90) -> list[Sent]:
        """The messages after the first `start` ones, once at least `minimum` arrived and none for `quiet_s`."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            new = self.sent(platform, recipient)[start:]
            if len(new) >= minimum and time.monotonic() - new[-1].at >= quiet_s:
                return new
            time.sleep(0.1)
        raise AssertionError(f"{platform}: {minimum} message(s) to {recipient} expected, got "
                             f"{[m.text for m in self.sent(platform, recipient)[start:]]}")

    # --- the APIs --------------------------------------------------------------------------------
    def _app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/twilio/2010-04-01/Accounts/{sid}/Messages.json", self._twilio_messages)
        app.router.add_post("/telegram/bot{token}/{method}", self._telegram)
        app.router.add_post("/graph/{version}/me/messages", self._graph_messages)
        return app

    async def _latency(self) -> None:
        if self.latency_s > 0:
            await asyncio.sleep(self.latency_s)

    async def _slow(self, platform: str) -> None:
        if self.delays.get(platform):
            await asyncio.sleep(self.delays[platform])

    def _injected(self, platform: str) -> web.Response | None:
        with self._lock:
            queue = self._failures.get(platform) or []
            if not queue:
                return None
            status, headers = queue.pop(0)
        return web.json_response({"error": "simulated failure"}, status=status, headers=headers)

    def _record(self, platform: str, recipient: str, text: str, raw: dict[str, Any]) -> None:
        with self._lock:
            self.messages.append(Sent(platform, recipient, text, raw))

    async def _twilio_messages(self, request: web.Request) -> web.Response:
        """POST /2010-04-01/Accounts/{AccountSid}/Messages.json (form: To, From, Body), basic auth."""
        self.requests.append(("whatsapp", request.path))
        await self._latency()
        auth = request.headers.get("Authorization", "")
        import base64

        expected = "Basic " + base64.b64encode(f"{self.twilio_sid}:{self.twilio_token}".encode()).decode()
        if request.match_info["sid"] != self.twilio_sid or auth != expected:
            return web.json_response({"code": 20003, "message": "Authenticate", "status": 401}, status=401)
        failure = self._injected("whatsapp")
        if failure is not None:
            return failure
        form = dict(await request.post())
        body = str(form.get("Body") or "")
        if not str(form.get("To", "")).startswith("whatsapp:") or not str(form.get("From", "")).startswith("whatsapp:"):
            return web.json_response({"code": 21211, "message": "Invalid 'To' Phone Number", "status": 400}, status=400)
        if len(body) > TWILIO_MAX_BODY:
            return web.json_response({"code": 21617, "message": "The concatenated message body exceeds the 1600 character limit",
                                      "status": 400}, status=400)
        self._record("whatsapp", str(form["To"]), body, {k: str(v) for k, v in form.items()})
        fixture = _fixture("twilio_message_created.json")
        fixture.update(sid=f"SM{next(self._ids):032d}", to=form["To"], body=body, account_sid=self.twilio_sid)
        fixture["from"] = form["From"]
        return web.json_response(fixture, status=201)

    async def _telegram(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        self.requests.append(("telegram", method))
        await self._latency()
        if request.match_info["token"] != self.telegram_token:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        payload = await request.json()
        if method == "setWebhook":
            self.webhooks = dict(payload)
            return web.json_response({"ok": True, "result": True, "description": "Webhook was set"})
        if method == "answerCallbackQuery":
            self.callback_answers.append(str(payload.get("callback_query_id")))
            return web.json_response({"ok": True, "result": True})
        if method != "sendMessage":
            return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)
        await self._slow("telegram")
        failure = self._injected("telegram")
        if failure is not None:
            return failure
        text = str(payload.get("text") or "")
        if not text.strip():
            return web.json_response({"ok": False, "error_code": 400, "description": "Bad Request: message text is empty"}, status=400)
        if len(text.encode("utf-16-le")) // 2 > TELEGRAM_MAX_TEXT:
            return web.json_response({"ok": False, "error_code": 400, "description": "Bad Request: message is too long"}, status=400)
        self._record("telegram", str(payload.get("chat_id")), text, payload)
        result = _fixture("telegram_send_message_result.json")
        result["result"].update(message_id=next(self._ids), text=text, chat={"id": payload.get("chat_id"), "type": "private"})
        return web.json_response(result)

    async def _graph_messages(self, request: web.Request) -> web.Response:
        """POST /{version}/me/messages?access_token=... (Send API)."""
        self.requests.append(("messenger", request.path))
        await self._latency()
        if request.query.get("access_token") != self.graph_token:
            return web.json_response({"error": {"message": "Invalid OAuth access token.", "type": "OAuthException",
                                                "code": 190}}, status=400)
        failure = self._injected("messenger")
        if failure is not None:
            return failure
        payload = await request.json()
        text = str((payload.get("message") or {}).get("text") or "")
        if len(text) > MESSENGER_MAX_TEXT:
            return web.json_response({"error": {"message": "(#100) Length of param message[text] must be less than or equal to 2000",
                                                "type": "OAuthException", "code": 100}}, status=400)
        for reply in (payload.get("message") or {}).get("quick_replies") or []:
            if len(reply.get("title", "")) > 20:
                return web.json_response({"error": {"message": "(#100) quick reply title too long", "code": 100}}, status=400)
        recipient = str((payload.get("recipient") or {}).get("id"))
        self._record("messenger", recipient, text, payload)
        return web.json_response({"recipient_id": recipient, "message_id": f"m_{next(self._ids)}"})


def _fixture(name: str) -> dict[str, Any]:
    from pathlib import Path

    return dict(json.loads((Path(__file__).parents[1] / "fixtures" / name).read_text(encoding="utf-8")))
