"""Sending to a platform's HTTP API without blocking Rasa's event loop: aiohttp, retries, redacted logs.

A 429 or 5xx answer (or a network error) is retried with exponential backoff (`Retry-After` is
honoured, up to `max_delay_s`); another 4xx is a permanent failure. Failures are logged with the
conversation id redacted (no phone number at INFO or above) and counted in `DeliveryStats`.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from bot.serving.redact import redact

logger = logging.getLogger(__name__)

RETRYABLE = {408, 429, 500, 502, 503, 504}


@dataclass
class DeliveryStats:
    """Per-platform counters (also what a health page would show)."""

    sent: int = 0
    retried: int = 0
    failed: int = 0
    last_error: str = ""
    failing: bool = False  # the latest send failed for good (cleared by the next delivered one)

    def report(self) -> dict[str, object]:
        """What the connector's health route shows."""
        return {"status": "failing" if self.failing else "ok", "sent": self.sent, "retried": self.retried,
                "failed": self.failed, "last_error": self.last_error}


@dataclass
class HttpSender:
    """One platform's API client: a lazily opened aiohttp session, retries with backoff."""

    platform: str
    attempts: int = 4
    base_delay_s: float = 0.5
    max_delay_s: float = 10.0
    timeout_s: float = 15.0
    stats: DeliveryStats = field(default_factory=DeliveryStats)
    _session: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout_s))
        return self._session

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    def _delay(self, attempt: int, retry_after: str | None) -> float:
        if retry_after:
            try:
                return min(max(float(retry_after), 0.0), self.max_delay_s)
            except ValueError:
                pass
        return min(self.base_delay_s * (2**attempt), self.max_delay_s)

    async def post(self, url: str, conversation: str, **kwargs: Any) -> dict[str, Any] | None:
        """POST until accepted; the decoded JSON answer, or None when the send failed for good.

        `conversation` is only used (redacted) in log lines; `url` is never logged whole (tokens)."""
        who = redact(conversation)
        for attempt in range(self.attempts):
            retry_after = None
            try:
                async with self.session().post(url, **kwargs) as response:
                    if response.status < 300:
                        self.stats.sent += 1
                        self.stats.failing = False
                        try:
                            return dict(await response.json(content_type=None) or {})
                        except (ValueError, TypeError, aiohttp.ContentTypeError):
                            return {}
                    problem = f"HTTP {response.status}"
                    retry_after = response.headers.get("Retry-After")
                    if response.status not in RETRYABLE:
                        detail = redact((await response.text())[:200])
                        self._fail(f"{problem}: {detail}", who)
                        return None
            except (aiohttp.ClientError, asyncio.TimeoutError) as error:
                problem = type(error).__name__
            if attempt + 1 < self.attempts:
                self.stats.retried += 1
                delay = self._delay(attempt, retry_after)
                logger.warning("%s: send to %s refused (%s), retry %d in %.1f s",
                               self.platform, who, problem, attempt + 1, delay)
                await asyncio.sleep(delay)
        self._fail(f"{problem} after {self.attempts} attempts", who)
        return None

    def _fail(self, problem: str, who: str) -> None:
        self.stats.failed += 1
        self.stats.failing = True
        self.stats.last_error = problem
        logger.error("%s: message to %s not delivered: %s", self.platform, who, problem)
