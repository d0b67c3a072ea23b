"""A small HTTP load balancer in front of several Rasa replicas: round-robin, health-aware.

Why: one Rasa process uses about one CPU core; several replicas sharing Redis tracker and lock
stores (endpoints.redis.yml) serve more conversations at once, and any replica can take any
message. This proxy spreads requests over the replicas that answer their health check (GET /),
skips a replica that refuses a connection (the request never reached it, so retrying elsewhere is
safe) and answers 503 JSON when none is up. It stays here only as the benchmark's baseline (the
"scaled" topology of `make bench`): in production nginx does this job (deploy/nginx/nginx.conf,
the `nginx` service of docker-compose.yml, tests/test_nginx.py).

    python -m benchmarks.balancer --port 5005 --backend http://127.0.0.1:5006 --backend http://127.0.0.1:5007

GET /balancer/health tells which replicas are up (200 when at least one is, else 503).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web

logger = logging.getLogger(__name__)

HEALTH_PATH = "/balancer/health"
BACKENDS_ENV = "OIM_BALANCER_BACKENDS"  # comma-separated base URLs
# Hop-by-hop headers (RFC 7230 6.1) and those aiohttp recomputes are not forwarded.
SKIPPED_HEADERS = {
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
    "transfer-encoding", "upgrade", "host", "content-length", "content-encoding",
}


@dataclass
class Backend:
    url: str
    up: bool = True  # optimistic until the first check: a fresh replica gets traffic at once
    failures: int = 0

    def as_dict(self) -> dict[str, object]:
        return {"url": self.url, "status": "up" if self.up else "down"}


@dataclass
class Balancer:
    """Round-robin over the backends that are up; a health loop keeps `up` current."""

    backends: list[Backend]
    health_interval_s: float = 1.0
    request_timeout_s: float = 120.0
    _next: int = 0
    _session: aiohttp.ClientSession | None = field(default=None, repr=False)

    @classmethod
    def for_urls(cls, urls: Sequence[str], **options: float) -> Balancer:
        if not urls:
            raise ValueError("the balancer needs at least one backend URL")
        return cls([Backend(url.rstrip("/")) for url in urls], **options)  # type: ignore[arg-type]

    def candidates(self) -> list[Backend]:
        """Backends to try for one request, healthy ones first, in round-robin order."""
        start = self._next
        self._next = (self._next + 1) % len(self.backends)
        ordered = self.backends[start:] + self.backends[:start]
        return [b for b in ordered if b.up] or ordered

    async def check(self, backend: Backend) -> None:
        assert self._session is not None
        try:
            async with self._session.get(backend.url + "/", timeout=aiohttp.ClientTimeout(total=2)) as answer:
                healthy = answer.status == 200
        except (aiohttp.ClientError, asyncio.TimeoutError):
            healthy = False
        if healthy != backend.up:
            logger.warning("backend %s is now %s", backend.url, "up" if healthy else "down")
        backend.up = healthy

    async def health_loop(self) -> None:
        while True:
            await asyncio.gather(*(self.check(b) for b in self.backends))
            await asyncio.sleep(self.health_interval_s)

    async def forward(self, request: web.Request) -> web.StreamResponse:
        """Send the request to a backend; another one if the connection is refused."""
        assert self._session is not None
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in SKIPPED_HEADERS}
        timeout = aiohttp.ClientTimeout(total=self.request_timeout_s)
        for backend in self.candidates():
            try:
                async with self._session.request(
                    request.method, backend.url + request.rel_url.raw_path_qs,
                    data=body, headers=headers, timeout=timeout, allow_redirects=False,
                ) as answer:
                    payload = await answer.read()
                    out_headers = {
                        k: v for k, v in answer.headers.items() if k.lower() not in SKIPPED_HEADERS
                    }
                    return web.Response(status=answer.status, body=payload, headers=out_headers)
            except aiohttp.ClientConnectorError as error:  # never reached the backend: safe to retry
                backend.up = False
                logger.warning("backend %s refused the connection: %s", backend.url, error)
            except asyncio.TimeoutError:
                return web.json_response({"error": "the assistant did not answer in time"}, status=504)
            except aiohttp.ClientError as error:  # reached it, then failed: not retried (not idempotent)
                logger.warning("backend %s failed: %s", backend.url, error)
                return web.json_response({"error": "the assistant is unavailable"}, status=502)
        return web.json_response({"error": "no assistant replica is available"}, status=503)

    async def health(self, request: web.Request) -> web.Response:
        body = {"backends": [b.as_dict() for b in self.backends]}
        return web.json_response(body, status=200 if any(b.up for b in self.backends) else 503)

    async def _lifecycle(self, app: web.Application) -> AsyncIterator[None]:
        self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        checker = asyncio.create_task(self.health_loop())
        yield
        checker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await checker
        await self._session.close()

    def app(self) -> web.Application:
        application = web.Application(client_max_size=4 * 1024 * 1024)
        application.router.add_get(HEALTH_PATH, self.health)
        application.router.add_route("*", "/{tail:.*}", self.forward)
        application.cleanup_ctx.append(self._lifecycle)
        return application


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.balancer", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default=os.environ.get("OIM_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("OIM_RASA_PORT", "5005")))
    parser.add_argument("--backend", action="append", default=[], help="replica base URL (repeat)")
    args = parser.parse_args(argv)
    urls = args.backend or [u for u in os.environ.get(BACKENDS_ENV, "").split(",") if u.strip()]
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    balancer = Balancer.for_urls(urls)
    web.run_app(balancer.app(), host=args.host, port=args.port, access_log=None, print=None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
