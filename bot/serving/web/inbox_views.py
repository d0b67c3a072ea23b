"""The maintainers' inbox in the staff console: /staff/inbox, /api/staff/inbox and their two actions.

Why thin: the inbox itself (collect, redact, group, retention) is bot/serving/inbox.py and the writes
are bot/serving/inbox_files.py, shared with `python -m bot inbox`; here only the HTTP shapes. Forms
post with the session cookie (SameSite=Strict, and the origin middleware refuses cross-site posts);
scripts post JSON with the Bearer token. Whatever text is posted is redacted again before it is
written. Writes go to the project the web service runs from (`INBOX_PROJECT`, the repo by default).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp_jinja2
from aiohttp import web

from bot.knowledge.paths import repo_root
from bot.serving import inbox
from bot.serving.inbox_files import (
    InboxWriteError,
    add_nlu_example,
    add_qa_case,
    domain_intents,
    qa_categories,
)
from bot.serving.web import staff_pages
from bot.serving.web.conversations import FALLBACK_INTENT
from bot.serving.web.json_body import BadBody, json_object
from bot.serving.web.staff_views import _blocking, _html, staff_api, staff_page
from bot.serving.web.state import CONFIG, CONVERSATIONS
from bot.serving.web.texts import error_response, error_text, staff_labels, staff_text

logger = logging.getLogger(__name__)

INBOX_PROJECT = web.AppKey("inbox_project", Path)  # tests point it at a copy of the project
MAX_FIELD_CHARS = 1000
NOTICES = ("nlu", "qa", "already")


def _project(request: web.Request) -> Path:
    return request.app.get(INBOX_PROJECT) or repo_root()


def _below(request: web.Request) -> float:
    try:
        return min(1.0, max(0.0, float(request.query.get("below", inbox.DEFAULT_MIN_CONFIDENCE))))
    except ValueError:
        return inbox.DEFAULT_MIN_CONFIDENCE


def _scan(request: web.Request, below: float) -> inbox.Inbox:
    return inbox.scan(request.app[CONVERSATIONS], retention_days=request.app[CONFIG].retention_days,
                      min_confidence=below)


def _choices(root: Path) -> tuple[list[str], list[str]]:
    intents = sorted(i for i in domain_intents(root) if i != FALLBACK_INTENT)
    return intents, qa_categories(root)


# --- reading ---------------------------------------------------------------------------------

@staff_page
async def inbox_page(request: web.Request) -> web.Response:
    below = _below(request)
    try:
        result = await _blocking(_scan, request, below)
    except Exception as error:  # store down or misconfigured: say so on the page
        logger.error("cannot read the inbox: %s", type(error).__name__)
        return _html(_render(request, None, below, error=error_text("store_unavailable", reason=type(error).__name__)), 503)
    done = request.query.get("done", "")
    notice = staff_text(f"inbox_done_{done}") if done in NOTICES else None
    return _html(_render(request, result, below, notice=notice))


def _render(request: web.Request, result: inbox.Inbox | None, below: float, *, error: str | None = None,
            notice: str | None = None) -> str:
    intents, categories = _choices(_project(request))
    lines = [{"line": line, "senders": [(s, inbox.linkable_sender(s)) for s in line.senders]}
             for line in (result.lines if result else [])]
    return aiohttp_jinja2.render_string("staff_inbox.html", request, {
        "title": "Boîte des mainteneurs", "current": "inbox", "error": error, "notice": notice, "result": result,
        "lines": lines, "below": below, "intents": intents, "categories": categories,
        "reason_labels": staff_labels("inbox_reasons"),
    })


@staff_api
async def inbox_api(request: web.Request) -> web.Response:
    try:
        result = await _blocking(_scan, request, _below(request))
    except Exception as error:
        logger.error("cannot read the inbox: %s", type(error).__name__)
        return error_response(503, "store_unavailable", reason=type(error).__name__)
    return web.json_response(result.as_json())


# --- actions ---------------------------------------------------------------------------------

def _text(fields: dict[str, Any], request: web.Request) -> str:
    """The posted text, else the chosen phrasing of the posted line key (read again from the store)."""
    text = str(fields.get("text") or "")
    if text:
        return text[:MAX_FIELD_CHARS]
    key = str(fields.get("key") or "")
    if not key:
        raise InboxWriteError("give a text or the key of an inbox line")
    line = _scan(request, _below(request)).find(key)
    if line is None:
        raise InboxWriteError(f"no inbox line {key}")
    try:
        variant = int(fields.get("variant") or 1)
    except ValueError:
        variant = 0
    if not 1 <= variant <= len(line.variants):
        raise InboxWriteError(f"variant must be between 1 and {len(line.variants)}")
    return line.variants[variant - 1][0]


def _lines(value: Any) -> list[str]:
    """A list field: a JSON list, or one item per line of a form's textarea."""
    if isinstance(value, list):
        return [str(v)[:MAX_FIELD_CHARS] for v in value]
    return [line.strip()[:MAX_FIELD_CHARS] for line in str(value or "").splitlines() if line.strip()]


def _write_nlu(request: web.Request, fields: dict[str, Any]) -> Any:
    return add_nlu_example(_project(request), _text(fields, request), str(fields.get("intent") or ""))


def _write_qa(request: web.Request, fields: dict[str, Any]) -> Any:
    return add_qa_case(
        _project(request), _text(fields, request), category=str(fields.get("category") or ""),
        expect_all=_lines(fields.get("expect_all")), expect_any=_lines(fields.get("expect_any")),
        forbid=_lines(fields.get("forbid")), item_id=str(fields.get("id") or "").strip(),
        source=str(fields.get("source") or ""),
    )


async def _form_action(request: web.Request, write: Any, done: str) -> web.Response:
    form = dict(await request.post())
    try:
        result = await _blocking(write, request, form)
    except InboxWriteError as error:
        message = error_text("inbox_write_failed", reason=error)
        return _html(staff_pages.render_message(request, "Boîte des mainteneurs", message, current="inbox",
                                                links=True), 400)
    logger.info("inbox: %s written to %s", done, result.path.name)
    query = urlencode({"done": done if result.written else "already"})
    return web.Response(status=303, headers={"Location": f"/staff/inbox?{query}"})


async def _api_action(request: web.Request, write: Any) -> web.Response:
    try:
        fields = await json_object(request)
    except BadBody as bad:
        return bad.response
    try:
        result = await _blocking(write, request, fields)
    except InboxWriteError as error:
        return error_response(400, "inbox_write_failed", reason=error)
    return web.json_response({"written": result.written, "text": result.text, "detail": result.detail,
                              "file": str(result.path.relative_to(_project(request)))})


@staff_page
async def add_nlu_form(request: web.Request) -> web.Response:
    return await _form_action(request, _write_nlu, "nlu")


@staff_page
async def add_qa_form(request: web.Request) -> web.Response:
    return await _form_action(request, _write_qa, "qa")


@staff_api
async def add_nlu_api(request: web.Request) -> web.Response:
    return await _api_action(request, _write_nlu)


@staff_api
async def add_qa_api(request: web.Request) -> web.Response:
    return await _api_action(request, _write_qa)
