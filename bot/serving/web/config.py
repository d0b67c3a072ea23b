"""Settings of the web service, read once from environment variables and checked at start.

Why: a typo in a port, a URL or a CORS origin must stop the service at start with a message that
names the variable, not surface later as a confusing runtime error. Every problem is reported at
once so an operator fixes them in one go.

`WebConfig` is a pydantic model: each field names its variable (`env=`), its bounds and its
checks; `from_env` feeds it the variables and turns pydantic's errors into one `ConfigError`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, ValidationError, validator

from bot.knowledge.paths import cache_root, repo_root

MIN_STAFF_TOKEN_CHARS = 16
_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.\-]+(:\d{1,5})?$")
_SECRET_FIELDS = {"staff_token", "rasa_token", "model_server_token"}  # never echoed in an error message


class ConfigError(ValueError):
    """One or more environment variables are invalid; the message lists each of them."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid web service configuration:\n" + "\n".join(f"  - {p}" for p in problems))


def _items(value: Any) -> list[str]:
    """A comma-separated string (or a sequence) as stripped items, trailing slashes removed."""
    raw = value.split(",") if isinstance(value, str) else list(value or ())
    return [str(item).strip().rstrip("/") for item in raw]


def _http_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ValueError(f"{url!r} is not an http(s) URL")
    return url


class WebConfig(BaseModel):
    """Everything the web service needs; `env` names the variable of each field."""

    host: str = Field("127.0.0.1", env="OIM_WEB_HOST")
    port: int = Field(8080, ge=1, le=65535, env="OIM_WEB_PORT")
    rasa_urls: tuple[str, ...] = Field(("http://127.0.0.1:5005",), env="OIM_RASA_URL")  # comma-separated replicas
    actions_url: str = Field("http://127.0.0.1:5055", env="OIM_ACTIONS_URL")  # default: from ACTION_ENDPOINT_URL
    store: Literal["sqlite", "redis"] = Field("sqlite", env="OIM_STORE")
    endpoints: Path = Field(None, env="OIM_ENDPOINTS")  # default (None): the file run.sh picks for `store`
    staff_token: str | None = Field(None, env="OIM_STAFF_TOKEN")
    rasa_token: str | None = Field(None, env="OIM_RASA_TOKEN")  # Rasa's HTTP API (chat feedback); unset: feedback off
    cors_origins: tuple[str, ...] = Field((), env="OIM_CORS_ORIGINS")
    rasa_timeout_s: float = Field(10.0, ge=0.5, le=300, env="OIM_RASA_TIMEOUT")
    max_message_chars: int = Field(5000, ge=1, le=20000, env="OIM_MAX_MESSAGE_CHARS")
    sender_per_minute: int = Field(20, ge=1, le=100000, env="OIM_RATE_SENDER_PER_MIN")
    ip_per_minute: int = Field(60, ge=1, le=100000, env="OIM_RATE_IP_PER_MIN")
    trust_forwarded_for: bool = Field(False, env="OIM_TRUST_FORWARDED_FOR")
    cookie_secure: bool = Field(False, env="OIM_COOKIE_SECURE")
    retention_days: float = Field(30.0, ge=0, le=36500, env="OIM_TRACKER_RETENTION_DAYS")
    purge_interval_s: float = Field(3600.0, ge=10, le=604800, env="OIM_PURGE_INTERVAL_S")
    staff_session_hours: float = Field(12.0, ge=0.1, le=720, env="OIM_STAFF_SESSION_HOURS")
    # GET /models/live for the Rasa replicas (model_server.py); unset: the model server is off.
    model_server_token: str | None = Field(None, env="OIM_MODEL_SERVER_TOKEN")
    cache_dir: Path = Field(None, env="OIM_CACHE_DIR")  # default (None): scripts/lib.sh's cache folder
    # The address people reach this service at (https://assistant.example.org): the messaging
    # connectors link their first-contact notice to <public_url>/confidentialite (messaging/base.py).
    public_url: str | None = Field(None, env="OIM_PUBLIC_URL")

    class Config:
        frozen = True
        extra = "forbid"

    @property
    def staff_enabled(self) -> bool:
        return bool(self.staff_token)

    @validator("host", pre=True)
    def _host(cls, value: Any) -> Any:  # noqa: N805 - pydantic validators are class methods
        return str(value).strip() or "127.0.0.1"

    @validator("rasa_urls", pre=True)
    def _rasa_urls(cls, value: Any) -> tuple[str, ...]:  # noqa: N805
        urls = tuple(_http_url(url) for url in _items(value) if url)
        if not urls:
            raise ValueError("is empty")
        return urls

    @validator("actions_url", pre=True)
    def _actions_url(cls, value: Any) -> str:  # noqa: N805
        urls = [_http_url(url) for url in _items(value) if url]
        if not urls:
            raise ValueError("is empty")
        return urls[0]

    @validator("cors_origins", pre=True)
    def _origins(cls, value: Any) -> tuple[str, ...]:  # noqa: N805
        origins = tuple(origin for origin in _items(value) if origin)
        for origin in origins:
            if not _ORIGIN.match(origin):
                raise ValueError(f"{origin!r} is not an origin like https://example.org")
        return origins

    @validator("endpoints", always=True)
    def _endpoints(cls, value: Path | None, values: dict[str, Any]) -> Path:  # noqa: N805
        if value is None:
            store = values.get("store") or "sqlite"
            value = repo_root() / ("endpoints.redis.yml" if store == "redis" else "endpoints.yml")
        else:  # relative to the current directory, like any command-line path
            value = Path(value).expanduser().resolve()
        if not value.is_file():
            raise ValueError(f"{value} does not exist")
        return value

    @validator("staff_token", pre=True)
    def _staff_token(cls, value: Any) -> str | None:  # noqa: N805
        token = str(value or "").strip()
        if not token:
            return None
        if len(token) < MIN_STAFF_TOKEN_CHARS:
            raise ValueError(
                f"is too short ({len(token)} characters, at least {MIN_STAFF_TOKEN_CHARS}); "
                "e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))'"
            )
        return token

    @validator("model_server_token", pre=True)
    def _model_server_token(cls, value: Any) -> str | None:  # noqa: N805
        return cls._staff_token(value)  # same rule: unset, or at least MIN_STAFF_TOKEN_CHARS

    @validator("public_url", pre=True)
    def _public_url(cls, value: Any) -> str | None:  # noqa: N805
        url = str(value or "").strip().rstrip("/")
        return _http_url(url) if url else None

    @validator("cache_dir", pre=True, always=True)
    def _cache_dir(cls, value: Any) -> Path:  # noqa: N805
        return Path(value).expanduser().resolve() if value else cache_root()

    @classmethod
    def variables(cls) -> dict[str, str]:
        """Field name -> environment variable."""
        return {name: field.field_info.extra["env"] for name, field in cls.__fields__.items()}

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> WebConfig:
        """Read and validate the OIM_* variables (raises ConfigError listing every problem)."""
        env = os.environ if env is None else env
        raw: dict[str, Any] = {}
        for name, variable in cls.variables().items():
            value = (env.get(variable) or "").strip()
            if value:
                raw[name] = value
        raw.setdefault("actions_url", _actions_default(env))
        try:
            config = cls(**raw)
        except ValidationError as error:
            raise ConfigError(_problems(error, lambda name: cls.variables().get(name, name), raw)) from None
        return config.with_overrides(**overrides)

    def with_overrides(self, **overrides: object) -> WebConfig:
        """A copy with some fields replaced (CLI --host/--port), re-checked."""
        values = {k: v for k, v in overrides.items() if v is not None}
        if not values:
            return self
        try:
            return type(self)(**{**self.dict(), **values})
        except ValidationError as error:
            raise ConfigError(_problems(error, lambda name: f"--{name}", values)) from None


def _problems(error: ValidationError, label: Any, raw: Mapping[str, Any]) -> list[str]:
    """One line per invalid field, naming its variable (or option) and the value given."""
    problems = []
    for item in error.errors():
        name = str(item["loc"][0])
        if name in _SECRET_FIELDS or name not in raw:
            problems.append(f"{label(name)} {item['msg']}")
        else:
            problems.append(f"{label(name)}={raw[name]!r}: {item['msg']}")
    return problems


def _actions_default(env: Mapping[str, str]) -> str:
    """The action server's base URL: from ACTION_ENDPOINT_URL (…/webhook) when it is set."""
    webhook = env.get("ACTION_ENDPOINT_URL", "").strip()
    if webhook:
        parts = urlsplit(webhook)
        if parts.scheme and parts.netloc:
            return f"{parts.scheme}://{parts.netloc}"
    return "http://127.0.0.1:5055"
