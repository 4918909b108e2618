"""What operators and orchestrators ask of a running process: liveness (``/healthz``), readiness
(``/readyz``), Prometheus metrics (``/metrics``), and the layers that keep it answering under a
burst (admission control, request metrics).

Liveness touches nothing but the event loop, so it answers while every thread and connection is busy;
readiness checks the database, the click writer, the jobs backend and, when one is configured, Redis
(which also backs the claims, the stock gate and the rate limits, whatever the jobs backend), each
within a deadline, on threads of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
import anyio.to_thread
import redis
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth.dependencies import MetricsReader
from neigou.kit import metrics
from neigou.kit.i18n import N_, Message
from neigou.kit.jobs import JobRunner
from neigou.kit.settings import POOL_RESERVE, Settings
from neigou.links.runtime import LinksRuntime
from neigou.web import admission, body_deadline, body_limit
from neigou.web.paths import PROBES
from neigou.web.problems import problem
from neigou.web.streaming import StreamGate

router = APIRouter(tags=["health"])
READINESS_TIMEOUT = 2.0  # seconds for each readiness check


def probe_client(settings: Settings) -> redis.Redis:
    """The readiness probe's Redis client: built from ``Settings.redis_client_url`` as every client is
    (CONVENTIONS), its command and connect timeouts capped at :data:`READINESS_TIMEOUT` once the URL is
    parsed (a timeout the URL names itself wins over the arguments of ``from_url``, so a URL asking for
    30 s would outlast the probe's deadline; a shorter one is kept)."""
    client = redis.Redis.from_url(settings.redis_client_url or "")
    options = client.connection_pool.connection_kwargs  # read when a connection is made: none is yet
    for name in ("socket_timeout", "socket_connect_timeout"):
        given = options.get(name)
        options[name] = READINESS_TIMEOUT if given is None else min(float(given), READINESS_TIMEOUT)
    return client


SAMPLE_INTERVAL = 5.0  # seconds between samples of the per-process gauges in multiprocess mode
ANYIO_DEFAULT_THREADS = 40


@dataclass
class Operations:
    """The process's probes and metrics, bound to its engine, job runner and links runtime."""

    settings: Settings
    factory: sessionmaker[Session]
    jobs: JobRunner
    links: LinksRuntime
    # Probes run on threads of their own: a burst that takes every default thread cannot starve them.
    _probe_threads: anyio.CapacityLimiter = field(
        init=False, default_factory=lambda: anyio.CapacityLimiter(4)
    )
    _sampler: asyncio.Task[None] | None = field(init=False, default=None)
    streams: StreamGate = field(init=False)

    def __post_init__(self) -> None:
        self.streams = StreamGate(self.settings.max_streams, self.settings.retry_after_ms)

    @property
    def engine(self) -> Engine:
        bind: Engine = self.factory.kw["bind"]
        return bind

    def install(self, app: FastAPI) -> None:
        """Routes, the exception handler of pool timeouts, and the ASGI layers: the body-size limit
        outermost, then the body deadline (a small body is read before admission), then admission (a
        shed request costs no more than its 503), then the request metrics."""
        app.state.operations = self
        app.state.streams = self.streams
        app.include_router(router)
        admission.install(app, retry_after_ms=self.settings.retry_after_ms)
        app.add_middleware(metrics.RequestMetrics)
        app.add_middleware(
            admission.AdmissionControl,
            limit=self.settings.max_in_flight,
            queue_wait_ms=self.settings.queue_wait_ms,
            retry_after_ms=self.settings.retry_after_ms,
            exempt=PROBES,
        )
        # Outside admission: a small body is read before the request takes a slot and must arrive
        # within NEIGOU_BODY_TIMEOUT_S; a larger one may not stall that long nor fall behind
        # NEIGOU_BODY_MIN_RATE_BYTES_S (web.body_deadline).
        app.add_middleware(
            body_deadline.BodyDeadline,
            timeout=self.settings.body_timeout_s,
            preread=min(self.settings.max_json_body_bytes, self.settings.max_body_bytes),
            min_rate=self.settings.body_min_rate_bytes_s,
        )
        app.add_middleware(body_limit.BodyLimit, max_bytes=self.settings.max_body_bytes)

    async def start(self) -> None:
        """Enough threads for every admitted request plus the reserve; streams taken; a sampler in
        multiprocess mode."""
        limiter = anyio.to_thread.current_default_thread_limiter()
        limiter.total_tokens = max(ANYIO_DEFAULT_THREADS, self.settings.max_in_flight + POOL_RESERVE)
        self.streams.reopen()
        if metrics.multiprocess_mode():
            self._sampler = asyncio.create_task(self._sample_forever())

    async def stop(self) -> None:
        """End the open streams; stop the sampler; take this process's live gauges out of the shared
        directory."""
        self.streams.close()
        if self._sampler is not None:
            self._sampler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sampler
            self._sampler = None
        metrics.process_exited()

    def sample(self) -> None:
        """Copy this process's pool and click buffer into their gauges (no I/O)."""
        metrics.sample_pool(self.engine)
        metrics.CLICK_BACKLOG.set(self.links.clicks.pending)

    async def _sample_forever(self) -> None:
        # In multiprocess mode a scrape reaches one worker; the others keep their gauges fresh here.
        while True:
            self.sample()
            await asyncio.sleep(SAMPLE_INTERVAL)

    def scrape(self) -> bytes:
        """Every metric, after sampling the gauges (the queue depth is a query: call off the loop)."""
        self.sample()
        metrics.JOBS_QUEUED.set(self.jobs.queued())
        return metrics.exposition()

    async def readiness(self) -> dict[str, str]:
        """Each dependency's state: ``ok`` or what went wrong."""
        writer = self.links.writer
        clicks_ok = self.links.clicks.running and (writer is None or writer.pid is not None)
        checks = {
            "database": await self._check(self._database),
            "click_writer": "ok" if clicks_ok else "not running",
            "jobs": await self._check(self.jobs.queued),
        }
        if self.settings.redis_url:
            checks["redis"] = await self._check(self._redis)
        return checks

    def _redis(self) -> None:
        # A client of its own for each probe (a PING, its connection closed after): the probe's thread
        # may be abandoned at the deadline, and a shared pool would keep its half-open connection.
        client = probe_client(self.settings)
        try:
            client.ping()
        finally:
            client.close()

    def _database(self) -> None:
        with self.factory() as session:
            session.execute(text("SELECT 1"))

    async def _check(self, probe: Callable[[], Any]) -> str:
        try:
            with anyio.fail_after(READINESS_TIMEOUT):
                await anyio.to_thread.run_sync(probe, limiter=self._probe_threads, abandon_on_cancel=True)
        except TimeoutError:
            return f"no answer within {READINESS_TIMEOUT:g} s"
        except Exception as exc:
            return type(exc).__name__
        return "ok"


def _operations(request: Request) -> Operations:
    ops: Operations = request.app.state.operations
    return ops


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """Liveness: the process answers (no database, no thread; see ``/readyz``)."""
    return {"status": "ok"}


@router.get(
    "/readyz", responses={503: {"description": "a dependency is down (problem+json, code not_ready)"}}
)
async def readyz(request: Request) -> Response:
    """Readiness: the database answers, the click writer runs, the jobs backend and Redis (when
    configured) are reachable."""
    checks = await _operations(request).readiness()
    if all(state == "ok" for state in checks.values()):
        return JSONResponse({"status": "ready", "checks": checks})
    return problem(
        request,
        503,
        "not_ready",
        N_("Not ready"),
        Message("A dependency of this process is down; see checks."),
        checks=checks,
    )


@router.get("/metrics", include_in_schema=False, dependencies=[MetricsReader])
def prometheus_metrics(request: Request) -> Response:
    """Prometheus text format: for an operator, or a scraper presenting ``NEIGOU_METRICS_TOKEN``."""
    return Response(_operations(request).scrape(), media_type=metrics.CONTENT_TYPE)
