"""HTML pages of the staff console, rendered on the server from Jinja2 templates, without any script.

Why server-side: the console is a handful of forms and lists; plain HTML works everywhere, needs
no JavaScript (strict CSP). The templates (`templates/staff_*.html`) are rendered by aiohttp-jinja2
with autoescape on: every value is escaped by the template engine, with `html.escape` (the same
entities as the rest of the service). The only markup built from data is the search highlight,
itself escaped piece by piece (bot/serving/web/highlight.py) and handed over as `Markup`.
"""

from __future__ import annotations

import html
import time
from pathlib import Path
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web
from markupsafe import Markup

from bot.serving.redact import redact
from bot.serving.web.attention_queue import HandledMark, Queue
from bot.serving.web.conversations import TranscriptLine
from bot.serving.web.dashboard import Dashboard
from bot.serving.web.dashboard import charts as dashboard_charts
from bot.serving.web.staff_ask import AskResult
from bot.serving.web.state import STAFF
from bot.serving.web.texts import error_text, staff_labels, staff_text

TEMPLATES = Path(__file__).with_name("templates")

ROLE_LABELS = {"user": "Personne", "bot": "Assistant", "staff": "Équipe"}
DAY_CHOICES = (7, 14, 30, 90)
KIND_LABELS = {"organisation": "Organisation", "programme": "Aide", "event": "Événement", "framework": "Cadre"}


def _escaped(value: Any) -> Any:
    """Every `{{ value }}` of a template: already-safe markup as is, anything else escaped."""
    if hasattr(value, "__html__"):
        return value
    return Markup(html.escape("" if value is None else str(value), quote=True))


def when(timestamp: float) -> str:
    """UTC date and time, e.g. 2025-11-23 14:05 UTC."""
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(timestamp)) if timestamp else "?"


def setup_templates(app: web.Application) -> None:
    """The Jinja2 environment of the staff pages (autoescape on, undefined names are errors)."""
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        finalize=_escaped,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = when
    # Conversation links and forms carry an opaque reference, never the id (a phone number for WhatsApp).
    env.filters["ref"] = lambda sender_id: app[STAFF].conversation_ref(str(sender_id))
    env.filters["redact"] = lambda value: redact(str(value))  # conversation ids may be phone numbers


def _render(request: web.Request, name: str, **context: Any) -> str:
    return aiohttp_jinja2.render_string(name, request, context)


def render_message(request: web.Request, title: str, message: str, *, current: str | None = None,
                   heading: str | None = None, narrow: bool = False, links: bool = False) -> str:
    """A page that only says one thing (an error, the console disabled, the knowledge unavailable)."""
    return _render(request, "staff_message.html", title=title, current=current, heading=heading, message=message,
                   kind="error", narrow=narrow, links=links)


def render_error_page(request: web.Request, code: str) -> str:
    return render_message(request, "Erreur", error_text(code), links=True)


def render_disabled(request: web.Request) -> str:
    return render_message(request, "Console désactivée", error_text("staff_disabled"),
                          heading="Console désactivée", narrow=True)


def render_login(request: web.Request, error: str | None = None) -> str:
    return _render(request, "staff_login.html", title="Connexion", current=None, error=error)


def render_search(request: web.Request, query: str, hits: list[dict[str, Any]], message: str | None = None) -> str:
    if not hits and query and not message:
        message = "Aucun passage ne correspond à cette recherche."
    shown = [{**hit, "highlighted": Markup(hit["highlighted_html"])} for hit in hits]  # escaped by highlight.py
    return _render(request, "staff_search.html", title="Recherche", current="search", query=query,
                   message=message, hits=shown)


def render_knowledge(request: web.Request, entries: list[dict[str, Any]], contacts: list[dict[str, Any]]) -> str:
    shown = [{**contact, "details": _contact_details(contact)} for contact in contacts]
    return _render(request, "staff_knowledge.html", title="Fiches et contacts", current="knowledge",
                   entries=entries, contacts=shown, kind_labels=KIND_LABELS)


def _contact_details(contact: dict[str, Any]) -> list[tuple[str, list[str]]]:
    rows = [("Courriel", contact["emails"]), ("Téléphone", contact["phones"]),
            ("Télécopie", contact["faxes"]), ("Adresse", [contact["address"]])]
    return [(label, [v for v in values if v]) for label, values in rows if any(values)]


def render_queue(request: web.Request, queue: Queue | None, error: str | None = None, *,
                 show_handled: bool = False, feedback: dict[str, int] | None = None,
                 failing_channels: list[str] | None = None) -> str:
    """The attention queue: open conversations (urgent on top, newest first), handled ones if asked;
    first, the messaging platforms whose sends fail for good."""
    failing = [staff_labels("channels").get(name, name) for name in failing_channels or []]
    common: dict[str, Any] = {"title": "File d'attente", "current": "queue", "show_handled": show_handled,
                              "failing_note": staff_text("failing_channels", channels=", ".join(failing))
                              if failing else ""}
    if error or queue is None:
        return _render(request, "staff_queue.html", **common, error=error or "")
    return _render(request, "staff_queue.html", **common, error=None, queue=queue, feedback=feedback,
                   urgent_note=staff_text("urgent_note"), urgent_tag=staff_text("urgent_tag"),
                   handled_tag=staff_text("handled_tag"), reason_labels=staff_labels("reasons"))


def render_transcript(request: web.Request, sender_id: str, lines: list[TranscriptLine] | None,
                      error: str | None = None, *, revealed: bool = False, hidden_data: bool = False,
                      handled: HandledMark | None = None, in_queue: bool = False) -> str:
    """One conversation: what people typed redacted unless `revealed`, the "handled" audit trail."""
    if error or lines is None:
        error = error or error_text("conversation_not_found")
    return _render(request, "staff_transcript.html", title="Conversation", current="queue", sender_id=sender_id,
                   lines=lines or [], error=error, role_labels=ROLE_LABELS, revealed=revealed,
                   hidden_data=hidden_data, handled=handled, in_queue=in_queue,
                   audit=[line for line in lines or [] if line.kind == "handled"],
                   urgent_tag=staff_text("urgent_tag"), urgent_event=staff_text("urgent_event"),
                   handled_tag=staff_text("handled_tag"))


def render_dashboard(request: web.Request, board: Dashboard | None, error: str | None = None, *,
                     days: int, cached: bool = False) -> str:
    """The dashboard: SVG bar charts drawn by the template, the same figures in tables."""
    common: dict[str, Any] = {"title": "Tableau de bord", "current": "dashboard", "days": days,
                              "day_choices": DAY_CHOICES}
    if error or board is None:
        return _render(request, "staff_dashboard.html", **common, error=error or "")
    return _render(request, "staff_dashboard.html", **common, error=None, board=board, cached=cached,
                   charts=dashboard_charts(board, staff_labels("charts")))


def render_ask(request: web.Request, result: AskResult | None, error: str | None = None, *,
               question: str = "", previous: str = "") -> str:
    """The "ask as the caller" form, and under it the reply, evidence, gaps and contacts."""
    if result is not None:
        question, previous = result.question, "\n".join(result.previous)
    contacts = [{**contact, "details": _contact_details(contact)} for contact in (result.contacts if result else [])]
    return _render(request, "staff_ask.html", title="Demander comme l'appelant", current="ask", question=question,
                   previous=previous, error=error, result=result, contacts=contacts)
