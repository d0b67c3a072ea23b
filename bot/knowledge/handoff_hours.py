"""When hotline staff read the handoff queue: the settings behind the reply to "parler à un humain".

Why in the knowledge layer: the action server (actions/) may import only bot.knowledge, and it is
the action that tells the person when staff will read the conversation. These are deployment
settings (bot/knowledge/staff_hours.yml, or the file named by OIM_STAFF_HOURS_FILE; OIM_HANDOFF_QUEUE
and OIM_STAFF_TIMEZONE override it), checked by pydantic so a typo fails loudly instead of promising
wrong hours. Times are computed in the configured IANA zone (zoneinfo), daylight saving included.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Mapping
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, Field, ValidationError, validator

from bot.knowledge.files import load_handoff
from bot.knowledge.paths import knowledge_dir

logger = logging.getLogger(__name__)

HOURS_FILE_ENV = "OIM_STAFF_HOURS_FILE"
QUEUE_ENV = "OIM_HANDOFF_QUEUE"
TIMEZONE_ENV = "OIM_STAFF_TIMEZONE"
DEFAULT_FILE = Path(__file__).with_name("staff_hours.yml")
# The keys of `hours`, Monday first (datetime.weekday() order).
WEEKDAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
_RANGE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
_ON = {"on", "true", "1", "yes", "oui"}
_OFF = {"off", "false", "0", "no", "non", ""}

Slot = tuple[time, time]


class HoursError(ValueError):
    """The staff hours settings are invalid; the message names the setting."""


def _parse_range(text: str) -> Slot:
    match = _RANGE.match(str(text))
    if not match:
        raise ValueError(f"{text!r} is not a range like 09:00-17:00")
    h1, m1, h2, m2 = (int(part) for part in match.groups())
    if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2):
        raise ValueError(f"{text!r} is not a time of day")
    start, end = time(h1, m1), time(23, 59, 59) if h2 == 24 else time(h2, m2)
    if end <= start:
        raise ValueError(f"{text!r} ends before it starts")
    return start, end


class StaffHours(BaseModel):
    """Whether staff read the queue, and when (per weekday, in `timezone`)."""

    queue: bool = False
    timezone: str = "Europe/Paris"
    timezone_label: str = ""
    hours: tuple[tuple[Slot, ...], ...] = Field(default_factory=lambda: ((),) * 7)

    class Config:
        frozen = True
        extra = "forbid"

    @validator("queue", pre=True)
    def _queue(cls, value: Any) -> bool:  # noqa: N805 - pydantic validators are class methods
        if isinstance(value, bool):
            return value
        word = str(value).strip().lower()
        if word in _ON | _OFF:
            return word in _ON
        raise ValueError(f"{value!r} is neither on nor off")

    @validator("timezone")
    def _timezone(cls, value: str) -> str:  # noqa: N805
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone such as Europe/Paris") from None
        return value

    @validator("timezone_label", always=True)
    def _label(cls, value: str, values: dict[str, Any]) -> str:  # noqa: N805
        if value and value.strip():
            return value.strip()
        city = str(values.get("timezone") or "").rsplit("/", 1)[-1].replace("_", " ")
        return f"heure de {city}" if city else ""

    @validator("hours", pre=True)
    def _hours(cls, value: Any) -> tuple[tuple[Slot, ...], ...]:  # noqa: N805
        if value is None:
            return ((),) * 7
        if not isinstance(value, Mapping):
            raise ValueError("must map weekdays (lundi ... dimanche) to ranges like 09:00-17:00")
        unknown = sorted(set(map(str, value)) - set(WEEKDAYS))
        if unknown:
            raise ValueError(f"unknown weekday(s) {', '.join(unknown)} (use {', '.join(WEEKDAYS)})")
        days = []
        for day in WEEKDAYS:
            ranges = value.get(day) or []
            if isinstance(ranges, str):
                ranges = [ranges]
            slots = sorted(_parse_range(text) for text in ranges)
            for (_, end), (start, _) in zip(slots, slots[1:], strict=False):
                if start < end:
                    raise ValueError(f"{day}: overlapping ranges")
            days.append(tuple(slots))
        return tuple(days)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def local(self, now: datetime) -> datetime:
        """`now` (aware; naive means UTC) in the staff's zone."""
        if now.tzinfo is None:
            now = now.replace(tzinfo=ZoneInfo("UTC"))
        return now.astimezone(self.zone)

    def is_open(self, now: datetime) -> bool:
        """Whether staff work at `now`."""
        local = self.local(now)
        return any(start <= local.time() < end for start, end in self.hours[local.weekday()])

    def next_opening(self, now: datetime) -> datetime | None:
        """The next start of a range after `now` (aware, in the staff's zone); None if no hours at all."""
        local = self.local(now)
        for offset in range(8):
            day = local.date() + timedelta(days=offset)
            for start, _ in self.hours[day.weekday()]:
                opening = datetime.combine(day, start, tzinfo=self.zone)
                if opening > local:
                    return opening
        return None

    def week(self) -> list[tuple[list[int], tuple[Slot, ...]]]:
        """Consecutive weekdays with the same ranges, grouped (closed days left out)."""
        groups: list[tuple[list[int], tuple[Slot, ...]]] = []
        for index, slots in enumerate(self.hours):
            if not slots:
                continue
            if groups and groups[-1][1] == slots and groups[-1][0][-1] == index - 1:
                groups[-1][0].append(index)
            else:
                groups.append(([index], slots))
        return groups


def _settings(env: Mapping[str, str]) -> dict[str, Any]:
    path = Path(env.get(HOURS_FILE_ENV) or DEFAULT_FILE).expanduser()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        raise HoursError(f"{path}: cannot read the staff hours ({error})") from None
    if not isinstance(data, dict):
        raise HoursError(f"{path}: expected a mapping (queue, timezone, hours)")
    if env.get(QUEUE_ENV, "").strip():
        data["queue"] = env[QUEUE_ENV]
    if env.get(TIMEZONE_ENV, "").strip():
        data["timezone"] = env[TIMEZONE_ENV].strip()
        data.pop("timezone_label", None)  # the file's label names the file's zone
    data["_path"] = str(path)
    return data


_cache: dict[tuple, StaffHours] = {}
_lock = threading.Lock()


def staff_hours(env: Mapping[str, str] | None = None) -> StaffHours:
    """The current settings (re-read when the file or the variables change), or HoursError.

    Keyed on the file's path and modification time and on the variables, so a handoff reads and
    validates the YAML only after it changed."""
    env = os.environ if env is None else env
    path = Path(env.get(HOURS_FILE_ENV) or DEFAULT_FILE).expanduser()
    try:
        mtime: float | None = path.stat().st_mtime
    except OSError:
        mtime = None  # _settings reports the unreadable file
    key = (str(path), mtime, env.get(QUEUE_ENV, "").strip(), env.get(TIMEZONE_ENV, "").strip())
    with _lock:
        if mtime is None or key not in _cache:
            data = _settings(env)
            data.pop("_path")
            try:
                hours = StaffHours(**data)
            except ValidationError as error:
                problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
                raise HoursError(f"{path}: {problems}") from None
            _cache.clear()
            _cache[key] = hours
        return _cache[key]


def general_contact_id(knowledge_root: Path | None = None) -> str | None:
    """The id of the contact data/knowledge/handoff.yml names for a request without a topic, read
    through its schema (bot.knowledge.files.HandoffRecord); None when the file is missing or invalid
    (logged, naming the file): the caller then falls back on every contact."""
    try:
        record = load_handoff(Path(knowledge_root or knowledge_dir()))
    except ValueError as error:
        logger.warning("general contact ignored: %s", error)
        return None
    return str(record.general_contact) if record is not None else None
