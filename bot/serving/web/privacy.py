"""The public privacy page, GET /confidentialite: what happens to what people write to the assistant.

Why here: the messaging connectors' first-contact notice links to it (OIM_PUBLIC_URL +
/confidentialite, bot/serving/messaging/base.py), and the web chat shows it. Its French text is in
`privacy.yml` (data, reviewed without reading Python); the only value computed is how long
conversations are kept, read from the same settings the purge uses (OIM_TRACKER_RETENTION_DAYS for
an SQL store, REDIS_RECORD_EXP for Redis), so the page cannot drift from what the service does.
No user data is ever shown; the page has no script and no form.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import aiohttp_jinja2
import yaml
from aiohttp import web

from bot.serving.purge_trackers import SECONDS_PER_DAY
from bot.serving.tracker_stores import StoreInfo, store_info
from bot.serving.web.config import WebConfig
from bot.serving.web.state import CONFIG

PRIVACY_PATH = "/confidentialite"
TEXTS_FILE = Path(__file__).with_name("privacy.yml")
TEMPLATE = "privacy.html"
CACHE_CONTROL = "public, max-age=3600"  # the text changes only with a new release or a restart


@functools.lru_cache(maxsize=1)
def privacy_texts() -> dict[str, Any]:
    data = yaml.safe_load(TEXTS_FILE.read_text(encoding="utf-8")) or {}
    missing = [key for key in ("title", "heading", "intro", "back", "retention", "day", "days", "sections")
               if not data.get(key)]
    if missing:
        raise ValueError(f"{TEXTS_FILE}: missing {', '.join(missing)}")
    return data


@functools.lru_cache(maxsize=8)
def _store(endpoints: Path) -> StoreInfo | None:
    try:
        return store_info(endpoints)
    except Exception:  # an unreadable endpoints file: the page says so instead of failing
        return None


def format_days(days: float) -> str:
    """30.0 -> "30", 0.5 -> "0,5" (French decimal comma)."""
    return f"{days:g}".replace(".", ",") if days != int(days) else str(int(days))


def retention_sentence(config: WebConfig) -> str:
    """How long conversations are kept, from the store kind and the setting that deletes them."""
    texts = privacy_texts()
    sentences = texts["retention"]
    info = _store(config.endpoints)
    if info is None:
        return str(sentences["unknown"]).strip()
    if info.kind == "sql":
        days = config.retention_days  # what the web service's hourly purge uses (app.py)
    elif info.kind == "redis":
        days = (info.redis_record_exp or 0) / SECONDS_PER_DAY  # Redis expires conversations itself
    elif info.kind == "in_memory":
        return str(sentences["in_memory"]).strip()
    else:
        return str(sentences["unknown"]).strip()
    if days <= 0:
        return str(sentences["unlimited"]).strip()
    unit = texts["day"] if days < 2 else texts["days"]
    return str(sentences["days"]).strip().format(days=format_days(days), unit=unit)


def page_context(config: WebConfig) -> dict[str, Any]:
    texts = privacy_texts()
    values = {"retention": retention_sentence(config)}
    sections = [
        {"heading": str(section["heading"]),
         "paragraphs": [str(paragraph).strip().format(**values) for paragraph in section["paragraphs"]]}
        for section in texts["sections"]
    ]
    return {"title": texts["title"], "heading": texts["heading"], "intro": str(texts["intro"]).strip(),
            "back": texts["back"], "sections": sections}


async def privacy_page(request: web.Request) -> web.Response:
    """The French privacy page (GET and HEAD, no login, cacheable)."""
    html = aiohttp_jinja2.render_string(TEMPLATE, request, page_context(request.app[CONFIG]))
    return web.Response(text=html, content_type="text/html", charset="utf-8",
                        headers={"Cache-Control": CACHE_CONTROL, "Content-Language": "fr"})
