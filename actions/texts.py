"""Access to the French texts of domain.yml from inside actions.

Why: every word a user reads lives in domain.yml; actions that build a longer message (a contact
card, a list) read their labels from the domain they are given instead of hard-coding French.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

DomainDict = dict[str, Any]


def response_text(domain: DomainDict, name: str, **variables: str) -> str:
    """The first text variant of response `name`, with {variables} filled in."""
    variants = domain.get("responses", {}).get(name) or []
    if not variants or "text" not in variants[0]:
        raise KeyError(f"domain.yml has no text response {name!r}")
    text: str = variants[0]["text"]
    return text.format(**variables) if variables else text


def join_french(items: Iterable[str], domain: DomainDict) -> str:
    """'a, b et c': French enumeration with the domain's word for 'and'."""
    parts: list[str] = [item for item in items if item]
    if len(parts) <= 1:
        return "".join(parts)
    return f"{', '.join(parts[:-1])} {response_text(domain, 'utter_label_and')} {parts[-1]}"
