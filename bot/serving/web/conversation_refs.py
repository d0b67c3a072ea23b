"""Opaque references to conversations in the staff console's URLs (/staff/conversations/<ref>).

Why: a conversation id can be a phone number (a WhatsApp sender: "whatsapp-+33612345678"), and a URL
path lands in browser history, proxies' and access logs and Referer headers. Links, forms and API
paths of the console carry a reference instead, turned back into the id by the web service.

How: the id encrypted and authenticated with AES-SIV (`cryptography`), under a key derived with
HKDF-SHA256 from OIM_STAFF_TOKEN, the secret that already signs the staff session cookie. Not the
cookie's itsdangerous serializer: it signs but does not hide, its payload is the id in base64 that
anyone reading the URL can decode. AES-SIV is deterministic: one conversation has one reference on
every replica and after a restart, so no table is kept. A forged, altered or truncated reference, or
one made under another token (changing the token ends sessions and old links alike), gives None.
"""

from __future__ import annotations

import base64
import binascii
import re

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESSIV
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_SALT = b"oim-staff-conversation-ref"
_CONTEXT = b"conversation id in a staff console URL, v1"
MAX_REF_CHARS = 1024  # about 750 bytes of id: far more than any channel's sender id
_REF_PATTERN = re.compile(r"[A-Za-z0-9_-]+")


class ConversationRefs:
    """Sender id <-> opaque URL-safe reference, under one staff secret."""

    def __init__(self, secret: str) -> None:
        key = HKDF(algorithm=hashes.SHA256(), length=64, salt=_SALT, info=_CONTEXT).derive(secret.encode("utf-8"))
        self._cipher = AESSIV(key)

    def ref(self, sender_id: str) -> str:
        """The reference of `sender_id`: URL-safe base64 without padding, always the same for one id."""
        sealed = self._cipher.encrypt(sender_id.encode("utf-8"), [_CONTEXT])
        return base64.urlsafe_b64encode(sealed).rstrip(b"=").decode("ascii")

    def sender_id(self, ref: str) -> str | None:
        """The id a reference was made from, or None for anything this secret did not make."""
        if not ref or len(ref) > MAX_REF_CHARS or not _REF_PATTERN.fullmatch(ref):
            return None
        try:
            sealed = base64.urlsafe_b64decode(ref + "=" * (-len(ref) % 4))
            return self._cipher.decrypt(sealed, [_CONTEXT]).decode("utf-8")
        except (InvalidTag, ValueError, binascii.Error, UnicodeDecodeError):
            return None
