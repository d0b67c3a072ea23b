"""Web service (aiohttp): chat page for migrants, staff console, /health, proxy to Rasa REST,
and the model server the Rasa replicas pull the live model from (`model_server`, /models/live).

`python -m bot web` runs it; tests build it with `create_app(WebConfig.from_env(...))`. Names are
imported lazily so that `python -m bot --help` does not load aiohttp and Rasa.
"""

from __future__ import annotations

from typing import Any

__all__ = ["create_app", "ConfigError", "WebConfig"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from bot.serving.web.app import create_app

        return create_app
    if name in {"ConfigError", "WebConfig"}:
        from bot.serving.web import config

        return getattr(config, name)
    raise AttributeError(name)
