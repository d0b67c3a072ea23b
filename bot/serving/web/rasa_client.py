"""Send a user message to the Rasa REST channel and bring back the bot's texts.

Why a class apart from the handler: the failure cases (Rasa down, slow, erroring, or answering
nothing because the action server is down) are the product's behaviour. They all become one
exception, AssistantUnavailable, that the handler turns into the polite French message. With
several Rasa replicas (OIM_RASA_URL=a,b) messages go round-robin and a replica that refuses the
connection is skipped.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import uuid
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

import aiohttp

logger = logging.getLogger(__name__)

REST_WEBHOOK = "/webhooks/rest/webhook"


class AssistantUnavailable(Exception):
    """Rasa gave no usable answer; the reason is for logs, never for users."""


class RasaClient:
    """REST-channel client over a shared aiohttp session."""

    def __init__(self, session: aiohttp.ClientSession, urls: Sequence[str], timeout_s: float,
                 api_token: str | None = None) -> None:
        self.session = session
        self.api_token = api_token
        self.urls = list(urls)
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._next = itertools.cycle(range(len(self.urls)))

    def _order(self) -> list[str]:
        start = next(self._next)
        return self.urls[start:] + self.urls[:start]

    async def send(self, sender: str, text: str) -> list[dict[str, str]]:
        """The bot's messages ([{"text": ...}]) for one user message, or AssistantUnavailable.

        The message carries one `message_id` for all its tries: a replica that died after saving
        the turn leaves it stored, and the next replica answers the copy with that turn's reply
        instead of handling it twice (bot/serving/idempotency.py)."""
        last_error = "no Rasa URL"
        message_id = uuid.uuid4().hex
        for url in self._order():
            try:
                return await self._post(url, sender, text, message_id)
            except aiohttp.ClientConnectionError as error:  # replica down: try the next one
                last_error = f"{url}: {type(error).__name__}"
                logger.warning("Rasa replica unreachable: %s", last_error)
        raise AssistantUnavailable(last_error)

    async def append_event(self, sender: str, event: dict[str, Any], deliver: bool = False) -> None:
        """Append one event to a conversation through Rasa's HTTP API (`--enable-api`, token), so it
        is stored with the tracker; AssistantUnavailable when the API is off, refuses or fails.

        `deliver`: a `bot` event is also sent through the output channel of the conversation's
        latest input channel (Rasa's `execute_side_effects`, `output_channel=latest`): a staff reply
        reaches a WhatsApp, Telegram or Messenger conversation; REST conversations have no push
        channel (Rasa collects and drops it) and read it from /api/chat/updates."""
        if not self.api_token:
            raise AssistantUnavailable("no Rasa API token (OIM_RASA_TOKEN)")
        params = {"token": self.api_token}
        if deliver:
            params.update(execute_side_effects="true", output_channel="latest")
        last_error = "no Rasa URL"
        for url in self._order():
            try:
                async with self.session.post(
                    f"{url}/conversations/{quote(sender, safe='')}/tracker/events",
                    params=params, json=event, timeout=self.timeout,
                ) as response:
                    if response.status != 200:
                        raise AssistantUnavailable(f"{url} tracker events answered HTTP {response.status}")
                    return
            except aiohttp.ClientConnectionError as error:
                last_error = f"{url}: {type(error).__name__}"
            except asyncio.TimeoutError:
                raise AssistantUnavailable(f"{url} timed out") from None
        raise AssistantUnavailable(last_error)

    async def _post(self, url: str, sender: str, text: str, message_id: str) -> list[dict[str, str]]:
        body = {"sender": sender, "message": text, "message_id": message_id}
        try:
            async with self.session.post(url + REST_WEBHOOK, json=body, timeout=self.timeout) as response:
                if response.status != 200:
                    raise AssistantUnavailable(f"{url} answered HTTP {response.status}")
                payload = await response.json(content_type=None)
        except asyncio.TimeoutError:
            raise AssistantUnavailable(f"{url} timed out") from None
        except (aiohttp.ContentTypeError, ValueError) as error:
            raise AssistantUnavailable(f"{url} answered invalid JSON: {error}") from None
        messages = bot_texts(payload)
        if not messages:
            raise AssistantUnavailable(f"{url} answered no message (action server down?)")
        return messages


def bot_texts(payload: Any) -> list[dict[str, str]]:
    """The text messages of a REST-channel answer; anything else (images, custom) is dropped, except
    the handoff marker (custom {"handoff": "queued"}, actions/answers.py), kept on the text before it."""
    if not isinstance(payload, list):
        return []
    messages: list[dict[str, str]] = []
    for item in payload:
        if not isinstance(item, dict):
            continue
        if isinstance(item.get("text"), str) and item["text"].strip():
            messages.append({"text": item["text"]})
        custom = item.get("custom")
        if messages and isinstance(custom, dict) and isinstance(custom.get("handoff"), str):
            messages[-1][HANDOFF_KEY] = custom["handoff"]
    return messages


HANDOFF_KEY = "handoff"
