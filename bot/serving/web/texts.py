"""The French texts of the web service, loaded from texts.yml, and the JSON error shape.

Why: every user-facing word lives in YAML (reviewed by French speakers without reading Python);
every error answer has the same shape: {"error": <machine code>, "message": <French text>}.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

TEXTS_FILE = Path(__file__).with_name("texts.yml")


@lru_cache(maxsize=1)
def _texts() -> dict[str, Any]:
    return yaml.safe_load(TEXTS_FILE.read_text(encoding="utf-8"))


def error_text(code: str, **params: Any) -> str:
    """The French message for an error code, placeholders filled."""
    template = _texts()["errors"].get(code) or _texts()["errors"]["internal_error"]
    return str(template).format(**params)


def staff_text(key: str, **params: Any) -> str:
    """A French label of the staff console (section `staff` of texts.yml), placeholders filled."""
    return str(_texts()["staff"][key]).format(**params)


def staff_labels(key: str) -> dict[str, str]:
    """A table of French labels of the staff console (e.g. `reasons`: reason -> label)."""
    return {str(k): str(v) for k, v in _texts()["staff"][key].items()}


def highlight_stopwords() -> frozenset[str]:
    return frozenset(str(w) for w in _texts().get("highlight_stopwords", []))


def error_response(
    status: int, code: str, headers: dict[str, str] | None = None, **params: Any
) -> web.Response:
    """A JSON error answer: machine code + French message (+ extra fields such as retry_after)."""
    body: dict[str, Any] = {"error": code, "message": error_text(code, **params)}
    body.update({k: v for k, v in params.items() if k in {"retry_after", "max", "fields"}})
    return web.json_response(body, status=status, headers=headers)
