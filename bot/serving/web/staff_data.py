"""Plain dicts of the knowledge base objects (search hits, entries, contacts) for the staff console.

Why: the JSON API and the HTML pages show the same data; building it once, as plain values, keeps
both consistent and keeps templates free of attribute juggling. Field names follow
docs/architecture.md (`bot.knowledge.knowledge_base` interface).
"""

from __future__ import annotations

from typing import Any

from bot.serving.web.highlight import highlight_html


def _list(value: Any) -> list[Any]:
    return list(value) if value else []


def hit_dict(hit: Any, query: str) -> dict[str, Any]:
    """One ranked passage: ids, source title, score, text and its highlighted HTML."""
    return {
        "passage_id": hit.passage_id,
        "source_file": hit.source_file,
        "title": hit.title,
        "section": hit.section or "",
        "score": round(float(hit.score), 4),
        "text": hit.text,
        "highlighted_html": highlight_html(hit.text, query),
    }


def fact_dict(fact: Any, kb: Any) -> dict[str, Any]:
    source = str(getattr(fact, "source", "") or "")
    return {
        "label": str(getattr(fact, "label", "") or ""),
        "value": str(getattr(fact, "value", "") or ""),
        "quote": str(getattr(fact, "quote", "") or ""),
        "source": source,
        "source_title": _source_title(kb, source),
        "current": getattr(fact, "current", None),
    }


def _source_title(kb: Any, source: str) -> str:
    if not source:
        return ""
    try:
        return str(kb.source_title(source))
    except Exception:  # an unknown id must not break the page: show the id alone
        return ""


def entry_dict(entry: Any, kb: Any) -> dict[str, Any]:
    """An entry with its answer, facts (quote + source) and the ids of its contacts."""
    return {
        "id": entry.id,
        "kind": str(getattr(entry, "kind", "") or ""),
        "title": str(getattr(entry, "title", "") or entry.id),
        "answer": str(getattr(entry, "answer", "") or ""),
        "facts": [fact_dict(f, kb) for f in _list(getattr(entry, "facts", None))],
        "contacts": [str(c if isinstance(c, str) else getattr(c, "id", c)) for c in _list(getattr(entry, "contacts", None))],
    }


def contact_dict(contact: Any, kb: Any) -> dict[str, Any]:
    """A contact as the documents give it, with its quote and source."""
    source = str(getattr(contact, "source", "") or "")
    return {
        "id": contact.id,
        "target": str(getattr(contact, "target", "") or ""),
        "name": str(getattr(contact, "name", "") or ""),
        "organisation": str(getattr(contact, "organisation", "") or ""),
        "purpose": str(getattr(contact, "purpose", "") or ""),
        "emails": [str(e) for e in _list(getattr(contact, "emails", None))],
        "phones": [str(p) for p in _list(getattr(contact, "phones", None))],
        "faxes": [str(f) for f in _list(getattr(contact, "faxes", None))],
        "address": str(getattr(contact, "address", "") or ""),
        "quote": str(getattr(contact, "quote", "") or ""),
        "source": source,
        "source_title": _source_title(kb, source),
    }
