"""Redaction of personal data (e-mail addresses, phone numbers) in text we log.

Why: migrants type their phone number or e-mail into the chat; logs are kept, copied and read by
people who have no need to see them. Everything a user typed goes through `redact` before it
reaches a log line at INFO or above.
"""

from __future__ import annotations

import re

EMAIL_MARK = "[courriel]"
PHONE_MARK = "[téléphone]"

# Local part and domain as permissive as real addresses ("prenom.nom+x@sous.domaine.org").
_EMAIL = re.compile(r"[\w.+%'-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
# A run of digits with the separators people type: "+41 79 285 71 23", "(022) 717-91-11",
# "0041.79.285.71.23". Only runs holding at least 7 digits are phone numbers (years, ages and
# small counts stay readable).
_PHONE_CANDIDATE = re.compile(r"(?:\+|00)?\d[\d\s().\-/\u00a0\u202f]{5,}\d")
MIN_PHONE_DIGITS = 7


def _mask_phone(match: re.Match[str]) -> str:
    digits = sum(ch.isdigit() for ch in match.group(0))
    return PHONE_MARK if digits >= MIN_PHONE_DIGITS else match.group(0)


def redact(text: str) -> str:
    """`text` with every e-mail address and phone number replaced by a neutral mark."""
    without_emails = _EMAIL.sub(EMAIL_MARK, text)
    return _PHONE_CANDIDATE.sub(_mask_phone, without_emails)


def shorten(text: str, limit: int = 200) -> str:
    """Redacted text cut to `limit` characters, for one log line."""
    cleaned = redact(text).replace("\n", " ")
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"
