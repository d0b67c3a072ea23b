"""Who may use the staff console: the holder of OIM_STAFF_TOKEN, and nobody when it is unset.

Why: the console shows what migrants wrote. Browsers log in once with the token and get a session
cookie (HttpOnly, SameSite=Strict, signed with the token, expiring); scripts send
"Authorization: Bearer <token>". The cookie never contains the token itself, and changing the token
ends every session.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from aiohttp import web

COOKIE_NAME = "oim_staff"


class StaffAuth:
    """Checks the staff token and issues/validates session cookies."""

    def __init__(self, token: str | None, session_hours: float, secure_cookie: bool) -> None:
        self.token = token
        self.session_s = session_hours * 3600
        self.secure_cookie = secure_cookie

    @property
    def enabled(self) -> bool:
        return bool(self.token)

    def token_matches(self, candidate: str) -> bool:
        if not self.token:
            return False
        return hmac.compare_digest(candidate.encode("utf-8"), self.token.encode("utf-8"))

    def _signature(self, expires: int) -> str:
        assert self.token
        return hmac.new(self.token.encode(), f"staff-session:{expires}".encode(), hashlib.sha256).hexdigest()

    def session_value(self, now: float | None = None) -> str:
        expires = int((time.time() if now is None else now) + self.session_s)
        return f"{expires}.{self._signature(expires)}"

    def session_valid(self, value: str, now: float | None = None) -> bool:
        if not self.token or "." not in value:
            return False
        expires_text, signature = value.split(".", 1)
        if not expires_text.isdigit():
            return False
        expires = int(expires_text)
        if expires < (time.time() if now is None else now):
            return False
        return hmac.compare_digest(signature, self._signature(expires))

    def is_authenticated(self, request: web.Request) -> bool:
        """A valid Bearer token or session cookie."""
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            return self.token_matches(header[len("Bearer "):].strip())
        cookie = request.cookies.get(COOKIE_NAME, "")
        return bool(cookie) and self.session_valid(cookie)

    def set_session_cookie(self, response: web.StreamResponse) -> None:
        response.set_cookie(
            COOKIE_NAME, self.session_value(), max_age=int(self.session_s), path="/",
            httponly=True, samesite="Strict", secure=self.secure_cookie,
        )

    def clear_session_cookie(self, response: web.StreamResponse) -> None:
        response.del_cookie(COOKIE_NAME, path="/")
