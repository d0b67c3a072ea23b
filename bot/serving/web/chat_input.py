"""Validate what the web chat sends (POST /api/chat) before anything reaches Rasa.

Why: the chat endpoint is public. Every malformed request gets a precise 4xx with a French
message, and what does reach Rasa is clean text: no control characters, bounded length, and no
leading "/" (Rasa reads "/intent" as a command: a user typing "/restart" must not reset the
conversation or force an intent).
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

ALLOWED_FIELDS = frozenset({"sender", "message"})
SENDER_PATTERN = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
# Conversation ids coming from the web get this prefix, so that a web user can never write into a
# Telegram, Messenger or WhatsApp conversation by guessing its id.
WEB_SENDER_PREFIX = "web-"
# C0/C1 control characters except tab and newline; also the Unicode "noncharacters" U+FFFE/FFFF.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ufffe\uffff]")
_COMMAND_PREFIX = re.compile(r"^[\s/]+")


@dataclass
class InputError(Exception):
    """A request the chat refuses: HTTP status, machine code, values for the French message."""

    status: int
    code: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ChatRequest:
    """A valid chat message: the Rasa conversation id and the text to send."""

    sender: str
    message: str

    @property
    def rasa_sender(self) -> str:
        return WEB_SENDER_PREFIX + self.sender


def neutralise_command(text: str) -> str:
    """Drop leading slashes (and the spaces around them) so Rasa parses the text as words."""
    return _COMMAND_PREFIX.sub("", text)


def clean_text(text: str) -> str:
    """NFC-normalised text without control characters, trimmed."""
    return _CONTROL.sub("", unicodedata.normalize("NFC", text)).strip()


def parse_chat_request(body: bytes, max_chars: int) -> ChatRequest:
    """The ChatRequest in a raw request body, or InputError saying what is wrong."""
    try:
        decoded = body.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(400, "invalid_encoding") from None
    try:
        data = json.loads(decoded)
    except (json.JSONDecodeError, RecursionError):
        raise InputError(400, "invalid_json") from None
    if not isinstance(data, dict):
        raise InputError(400, "invalid_json")
    unknown = sorted(set(data) - ALLOWED_FIELDS)
    if unknown:
        raise InputError(400, "unknown_fields", {"fields": ", ".join(unknown)[:200]})

    sender = data.get("sender")
    if sender is None or sender == "":
        raise InputError(400, "missing_sender")
    if not isinstance(sender, str) or not SENDER_PATTERN.match(sender):
        raise InputError(400, "invalid_sender")

    message = data.get("message")
    if message is None:
        raise InputError(400, "missing_message")
    if not isinstance(message, str):
        raise InputError(400, "invalid_message")
    if len(message) > max_chars:
        raise InputError(413, "message_too_long", {"max": max_chars})
    text = neutralise_command(clean_text(message))
    if not text:
        raise InputError(400, "empty_message")
    return ChatRequest(sender=sender, message=text)
