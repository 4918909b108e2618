"""Admission control: a process serves at most ``max_in_flight`` requests at once; one more waits up to
``queue_wait_ms`` for a slot, first come first served, and is then answered 503 ``overloaded`` at once.

Past capacity a caller gets a quick, honest answer instead of a stall: the pool holds a connection for
every admitted request (``Settings.pool_size``), so an admitted request never waits for one, and a
burst queues here, on the event loop, holding neither a thread nor a connection. A pool timeout that
still happens (a reserve taken by jobs, a very slow query) gets the same 503, never a 500, and so do a
database's transient refusal (a deadlock, a lock or statement timeout: ``transient``) and a request
that finds Redis unreachable, timing out, loading, or refusing for the moment (a read-only replica
after a failover, out of memory, a busy script: ``redis_refusing``). A page's 503 is a page in its reader's language
(``web.error_pages``), the API's problem+json. An event
stream is admitted like any request, then hands its slot back when it starts streaming and is counted
by ``web.streaming.StreamGate`` for the rest of its life.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque

import redis
import structlog
from fastapi import FastAPI, Request
from fastapi.responses import Response
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.types import ASGIApp, Receive, Scope, Send

from neigou.kit.db_errors import database_code
from neigou.kit.i18n import N_, Message
from neigou.kit.logging import error_summary
from neigou.kit.metrics import IN_FLIGHT, POOL_TIMEOUTS, SHED
from neigou.web.error_pages import UNAVAILABLE, error_page, unavailable_message
from neigou.web.paths import is_page
from neigou.web.problems import problem

log = structlog.get_logger(__name__)
OVERLOADED = "overloaded"
# The scope key of an admitted request's ``hand_back``: a long-lived response (an event stream) gives
# its slot back once it starts streaming, and is counted by its own gate (``web.streaming``).
HAND_BACK = "neigou.admission.hand_back"
# PostgreSQL's transient refusals (a retry may well succeed): deadlock detected, serialization failure,
# lock not available (``lock_timeout``, ``NOWAIT``), query canceled (``statement_timeout``).
TRANSIENT_SQLSTATES = frozenset({"40P01", "40001", "55P03", "57014"})
# SQLite's: the database file, or a table, is locked by another connection past the busy timeout.
_SQLITE_BUSY = frozenset({"SQLITE_BUSY", "SQLITE_LOCKED"})
_SQLITE_BUSY_TEXT = ("database is locked", "database table is locked", "database is busy")
_REDIS_REFUSING = (
    redis.exceptions.ReadOnlyError,
    redis.exceptions.OutOfMemoryError,
    redis.exceptions.TryAgainError,
    redis.exceptions.ClusterDownError,
)


def hand_back(scope: Scope) -> None:
    """Give the request's admission slot back before its response ends (at most once; no-op if exempt)."""
    release = scope.pop(HAND_BACK, None)
    if release is not None:
        release()


def overloaded(request: Request, retry_after_ms: int) -> Response:
    """503 ``overloaded`` with ``Retry-After`` (whole seconds) and ``Retry-After-Ms``: on a page's path
    (``web.paths.is_page``) a page in the page's language, anywhere else problem+json in the caller's."""
    response: Response
    if is_page(request.url.path):
        response = error_page(request, 503, OVERLOADED, UNAVAILABLE, unavailable_message(OVERLOADED))
    else:
        response = problem(
            request,
            503,
            OVERLOADED,
            N_("Service overloaded"),
            Message(
                "The server is at capacity; retry in {retry_after_ms} ms.", retry_after_ms=retry_after_ms
            ),
            retry_after_ms=retry_after_ms,
        )
    response.headers["Retry-After"] = str(math.ceil(retry_after_ms / 1000))
    response.headers["Retry-After-Ms"] = str(retry_after_ms)
    response.headers["Cache-Control"] = "no-store"
    return response


class AdmissionControl:
    """ASGI layer bounding the requests in flight; the paths in ``exempt`` (probes, metrics) pass."""

    def __init__(
        self, app: ASGIApp, *, limit: int, queue_wait_ms: int, retry_after_ms: int, exempt: frozenset[str]
    ) -> None:
        self.app = app
        self.limit = limit
        self.queue_wait = queue_wait_ms / 1000
        self.retry_after_ms = retry_after_ms
        self.exempt = exempt
        self.in_flight = 0
        # Touched from the event loop only: no lock. A waiter's future is resolved True when a
        # finishing request hands it its slot, False when its wait runs out.
        self._waiters: deque[asyncio.Future[bool]] = deque()

    @property
    def waiting(self) -> int:
        """Requests waiting for a slot."""
        return len(self._waiters)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.exempt:
            await self.app(scope, receive, send)
            return
        if not await self._admit():
            SHED.inc()
            await overloaded(Request(scope), self.retry_after_ms)(scope, receive, send)
            return
        IN_FLIGHT.inc()
        held = True

        def release() -> None:
            nonlocal held
            if held:
                held = False
                IN_FLIGHT.dec()
                self._release()

        scope[HAND_BACK] = release
        try:
            await self.app(scope, receive, send)
        finally:
            release()

    async def _admit(self) -> bool:
        if self.in_flight < self.limit and not self._waiters:
            self.in_flight += 1
            return True
        if self.queue_wait <= 0:
            return False
        loop = asyncio.get_running_loop()
        ticket: asyncio.Future[bool] = loop.create_future()
        self._waiters.append(ticket)
        timer = loop.call_later(self.queue_wait, self._expire, ticket)
        try:
            return await ticket
        except asyncio.CancelledError:
            # The caller went away; a slot handed over meanwhile passes on.
            if ticket.done() and not ticket.cancelled() and ticket.result():
                self._release()
            raise
        finally:
            timer.cancel()
            if ticket in self._waiters:
                self._waiters.remove(ticket)

    def _expire(self, ticket: asyncio.Future[bool]) -> None:
        if not ticket.done():
            ticket.set_result(False)

    def _release(self) -> None:
        while self._waiters:
            ticket = self._waiters.popleft()
            if not ticket.done():
                ticket.set_result(True)  # the slot goes to the longest waiter
                return
        self.in_flight -= 1


def transient(exc: OperationalError) -> bool:
    """Whether the database refused for the moment only (a lock, a deadlock, a timeout), not for good."""
    code = database_code(exc)
    if code.sqlstate in TRANSIENT_SQLSTATES or code.sqlite_name in _SQLITE_BUSY:
        return True
    orig = exc.orig
    return type(orig).__module__ == "sqlite3" and str(orig).lower().startswith(_SQLITE_BUSY_TEXT)


def install(app: FastAPI, *, retry_after_ms: int) -> None:
    """Answer a pool timeout, a database's transient refusal (a deadlock, a serialization failure, a
    lock or statement timeout, SQLite's busy file: ``transient``), and a Redis that does not answer (the
    reservation and coupon gates, the streams), like a shed request: 503 ``overloaded`` with
    ``Retry-After``, never a 500. Any other operational error is a failure of ours (500)."""

    @app.exception_handler(PoolTimeout)
    async def _pool_timeout(request: Request, exc: PoolTimeout) -> Response:
        POOL_TIMEOUTS.inc()
        log.warning("request.pool_timeout", path=request.url.path, error=error_summary(exc))
        return overloaded(request, retry_after_ms)

    @app.exception_handler(OperationalError)
    async def _database_busy(request: Request, exc: OperationalError) -> Response:
        # The transaction is already rolled back (kit.deps); the error's first line only, redacted.
        if not transient(exc):
            raise exc
        log.warning("request.database_busy", path=request.url.path, error=error_summary(exc))
        return overloaded(request, retry_after_ms)

    @app.exception_handler(redis.ConnectionError)  # BusyLoadingError too: a Redis loading its data
    @app.exception_handler(redis.TimeoutError)
    async def _redis_unavailable(request: Request, exc: redis.RedisError) -> Response:
        log.warning("request.redis_unavailable", path=request.url.path, error=type(exc).__name__)
        return overloaded(request, retry_after_ms)

    @app.exception_handler(redis.ResponseError)
    async def _redis_refusing(request: Request, exc: redis.ResponseError) -> Response:
        # The class only: a refusal's text may quote what was sent.
        if not redis_refusing(exc):
            raise exc
        log.warning("request.redis_unavailable", path=request.url.path, error=type(exc).__name__)
        return overloaded(request, retry_after_ms)


def redis_refusing(exc: redis.ResponseError) -> bool:
    """Whether Redis refused for the moment, not for good: a replica after a failover (``READONLY``),
    past ``maxmemory`` under ``noeviction`` (``OOM``), ``TRYAGAIN`` or ``MASTERDOWN`` in a cluster, or a
    script running past its limit (``BUSY``; never ``BUSYGROUP`` or ``BUSYKEY``, which are for good)."""
    if isinstance(exc, _REDIS_REFUSING):
        return True
    return type(exc) is redis.ResponseError and str(exc).split(" ", 1)[0] == "BUSY"
