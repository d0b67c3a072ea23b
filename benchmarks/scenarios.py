"""The benchmark users' messages, read from scenarios.yml (data stays in YAML)."""

from __future__ import annotations

from pathlib import Path

import yaml

_DATA = yaml.safe_load((Path(__file__).with_name("scenarios.yml")).read_text(encoding="utf-8"))


def _texts(name: str) -> list[str]:
    values = list(_DATA[name])
    bad = [v for v in values if not isinstance(v, str)]
    if bad:  # YAML reads a bare yes/no as a boolean: quote it
        raise ValueError(f"scenarios.yml, {name}: not text: {bad!r}")
    return values


OUR_MESSAGES: list[str] = _texts("ours")
STOCK_MESSAGES: list[str] = _texts("stock")
