"""Settings of the web service, read once from environment variables and checked at start.

Why: a typo in a port, a URL or a CORS origin must stop the service at start with a message that
names the variable, not surface later as a confusing runtime error. Every problem is reported at
once so an operator fixes them in one go.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

from bot.knowledge.paths import repo_root

T = TypeVar("T")

MIN_STAFF_TOKEN_CHARS = 16
_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.\-]+(:\d{1,5})?$")


class ConfigError(ValueError):
    """One or more environment variables are invalid; the message lists each of them."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid web service configuration:\n" + "\n".join(f"  - {p}" for p in problems))


@dataclass(frozen=True)
class WebConfig:
    """Everything the web service needs; see `from_env` for the variable of each field."""

    host: str = "127.0.0.1"
    port: int = 8080
    rasa_urls: tuple[str, ...] = ("http://127.0.0.1:5005",)
    actions_url: str = "http://127.0.0.1:5055"
    endpoints: Path = field(default_factory=lambda: repo_root() / "endpoints.yml")
    staff_token: str | None = None
    cors_origins: tuple[str, ...] = ()
    rasa_timeout_s: float = 10.0
    max_message_chars: int = 5000
    sender_per_minute: int = 20
    ip_per_minute: int = 60
    trust_forwarded_for: bool = False
    cookie_secure: bool = False
    retention_days: float = 30.0
    purge_interval_s: float = 3600.0
    staff_session_hours: float = 12.0

    @property
    def staff_enabled(self) -> bool:
        return bool(self.staff_token)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> WebConfig:
        """Read and validate the OIM_* variables (raises ConfigError listing every problem)."""
        reader = _EnvReader(os.environ if env is None else env)
        config = cls(
            host=reader.text("OIM_WEB_HOST", "127.0.0.1"),
            port=reader.number("OIM_WEB_PORT", 8080, int, 1, 65535),
            rasa_urls=reader.urls("OIM_RASA_URL", "http://127.0.0.1:5005"),
            actions_url=reader.urls("OIM_ACTIONS_URL", _actions_default(reader.env))[0],
            endpoints=reader.endpoints(),
            staff_token=reader.staff_token(),
            cors_origins=reader.origins("OIM_CORS_ORIGINS"),
            rasa_timeout_s=reader.number("OIM_RASA_TIMEOUT", 10.0, float, 0.5, 300),
            max_message_chars=reader.number("OIM_MAX_MESSAGE_CHARS", 5000, int, 1, 20000),
            sender_per_minute=reader.number("OIM_RATE_SENDER_PER_MIN", 20, int, 1, 100000),
            ip_per_minute=reader.number("OIM_RATE_IP_PER_MIN", 60, int, 1, 100000),
            trust_forwarded_for=reader.flag("OIM_TRUST_FORWARDED_FOR", False),
            cookie_secure=reader.flag("OIM_COOKIE_SECURE", False),
            retention_days=reader.number("OIM_TRACKER_RETENTION_DAYS", 30.0, float, 0, 36500),
            purge_interval_s=reader.number("OIM_PURGE_INTERVAL_S", 3600.0, float, 10, 604800),
            staff_session_hours=reader.number("OIM_STAFF_SESSION_HOURS", 12.0, float, 0.1, 720),
        )
        if reader.problems:
            raise ConfigError(reader.problems)
        return config.with_overrides(**overrides)

    def with_overrides(self, **overrides: object) -> WebConfig:
        """A copy with some fields replaced (CLI --host/--port), re-checked."""
        values = {k: v for k, v in overrides.items() if v is not None}
        if "port" in values and not (1 <= int(values["port"]) <= 65535):  # type: ignore[call-overload]
            raise ConfigError([f"--port must be between 1 and 65535, got {values['port']}"])
        return type(self)(**{**self.__dict__, **values})


def _actions_default(env: Mapping[str, str]) -> str:
    """The action server's base URL: from ACTION_ENDPOINT_URL (…/webhook) when it is set."""
    webhook = env.get("ACTION_ENDPOINT_URL", "").strip()
    if webhook:
        parts = urlsplit(webhook)
        if parts.scheme and parts.netloc:
            return f"{parts.scheme}://{parts.netloc}"
    return "http://127.0.0.1:5055"


class _EnvReader:
    """Typed reads of environment variables that collect problems instead of raising."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.problems: list[str] = []

    def raw(self, name: str) -> str:
        return (self.env.get(name) or "").strip()

    def text(self, name: str, default: str) -> str:
        return self.raw(name) or default

    def number(self, name: str, default: T, kind: Callable[[str], T], low: float, high: float) -> T:
        value = self.raw(name)
        if not value:
            return default
        try:
            parsed = kind(value)
        except ValueError:
            self.problems.append(f"{name}={value!r} is not a {kind.__name__} number")
            return default
        if not (low <= parsed <= high):  # type: ignore[operator]
            self.problems.append(f"{name}={value!r} must be between {low} and {high}")
            return default
        return parsed

    def flag(self, name: str, default: bool) -> bool:
        value = self.raw(name).lower()
        if not value:
            return default
        if value in {"1", "true", "yes", "on"}:
            return True
        if value in {"0", "false", "no", "off"}:
            return False
        self.problems.append(f"{name}={value!r} must be true or false")
        return default

    def urls(self, name: str, default: str) -> tuple[str, ...]:
        """One URL or a comma-separated list (several Rasa replicas), without trailing slash."""
        urls = []
        for item in (self.raw(name) or default).split(","):
            url = item.strip().rstrip("/")
            parts = urlsplit(url)
            if parts.scheme not in {"http", "https"} or not parts.netloc:
                self.problems.append(f"{name}: {url!r} is not an http(s) URL")
                continue
            urls.append(url)
        if not urls and not any(p.startswith(name) for p in self.problems):
            self.problems.append(f"{name} is empty")
        return tuple(urls) or (default,)

    def origins(self, name: str) -> tuple[str, ...]:
        origins = []
        for item in self.raw(name).split(","):
            origin = item.strip().rstrip("/")
            if not origin:
                continue
            if not _ORIGIN.match(origin):
                self.problems.append(f"{name}: {origin!r} is not an origin like https://example.org")
                continue
            origins.append(origin)
        return tuple(origins)

    def endpoints(self) -> Path:
        """OIM_ENDPOINTS, else the file scripts/run.sh picks for OIM_STORE (sqlite or redis)."""
        explicit = self.raw("OIM_ENDPOINTS")
        store = self.raw("OIM_STORE") or "sqlite"
        if store not in {"sqlite", "redis"}:
            self.problems.append(f"OIM_STORE={store!r} must be sqlite or redis")
        if explicit:  # relative to the current directory, like any command-line path
            path = Path(explicit).expanduser().resolve()
        else:
            path = repo_root() / ("endpoints.redis.yml" if store == "redis" else "endpoints.yml")
        if not path.is_file():
            self.problems.append(f"OIM_ENDPOINTS: {path} does not exist")
        return path

    def staff_token(self) -> str | None:
        token = self.raw("OIM_STAFF_TOKEN")
        if not token:
            return None
        if len(token) < MIN_STAFF_TOKEN_CHARS:
            self.problems.append(
                f"OIM_STAFF_TOKEN is too short ({len(token)} characters, at least "
                f"{MIN_STAFF_TOKEN_CHARS}); e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))'"
            )
            return None
        return token
