"""The socket.io channel users reach from a web widget, fixed so that it always answers.

Why: with `session_persistence: true`, Rasa 3.6's SocketIOInput calls `sio.enter_room(...)`
without `await`; with the python-socketio we lock (5.x) that call is a coroutine, so the client
never joins its session's room and every reply is lost (RasaHQ/rasa#13027). It also passes
"/restart" to Rasa as a command (a silent reset) and any text as it came. This subclass, listed in
credentials.yml as `bot.serving.socketio_channel.ResilientSocketIOInput` and served under the same name
"socketio", replaces the two handlers after Rasa built them:

1. `session_request` awaits `enter_room`, so replies reach the client;
2. `user_uttered` cleans the text like the REST channel (control characters and HTML out, leading
   "/" dropped, at most OIM_MAX_MESSAGE_CHARS characters), and sends a message with nothing to read
   as "?", which the pipeline answers by asking to rephrase (bot/nlu/guards.py): never silence.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.socketio import SocketBlueprint, SocketIOInput, SocketIOOutput
from sanic import Blueprint

from bot.knowledge.user_text import clean_user_text
from bot.serving.rest_channel import (
    DEFAULT_MAX_MESSAGE_CHARS,
    MAX_MESSAGE_CHARS_ENV,
    _env_number,
    strip_command_prefix,
)

logger = logging.getLogger(__name__)

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]
# What an empty or unreadable message becomes: the pipeline asks the user to rephrase.
NOTHING_TO_READ = "?"


def readable_text(raw: Any, max_chars: int) -> str:
    """The text Rasa gets from a socket.io message: cleaned, bounded, never empty."""
    text = raw if isinstance(raw, str) else ""
    text = strip_command_prefix(clean_user_text(text[: max_chars * 2]))[:max_chars].strip()
    return text or NOTHING_TO_READ


class ResilientSocketIOInput(SocketIOInput):
    """Rasa's socket.io channel whose clients get their replies, whatever they typed."""

    @classmethod
    def name(cls) -> str:
        return "socketio"

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        webhook: SocketBlueprint = super().blueprint(on_new_message)
        sio = self.sio
        assert sio is not None  # set by SocketIOInput.blueprint
        max_chars = int(_env_number(MAX_MESSAGE_CHARS_ENV, DEFAULT_MAX_MESSAGE_CHARS))

        async def session_request(sid: str, data: dict | None) -> None:
            data = data if isinstance(data, dict) else {}
            if not data.get("session_id"):
                data["session_id"] = uuid.uuid4().hex
            if self.session_persistence:
                await sio.enter_room(sid, data["session_id"], namespace=self.namespace)
            await sio.emit("session_confirm", data["session_id"], room=sid, namespace=self.namespace)

        async def handle_message(sid: str, data: Any) -> None:
            data = data if isinstance(data, dict) else {}
            sender_id = data.get("session_id") if self.session_persistence else sid
            if not sender_id:
                sender_id = sid  # no session yet: answer this connection rather than nobody
                await sio.enter_room(sid, sid, namespace=self.namespace)
            metadata = data.get(self.metadata_key) or {}
            if isinstance(metadata, str):
                try:
                    metadata = json.loads(metadata)
                except ValueError:
                    metadata = {}
            message = UserMessage(
                readable_text(data.get("message"), max_chars),
                SocketIOOutput(sio, self.bot_message_evt),
                str(sender_id),
                input_channel=self.name(),
                metadata=metadata if isinstance(metadata, dict) else {},
            )
            await on_new_message(message)

        sio.on("session_request", handler=session_request, namespace=self.namespace)
        sio.on(self.user_message_evt, handler=handle_message, namespace=self.namespace)
        return webhook
