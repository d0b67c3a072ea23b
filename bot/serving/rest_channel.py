"""The REST channel users reach (/webhooks/rest/webhook), hardened: it always answers something sane.

Why: stock Rasa 3.6 answers `[]` when a custom action fails (the action server is down, Redis is
unreachable...): the user waits for nothing. It also turns "/restart" or "/ask_contact{...}" typed
by a user into commands, and answers 500 to a body that is not a JSON object. This channel, listed
in credentials.yml as `bot.serving.rest_channel.ResilientRestInput` and served under the same name "rest":

1. strips leading "/" (and spaces) from user text, so users cannot trigger intents or commands;
2. sends the domain's `utter_action_error` text when processing raises, times out
   (OIM_REPLY_TIMEOUT_S, default 30 s; processing goes on in the background) or yields no message;
3. rejects a body that is not a JSON object, a message that is not a string, a bad sender or
   metadata with a 400 JSON `{"error": ...}` instead of a 500;
4. answers a message with nothing to read (spaces, control characters) or longer than
   OIM_MAX_MESSAGE_CHARS (default 5000, the web service's limit too) with a polite message of the
   domain (`utter_ask_rephrase`, `utter_message_too_long`), never with silence or an HTTP error a
   messaging user would not see. Long messages under the limit are read from their question
   sentences (bot/nlu/guards.py).

5. handles each message once: a message whose id (the JSON field `message_id`, else nginx's
   `X-Request-ID` header) is already on a user event of its conversation is not handled again; its
   answer is the bot messages that followed that event (bot/serving/idempotency.py, issue 17).

With `?stream=true` the same messages are sent as JSON lines once processing ends.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse, ResponseStream

from bot.knowledge.user_text import clean_user_text
from bot.serving.idempotency import (
    MAX_MESSAGE_ID_CHARS,
    MESSAGE_ID_FIELD,
    REQUEST_ID_HEADER,
    handle_once,
    header_message_id,
    valid_message_id,
)

logger = logging.getLogger(__name__)

ERROR_RESPONSE = "utter_action_error"
EMPTY_RESPONSE = "utter_ask_rephrase"
TOO_LONG_RESPONSE = "utter_message_too_long"
MAX_MESSAGE_CHARS_ENV = "OIM_MAX_MESSAGE_CHARS"
REPLY_TIMEOUT_ENV = "OIM_REPLY_TIMEOUT_S"
DEFAULT_MAX_MESSAGE_CHARS = 5000
DEFAULT_REPLY_TIMEOUT_S = 30.0
MAX_SENDER_CHARS = 255  # the SQL tracker store's sender_id column

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


class BadRequest(ValueError):
    """The request cannot be a user message; the text is the 400 answer's `error`."""


class PoliteReply(ValueError):
    """A well-formed request the assistant answers with one of its responses, without Rasa."""

    def __init__(self, response_name: str, sender: str | None) -> None:
        super().__init__(response_name)
        self.response_name = response_name
        self.sender = sender


@dataclass(frozen=True)
class IncomingMessage:
    """A validated request: what Rasa will process."""

    text: str
    sender: str | None
    metadata: dict[str, Any] | None
    message_id: str | None = None  # the client's; the channel falls back on nginx's X-Request-ID


def strip_command_prefix(text: str) -> str:
    """Text without leading whitespace and "/": Rasa reads "/intent{...}" as a command."""
    previous = None
    while previous != text:
        previous = text
        text = text.lstrip().lstrip("/")
    return text


def clean_text(text: str) -> str:
    """Control characters become spaces and lone surrogates U+FFFD: storable and printable."""
    text = text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return "".join(
        " " if unicodedata.category(ch) == "Cc" and ch not in "\n\t" else ch for ch in text
    )


def parse_request(body: bytes, max_chars: int) -> IncomingMessage:
    """Validate a webhook body; raises BadRequest naming the first problem."""
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("body must be UTF-8 JSON") from None
    if not isinstance(payload, dict):
        raise BadRequest("body must be a JSON object")
    message = payload.get("message")
    if not isinstance(message, str):
        raise BadRequest("'message' must be a string")
    sender = payload.get("sender")
    if sender is not None:
        if not isinstance(sender, str) or not sender.strip():
            raise BadRequest("'sender' must be a non-empty string")
        if len(sender) > MAX_SENDER_CHARS or clean_text(sender) != sender:
            raise BadRequest(f"'sender' must be printable and at most {MAX_SENDER_CHARS} characters")
    metadata = payload.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise BadRequest("'metadata' must be a JSON object")
    message_id = payload.get(MESSAGE_ID_FIELD)
    if message_id is not None and not valid_message_id(message_id):
        raise BadRequest(f"'{MESSAGE_ID_FIELD}' must be a printable string of 1 to {MAX_MESSAGE_ID_CHARS} "
                         "characters without surrounding spaces")
    if len(message) > max_chars:
        raise PoliteReply(TOO_LONG_RESPONSE, sender)
    text = strip_command_prefix(clean_user_text(message)).strip()
    if not text:
        raise PoliteReply(EMPTY_RESPONSE, sender)
    return IncomingMessage(text=text, sender=sender, metadata=metadata, message_id=message_id)


def _env_number(name: str, default: float) -> float:
    try:
        value = float(os.environ.get(name, "") or default)
    except ValueError:
        logger.warning("%s is not a number, using %s", name, default)
        return default
    return value if value > 0 else default


def error_text(request: Request, response_name: str = ERROR_RESPONSE) -> str | None:
    """A text of the domain (by default the polite error), or None when no model is loaded yet."""
    agent = getattr(request.app.ctx, "agent", None)
    domain = getattr(agent, "domain", None) if agent is not None else None
    if domain is None:
        return None
    for variant in domain.responses.get(response_name) or []:
        if variant.get("text"):
            return str(variant["text"])
    return None


class ResilientRestInput(RestInput):
    """Rasa's REST channel that validates input and never leaves a user without an answer."""

    @classmethod
    def name(cls) -> str:
        return "rest"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> ResilientRestInput:
        credentials = credentials or {}
        return cls(
            max_message_chars=credentials.get("max_message_chars"),
            reply_timeout_s=credentials.get("reply_timeout_s"),
        )

    def __init__(self, max_message_chars: int | None = None, reply_timeout_s: float | None = None) -> None:
        self.max_message_chars = int(
            max_message_chars or _env_number(MAX_MESSAGE_CHARS_ENV, DEFAULT_MAX_MESSAGE_CHARS)
        )
        self.reply_timeout_s = float(reply_timeout_s or _env_number(REPLY_TIMEOUT_ENV, DEFAULT_REPLY_TIMEOUT_S))
        self._background: set[asyncio.Task] = set()

    async def process(
        self, on_new_message: OnNewMessage, incoming: IncomingMessage, agent: Any = None
    ) -> tuple[str, list[dict[str, Any]]]:
        """(conversation id, bot messages); no message when processing failed or said nothing.

        With a message id and a ready agent (`request.app.ctx.agent`), the message goes through
        `handle_once` (the duplicate check under the conversation's lock, then the agent's processor)
        instead of `on_new_message` (Rasa's `Agent.handle_message`, which takes the same lock)."""
        collector = CollectingOutputChannel()
        message = UserMessage(
            incoming.text, collector, incoming.sender, input_channel=self.name(), metadata=incoming.metadata,
            message_id=incoming.message_id,
        )
        if incoming.message_id is not None and agent is not None and agent.is_ready():
            task = asyncio.ensure_future(handle_once(agent, message))
        else:
            task = asyncio.ensure_future(on_new_message(message))
        try:
            # shield: on timeout the turn still completes and is stored; only this answer gives up.
            await asyncio.wait_for(asyncio.shield(task), self.reply_timeout_s)
        except asyncio.TimeoutError:
            logger.error("no reply within %.0f s for conversation %s", self.reply_timeout_s, message.sender_id)
            self._background.add(task)
            task.add_done_callback(self._forget)
            return message.sender_id, []
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("processing a message of conversation %s failed", message.sender_id)
            return message.sender_id, []
        return message.sender_id, list(collector.messages)

    def _forget(self, task: asyncio.Task) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("late failure of a timed-out message: %r", task.exception())

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        webhook = Blueprint(f"custom_webhook_{type(self).__name__}", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse | ResponseStream:
            try:
                incoming = parse_request(request.body, self.max_message_chars)
            except BadRequest as error:
                return response.json({"error": str(error)}, status=400)
            except PoliteReply as polite:
                text = error_text(request, polite.response_name)
                if text is None:
                    return response.json({"error": "the assistant is not ready"}, status=503)
                recipient = polite.sender or "default"
                return response.json([{"recipient_id": recipient, "text": text}])
            if incoming.message_id is None:  # the client's id wins over nginx's
                incoming = replace(incoming, message_id=header_message_id(request.headers.get(REQUEST_ID_HEADER)))
            agent = getattr(request.app.ctx, "agent", None)
            sender_id, messages = await self.process(on_new_message, incoming, agent)
            if not messages:
                text = error_text(request)
                if text is None:
                    return response.json({"error": "the assistant is not ready"}, status=503)
                messages = [{"recipient_id": sender_id, "text": text}]
            if request.args.get("stream", "").lower() == "true":
                async def stream(resp: Any) -> None:
                    for item in messages:
                        await resp.write(json.dumps(item) + "\n")

                return response.stream(stream, content_type="text/event-stream")
            return response.json(messages)

        return webhook
