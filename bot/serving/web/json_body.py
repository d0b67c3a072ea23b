"""The JSON object a POST to the API carries, checked once for every endpoint.

Why: the chat feedback, the staff reply and the inbox actions all want a JSON object with known
fields; each answering its own way to bad bytes, a list, or an unexpected field would give clients
three error shapes for one mistake.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

from aiohttp import web

from bot.serving.web.texts import error_response


class BadBody(Exception):
    """The request body is not what the endpoint takes; `response` is the 400 to send."""

    def __init__(self, response: web.Response) -> None:
        super().__init__(response.status)
        self.response = response


async def json_object(request: web.Request, allowed: Collection[str] | None = None,
                      unknown_code: str = "unknown_fields") -> dict[str, Any]:
    """The body as a JSON object; with `allowed`, any other field is refused (400 `unknown_code`,
    naming the fields). Undecodable bytes, bad JSON or another JSON type: 400 `invalid_json`."""
    try:
        data = json.loads((await request.read()).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise BadBody(error_response(400, "invalid_json")) from None
    if not isinstance(data, dict):
        raise BadBody(error_response(400, "invalid_json"))
    unknown = sorted(set(data) - set(allowed)) if allowed is not None else []
    if unknown:
        raise BadBody(error_response(400, unknown_code, fields=", ".join(unknown)[:200]))
    return data
