"""Cross-cutting HTTP rules: security headers, allowed origins (CORS), JSON errors, the access log.

Why one place: every response, including errors and static files, must carry the same security
headers; every API error must have the same JSON shape; and a page from another site must not be
able to post to us unless its origin is on the OIM_CORS_ORIGINS allow-list.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from bot.serving.redact import redact
from bot.serving.web.texts import error_response

logger = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",  # not no-referrer: browsers would then send "Origin: null"
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}
CORS_PATHS = ("/api/chat", "/api/chat/updates")  # a partner site's chat polls for staff replies too
STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}


async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare hook: runs for every response, errors and static files included."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if request.path.startswith(("/api/", "/staff")):
        response.headers.setdefault("Cache-Control", "no-store")


def request_origin_allowed(request: web.Request, allowed: tuple) -> bool | None:
    """None without Origin header; True for same-origin or allow-listed origins; else False."""
    origin = request.headers.get("Origin")
    if origin is None:
        return None
    same_host = origin.split("://", 1)[-1].rstrip("/") == request.host
    return same_host or origin.rstrip("/") in allowed


def make_origin_middleware(allowed: tuple) -> Callable:
    """Refuse cross-site state-changing requests; answer CORS for the chat API."""

    @web.middleware
    async def origin_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        verdict = request_origin_allowed(request, allowed)
        cors_path = request.path in CORS_PATHS
        if request.method == "OPTIONS" and cors_path:
            if not verdict:
                return error_response(403, "origin_not_allowed")
            return _with_cors(web.Response(status=204), request, max_age=True)
        if verdict is False and request.method in STATE_CHANGING:
            return error_response(403, "origin_not_allowed")
        response = await handler(request)
        if verdict and cors_path:
            _with_cors(response, request)
        return response

    return origin_middleware


def _with_cors(response: web.StreamResponse, request: web.Request, max_age: bool = False) -> web.StreamResponse:
    response.headers["Access-Control-Allow-Origin"] = request.headers["Origin"]
    response.headers["Vary"] = "Origin"
    if max_age:
        response.headers["Access-Control-Allow-Methods"] = "POST, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = "Content-Type"
        response.headers["Access-Control-Max-Age"] = "600"
    return response


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """HTTP errors as French JSON on /api/ and /health; unexpected exceptions as a clean 500."""
    try:
        return await handler(request)
    except web.HTTPException as error:
        if error.status < 400:
            raise
        code = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}.get(error.status)
        if code is None:
            code = "internal_error" if error.status >= 500 else "invalid_json"
        if request.path.startswith("/api/") or request.path == "/health" or error.status == 413:
            return error_response(error.status, code)
        return _html_error(request, error.status, code)
    except Exception:
        logger.exception("unexpected error on %s %s", request.method, request.path)
        if request.path.startswith("/api/"):
            return error_response(500, "internal_error")
        return _html_error(request, 500, "internal_error")


def _html_error(request: web.Request, status: int, code: str) -> web.Response:
    from bot.serving.web.staff_pages import render_error_page

    return web.Response(status=status, text=render_error_page(request, code), content_type="text/html", charset="utf-8")


class PathOnlyAccessLogger(AbstractAccessLogger):
    """One INFO line per request without its query string, the path redacted.

    Why: query strings carry tokens (`/models/live?token=`) and sender ids (`/api/chat/updates?sender=`),
    and a messaging conversation id in a path is a phone number; aiohttp's default line logs them all."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info('%s "%s %s" %s %s %.3fs', request.remote, request.method, redact(request.path),
                         response.status, response.body_length, time)
