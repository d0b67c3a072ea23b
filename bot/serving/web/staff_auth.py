"""Who may use the staff console: the holder of OIM_STAFF_TOKEN, and nobody when it is unset.

Why: the console shows what migrants wrote. Browsers log in once with the token and get a session
cookie (HttpOnly, SameSite=Strict, signed and time-stamped by itsdangerous with the token as the
secret, refused after `session_hours`); scripts send "Authorization: Bearer <token>". The cookie
never contains the token itself, and changing the token ends every session. The cookie also
carries the name staff typed at login (signed, not secret): it is who "handled" a conversation in
the audit (bot/serving/web/attention_queue.py). The same secret makes the opaque conversation
references of the console's URLs (bot/serving/web/conversation_refs.py).
"""

from __future__ import annotations

import hmac
from typing import Any

from aiohttp import web
from itsdangerous import BadSignature, URLSafeTimedSerializer

from bot.serving.web.conversation_refs import ConversationRefs

COOKIE_NAME = "oim_staff"
_SALT = "oim-staff-session"
_PAYLOAD = "staff"  # sessions opened before names were asked: valid, without a name
_NAME_KEY = "n"


class StaffAuth:
    """Checks the staff token and issues/validates session cookies."""

    def __init__(self, token: str | None, session_hours: float, secure_cookie: bool) -> None:
        self.token = token
        self.session_s = session_hours * 3600
        self.secure_cookie = secure_cookie
        self._serializer = URLSafeTimedSerializer(token, salt=_SALT) if token else None
        self._refs = ConversationRefs(token) if token else None

    @property
    def enabled(self) -> bool:
        return bool(self.token)

    def conversation_ref(self, sender_id: str) -> str:
        """The opaque reference of a conversation, for the console's URLs (never the id itself)."""
        assert self._refs is not None, "staff console disabled: no token"
        return self._refs.ref(sender_id)

    def conversation_id(self, ref: str) -> str | None:
        """The conversation id of a reference this token made; None for a forged or foreign one."""
        return self._refs.sender_id(ref) if self._refs is not None else None

    def token_matches(self, candidate: str) -> bool:
        if not self.token:
            return False
        return hmac.compare_digest(candidate.encode("utf-8"), self.token.encode("utf-8"))

    def session_value(self, name: str = "") -> str:
        """A new signed, time-stamped session value (the cookie's content) for staff member `name`."""
        assert self._serializer is not None, "staff console disabled: no token"
        return self._serializer.dumps({_NAME_KEY: name})

    def session_name(self, value: str) -> str | None:
        """The name in a value this token signed less than `session_hours` ago ("" if none given),
        None for an invalid, foreign or expired value."""
        if self._serializer is None or not value:
            return None
        try:  # SignatureExpired is a BadSignature: tampered, foreign and expired values alike
            payload: Any = self._serializer.loads(value, max_age=int(self.session_s))
        except BadSignature:
            return None
        if payload == _PAYLOAD:
            return ""
        if isinstance(payload, dict) and isinstance(payload.get(_NAME_KEY), str):
            return str(payload[_NAME_KEY])
        return None

    def session_valid(self, value: str) -> bool:
        """True for a value this token signed less than `session_hours` ago."""
        return self.session_name(value) is not None

    def staff_name(self, request: web.Request) -> str:
        """The name given at login for a session cookie; "" for a Bearer token or no name."""
        if request.headers.get("Authorization", "").startswith("Bearer "):
            return ""
        return self.session_name(request.cookies.get(COOKIE_NAME, "")) or ""

    def is_authenticated(self, request: web.Request) -> bool:
        """A valid Bearer token or session cookie."""
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            return self.token_matches(header[len("Bearer "):].strip())
        cookie = request.cookies.get(COOKIE_NAME, "")
        return bool(cookie) and self.session_valid(cookie)

    def set_session_cookie(self, response: web.StreamResponse, name: str = "") -> None:
        response.set_cookie(
            COOKIE_NAME, self.session_value(name), max_age=int(self.session_s), path="/",
            httponly=True, samesite="Strict", secure=self.secure_cookie,
        )

    def clear_session_cookie(self, response: web.StreamResponse) -> None:
        response.del_cookie(COOKIE_NAME, path="/")
