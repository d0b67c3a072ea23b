"""HTML pages of the staff console, rendered on the server without any script.

Why server-side: the console is a handful of forms and lists; plain HTML works everywhere, needs
no JavaScript (strict CSP) and keeps escaping in one place. Every value goes through `esc`; the
only markup built from data is the search highlight, itself escaped piece by piece
(bot/serving/web/highlight.py).
"""

from __future__ import annotations

import html
import time
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from string import Template
from typing import Any
from urllib.parse import quote

from bot.serving.web.conversations import HandoffList, HandoffSummary, TranscriptLine
from bot.serving.web.texts import error_text, staff_text

TEMPLATES = Path(__file__).with_name("templates")

ROLE_LABELS = {"user": "Personne", "bot": "Assistant"}
KIND_LABELS = {"organisation": "Organisation", "programme": "Aide", "event": "Événement", "framework": "Cadre"}


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


@cache
def _template(name: str) -> Template:
    return Template((TEMPLATES / name).read_text(encoding="utf-8"))


def when(timestamp: float) -> str:
    """UTC date and time, e.g. 2025-11-23 14:05 UTC."""
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(timestamp)) if timestamp else "?"


def page(title: str, content: str, current: str | None = None) -> str:
    """The layout around `content` (already HTML); navigation only for signed-in staff."""
    nav = ""
    if current is not None:
        marks = {f"current_{name}": "" for name in ("search", "knowledge", "handoffs")}
        marks[f"current_{current}"] = ' aria-current="page"'
        nav = _template("staff_nav.html").substitute(marks)
    return _template("staff_layout.html").substitute(title=esc(title), nav=nav, content=content)


def notice(text: str, kind: str = "info") -> str:
    role = ' role="alert"' if kind == "error" else ""
    return f'<p class="notice {esc(kind)}"{role}>{esc(text)}</p>'


def render_error_page(code: str) -> str:
    return page("Erreur", f'<section class="card">{notice(error_text(code), "error")}'
                          '<p><a href="/staff">Console du personnel</a> · <a href="/">Chat</a></p></section>')


def render_disabled() -> str:
    return page("Console désactivée", f'<section class="card narrow"><h2>Console désactivée</h2>'
                                      f'{notice(error_text("staff_disabled"), "error")}</section>')


def render_login(error: str | None = None) -> str:
    content = _template("staff_login.html").substitute(error=notice(error, "error") if error else "")
    return page("Connexion", content)


def render_search(query: str, hits: list[dict[str, Any]], message: str | None = None) -> str:
    results = ""
    if hits:
        items = "".join(_hit_html(rank, hit) for rank, hit in enumerate(hits, 1))
        results = (f'<section class="card"><h2>{len(hits)} passage(s) pour « {esc(query)} »</h2>'
                   f'<ol class="hits">{items}</ol></section>')
    elif query and not message:
        message = "Aucun passage ne correspond à cette recherche."
    content = _template("staff_search.html").substitute(
        query=esc(query), message=notice(message) if message else "", results=results
    )
    return page("Recherche", content, current="search")


def _hit_html(rank: int, hit: dict[str, Any]) -> str:
    section = f' · {esc(hit["section"])}' if hit["section"] else ""
    return (
        '<li class="hit">'
        f'<p class="meta"><span class="rank">n° {rank}</span> <strong>{esc(hit["title"])}</strong>{section}</p>'
        f'<p class="passage">{hit["highlighted_html"]}</p>'  # escaped + <mark> (highlight.py)
        f'<p class="meta">Source : {esc(hit["title"])} · passage <code>{esc(hit["passage_id"])}</code>'
        f' · score {hit["score"]:.3f}</p>'
        "</li>"
    )


def render_knowledge(entries: list[dict[str, Any]], contacts: list[dict[str, Any]]) -> str:
    entry_items = "".join(_entry_html(e) for e in entries) or "<p>Aucune fiche.</p>"
    contact_items = "".join(_contact_html(c) for c in contacts) or "<p>Aucun contact.</p>"
    content = (
        f'<section class="card"><h2>Fiches ({len(entries)})</h2>{entry_items}</section>'
        f'<section class="card" id="contacts"><h2>Contacts ({len(contacts)})</h2>{contact_items}</section>'
    )
    return page("Fiches et contacts", content, current="knowledge")


def _entry_html(entry: dict[str, Any]) -> str:
    facts = "".join(
        "<li>"
        f'<strong>{esc(f["label"])}</strong> : {esc(f["value"])}'
        + (' <span class="tag">actuel</span>' if f.get("current") else "")
        + f'<blockquote>« {esc(f["quote"])} »</blockquote>'
        f'<p class="meta">Source : {esc(f["source_title"] or f["source"])} · <code>{esc(f["source"])}</code></p>'
        "</li>"
        for f in entry["facts"]
    )
    contacts = ", ".join(f"<code>{esc(c)}</code>" for c in entry["contacts"])
    return (
        f'<article class="entry" id="{esc(entry["id"])}">'
        f'<h3>{esc(entry["title"])} <span class="tag">{esc(KIND_LABELS.get(entry["kind"], entry["kind"]))}</span></h3>'
        f'<p class="meta"><code>{esc(entry["id"])}</code></p>'
        f'<p>{esc(entry["answer"])}</p>'
        + (f"<details><summary>{len(entry['facts'])} fait(s) et citations</summary><ul class=\"facts\">{facts}</ul></details>" if facts else "")
        + (f'<p class="meta">Contacts : {contacts}</p>' if contacts else "")
        + "</article>"
    )


def _values(label: str, values: Iterable[str]) -> str:
    items = [esc(v) for v in values if v]
    return f"<dt>{esc(label)}</dt><dd>{', '.join(items)}</dd>" if items else ""


def _contact_html(contact: dict[str, Any]) -> str:
    details = (
        _values("Courriel", contact["emails"]) + _values("Téléphone", contact["phones"])
        + _values("Télécopie", contact["faxes"]) + _values("Adresse", [contact["address"]])
    )
    title = " · ".join(esc(v) for v in (contact["name"], contact["organisation"]) if v) or esc(contact["id"])
    return (
        f'<article class="contact" id="{esc(contact["id"])}"><h3>{title}</h3>'
        f'<p class="meta"><code>{esc(contact["id"])}</code></p>'
        + (f'<p>{esc(contact["purpose"])}</p>' if contact["purpose"] else "")
        + (f"<dl>{details}</dl>" if details else "")
        + (f'<blockquote>« {esc(contact["quote"])} »</blockquote>' if contact["quote"] else "")
        + f'<p class="meta">Source : {esc(contact["source_title"] or contact["source"])} · <code>{esc(contact["source"])}</code></p>'
        "</article>"
    )


def render_handoffs(result: HandoffList | None, error: str | None = None) -> str:
    if error or result is None:
        return page("Demandes d'un humain", f'<section class="card">{notice(error or "", "error")}</section>', "handoffs")
    rows = "".join(_handoff_row(c) for c in result.conversations)  # urgent first (conversations.py)
    table = (
        '<div class="table-wrap"><table><thead><tr><th scope="col">Conversation</th><th scope="col">Demande</th>'
        '<th scope="col">Dernier message</th><th scope="col">Messages</th><th scope="col">Toujours demandé</th>'
        f"</tr></thead><tbody>{rows}</tbody></table></div>"
        if rows else "<p>Aucune conversation n'a demandé un humain.</p>"
    )
    note = notice(f"Seules les {result.scanned} premières conversations ont été lues.") if result.truncated else ""
    if any(c.urgent for c in result.conversations):
        note += notice(staff_text("urgent_note"), "urgent")
    content = (f'<section class="card"><h2>Demandes d\'un humain ({len(result.conversations)})</h2>'
               f"<p>Conversations où la personne a demandé à parler à quelqu'un.</p>{note}{table}</section>")
    return page("Demandes d'un humain", content, current="handoffs")


def _handoff_row(c: HandoffSummary) -> str:
    tag = f' <span class="tag urgent">{esc(staff_text("urgent_tag"))}</span>' if c.urgent else ""
    row = '<tr class="urgent">' if c.urgent else "<tr>"
    return (
        f'{row}<td><a href="/staff/conversations/{esc(quote(c.sender_id, safe=""))}"><code>{esc(c.sender_id)}</code></a>{tag}</td>'
        f"<td>{esc(when(c.requested_at))}</td><td>{esc(when(c.last_activity))}</td>"
        f"<td>{c.user_messages}</td><td>{'oui' if c.still_requested else 'non'}</td>"
        "</tr>"
    )


def render_transcript(sender_id: str, lines: list[TranscriptLine] | None, error: str | None = None) -> str:
    if error or lines is None:
        body = notice(error or error_text("conversation_not_found"), "error")
    else:
        body = '<ol class="transcript">' + "".join(_line_html(line) for line in lines) + "</ol>"
    content = (f'<section class="card"><h2>Conversation <code>{esc(sender_id)}</code></h2>'
               f'<p><a href="/staff/handoffs">← Demandes d\'un humain</a></p>{body}</section>')
    return page("Conversation", content, current="handoffs")


def _line_html(line: TranscriptLine) -> str:
    stamp = f'<span class="meta">{esc(when(line.timestamp))}</span>'
    if line.kind == "handoff":
        return f'<li class="event">{stamp} — la personne a demandé à parler à un humain</li>'
    if line.kind == "urgent":
        return (f'<li class="event urgent">{stamp} — <span class="tag urgent">{esc(staff_text("urgent_tag"))}</span> '
                f'{esc(staff_text("urgent_event"))}</li>')
    if line.kind == "session":
        return f'<li class="event">{stamp} — nouvelle session</li>'
    return (f'<li class="{esc(line.kind)}"><p class="who">{esc(ROLE_LABELS.get(line.kind, line.kind))} {stamp}</p>'
            f'<p class="said">{esc(line.text)}</p></li>')
