"""Is this webhook really from the platform? One pure function per platform, all constant-time.

- Twilio signs `public URL + sorted(form key + value)` with HMAC-SHA1 of the auth token
  (`X-Twilio-Signature`); the URL must be the one Twilio called, as configured in its console,
  which behind a proxy is not the URL the server sees: it is configured (`webhook_url`).
- Telegram echoes the `secret_token` given at `setWebhook` in `X-Telegram-Bot-Api-Secret-Token`.
- Meta signs the raw body with HMAC-SHA256 of the app secret (`X-Hub-Signature-256: sha256=<hex>`).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable

from twilio.request_validator import RequestValidator

TELEGRAM_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


class _Params:
    """Form fields as (name, value) pairs, in the shape RequestValidator reads (`getall`)."""

    def __init__(self, pairs: Iterable[tuple[str, str]]) -> None:
        self._values: dict[str, list[str]] = {}
        for name, value in pairs:
            self._values.setdefault(name, []).append(value)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def getall(self, name: str) -> list[str]:
        return self._values[name]


def twilio_signature_valid(auth_token: str, url: str, form: Iterable[tuple[str, str]], signature: str) -> bool:
    if not auth_token or not signature:
        return False
    return bool(RequestValidator(auth_token).validate(url, _Params(form), signature))


def twilio_signature(auth_token: str, url: str, form: Iterable[tuple[str, str]]) -> str:
    """The signature Twilio would send (for the simulators and tests)."""
    return str(RequestValidator(auth_token).compute_signature(url, _Params(form)))


def telegram_secret_valid(expected: str, received: str | None) -> bool:
    if not expected or not received:
        return False
    return hmac.compare_digest(expected.encode(), received.encode())


def messenger_signature(app_secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def messenger_signature_valid(app_secret: str, body: bytes, header: str | None) -> bool:
    """Only the SHA-256 header counts: the legacy SHA-1 `X-Hub-Signature` is not accepted."""
    if not app_secret or not header or not header.startswith("sha256="):
        return False
    return hmac.compare_digest(messenger_signature(app_secret, body).encode(), header.strip().encode())
