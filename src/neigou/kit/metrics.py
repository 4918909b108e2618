"""Prometheus metrics of a process (the official ``prometheus_client``), and the request-metrics layer.

Requests are counted and timed by route template (``/api/v1/programs/{program_id}``), never by raw
path, so ids cannot multiply the series. With ``neigou serve --workers N`` set
``PROMETHEUS_MULTIPROC_DIR`` to an empty directory before starting: every worker then writes its
values there and a scrape of any worker sums them (``prometheus_client``'s multiprocess mode, chosen
when the library is imported). Gauges say how they combine across workers (``multiprocess_mode``).

A long-lived response (a Server-Sent-Event stream) is a request only until it starts streaming: it
marks its scope (``mark_streaming``) and is counted and timed as a request when its response starts
(after its first read); how long it then stays open goes to ``neigou_stream_duration_seconds``, so
hours-long streams never reach the request latency histogram.
"""

from __future__ import annotations

import os
import time

from fastapi.routing import iter_route_contexts
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)
from sqlalchemy import Engine
from sqlalchemy.pool import QueuePool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_TYPE = CONTENT_TYPE_LATEST
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"
# The scope key of a request's ``mark_streaming``: a callable given the response's scope (which names
# its route), so that it reaches the layer through the copies of the scope made below it (as
# ``web.admission.HAND_BACK`` does).
STREAMING = "neigou.metrics.streaming"

REQUESTS = Counter(
    "neigou_http_requests",
    "HTTP requests answered, by route template and status",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "neigou_http_request_duration_seconds",
    "Time from admission to the end of the response, by route template and status",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
IN_FLIGHT = Gauge(
    "neigou_http_requests_in_flight", "Requests admitted and not yet answered", multiprocess_mode="livesum"
)
STREAMS_OPEN = Gauge(
    "neigou_streams_open",
    "Server-Sent-Event streams open (apart from requests in flight)",
    multiprocess_mode="livesum",
)
STREAM_DURATION = Histogram(
    "neigou_stream_duration_seconds",
    "Time a Server-Sent-Event stream stayed open, from admission to its end, by route template",
    ["route"],
    buckets=(1.0, 10.0, 60.0, 300.0, 900.0, 1800.0, 3600.0, 7200.0, 14400.0),
)
STREAM_FEEDS = Gauge(
    "neigou_stream_feeds",
    "Keys the open streams watch, each read once per tick for all its streams (the live board: "
    "an event as one organization sees it)",
    multiprocess_mode="livesum",
)
STREAM_READS = Counter("neigou_stream_reads", "Reads made for the open streams (one per feed and tick)")
SHED = Counter("neigou_http_requests_shed", "Requests answered 503 overloaded by admission control")
REDIRECTS = Counter("neigou_share_link_redirects", "Share-link redirects (GET /l/{code}) received")
CLICK_REFS_REFUSED = Counter(
    "neigou_share_link_refs_refused",
    "Share-link clicks whose customer_ref was not taken (unsigned, expired, ahead, bad_signature, no_key, "
    "unchecked): "
    "the redirect answered, the click was kept without a customer",
    ["reason"],
)
POOL_IN_USE = Gauge(
    "neigou_db_pool_connections_in_use", "Database connections checked out", multiprocess_mode="livesum"
)
POOL_OVERFLOW = Gauge(
    "neigou_db_pool_overflow_in_use", "Connections open beyond the pool size", multiprocess_mode="livesum"
)
POOL_SIZE = Gauge("neigou_db_pool_size", "Connections the pool keeps", multiprocess_mode="livesum")
POOL_TIMEOUTS = Counter("neigou_db_pool_timeouts", "Requests that found no free connection in time (503)")
JOBS_QUEUED = Gauge("neigou_jobs_queued", "Jobs waiting in the queue", multiprocess_mode="mostrecent")
JOB_FAILURES = Counter("neigou_job_failures", "Job runs that raised (each retry counts)", ["job"])
STREAM_DEAD_LETTERS = Counter(
    "neigou_stream_dead_letters",
    "Stream entries the database refused at every delivery, moved to their stream's dead letters, "
    "by consumer group",
    ["stream"],
)
STREAM_DEAD_LETTERS_PILING_UP = Counter(
    "neigou_stream_dead_letters_piling_up",
    "Entries moved to dead letters that already held more than kit.dead_letters.DEAD_WARN_LENGTH "
    "(never trimmed: replay or drop them), by consumer group",
    ["stream"],
)
CLICK_BACKLOG = Gauge(
    "neigou_click_backlog",
    "Share-link clicks buffered in memory, not yet handed to the writer",
    multiprocess_mode="livesum",
)


def multiprocess_mode() -> bool:
    """Whether the library chose multiprocess mode (``PROMETHEUS_MULTIPROC_DIR`` set when imported)."""
    return values.ValueClass is not values.MutexValue


def exposition() -> bytes:
    """Every metric in the Prometheus text format (summed over the workers in multiprocess mode)."""
    if not multiprocess_mode():
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return generate_latest(registry)


def process_exited() -> None:
    """Drop this process's live gauges from the shared directory (a worker shutting down)."""
    if multiprocess_mode():
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


def sample_pool(engine: Engine) -> None:
    """Copy the pool's state into its gauges (no I/O)."""
    pool = engine.pool
    if isinstance(pool, QueuePool):
        POOL_IN_USE.set(pool.checkedout())
        POOL_OVERFLOW.set(max(0, pool.overflow()))
        POOL_SIZE.set(pool.size())


def mark_streaming(scope: Scope) -> None:
    """Tell the request-metrics layer that this response streams: it is timed as a request up to its
    start, and its life goes to ``STREAM_DURATION``."""
    mark = scope.pop(STREAMING, None)
    if mark is not None:
        mark(scope)


class RequestMetrics:
    """ASGI layer counting and timing every HTTP request by method, route template and status."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._templates: dict[int, str] | None = None

    def route_of(self, scope: Scope) -> str:
        """The full template of the route that answered, never the raw path.

        The router puts the matched route in the scope; a route of an included router carries its own
        path only, so the full one (prefixes included) is looked up in the app's route contexts.
        """
        route = scope.get("route")
        if route is None:
            return UNMATCHED
        if self._templates is None:  # every route exists once requests arrive
            routes = scope["app"].routes
            self._templates = {id(c.original_route): c.path for c in iter_route_contexts(routes) if c.path}
        template = self._templates.get(id(route), getattr(route, "path", None))
        return template if isinstance(template, str) else UNMATCHED

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # an exception that escapes everything is answered 500 by the server
        streaming = False
        marked: Scope | None = None  # the scope of the streaming response, which names its route

        def mark(inner: Scope) -> None:
            nonlocal marked
            marked = inner

        def record() -> None:
            method = scope["method"] if scope["method"] in _METHODS else "OTHER"
            labels = (method, self.route_of(marked or scope), str(status))
            REQUESTS.labels(*labels).inc()
            LATENCY.labels(*labels).observe(time.perf_counter() - started)

        async def send_status(message: Message) -> None:
            nonlocal status, streaming
            if message["type"] == "http.response.start":
                status = message["status"]
                if marked is not None:  # a stream is a request until it starts
                    streaming = True
                    record()
            await send(message)

        scope[STREAMING] = mark
        try:
            await self.app(scope, receive, send_status)
        finally:
            if streaming:
                STREAM_DURATION.labels(self.route_of(marked or scope)).observe(time.perf_counter() - started)
            else:
                record()
