"""Long-lived responses: Server-Sent-Event streams (the console's live board).

A stream is an ordinary request until its first push: admission control counts it while the caller
is authenticated and the first read is made. Then it gives that slot back (``admission.hand_back``)
and holds one of ``Settings.max_streams`` slots of the process's ``StreamGate`` instead, so open
streams never starve orders, reservations or pages of their slots; one stream past the cap is
answered 503 ``overloaded`` with Retry-After at once. Between pushes a stream holds no thread and no
connection: its reads are shared with every stream watching the same key (``web.feeds``: one read
per key and tick, however many watch it), each a short session on one of STREAM_READERS threads
shared by every stream (so open streams take at most that many connections of the pool, counted in
``Settings.pool_size``), and the wait is a sleep on the event loop. The request metrics time a
stream as a request up to its start only (``kit.metrics.mark_streaming``). A stream ends when its
client goes away (``sse_starlette`` watches for the disconnect and cancels it) and when the process
stops (the server's exit signal, and ``StreamGate.close`` on shutdown). It also ends once its caller
no longer stands (``Standing``: the session revoked at sign-out or when its account is stopped, or
expired), asked again every few ticks and at the session's expiry, off the loop like its reads.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Hashable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

import anyio
import anyio.to_thread
from fastapi import Request
from fastapi.responses import Response
from sse_starlette import EventSourceResponse
from starlette.types import Receive, Scope, Send

from neigou.kit.clock import utcnow
from neigou.kit.metrics import SHED, STREAMS_OPEN, mark_streaming
from neigou.kit.settings import STREAM_READERS
from neigou.web.admission import hand_back, overloaded
from neigou.web.feeds import Feeds, Read, Watch

T = TypeVar("T")
PING_SECONDS = 15
# A stream's caller, asked again while it runs (a short read off the loop): until when it may still
# watch, or None once it may not (signed out, its account stopped, its session expired).
Standing = Callable[[], datetime | None]


@dataclass
class StreamGate:
    """The open streams of one process: at most ``limit``, reading through STREAM_READERS threads."""

    limit: int
    retry_after_ms: int
    open: int = field(init=False, default=0)
    _readers: anyio.CapacityLimiter = field(
        init=False, default_factory=lambda: anyio.CapacityLimiter(STREAM_READERS)
    )
    _closing: asyncio.Event = field(init=False, default_factory=asyncio.Event)
    feeds: Feeds = field(init=False)

    def __post_init__(self) -> None:
        self.feeds = Feeds(self.read, self.pause)

    def admit(self) -> bool:
        """Take a slot if one is free (never waits: a refused stream is told to retry)."""
        if self.open >= self.limit or self._closing.is_set():
            return False
        self.open += 1
        STREAMS_OPEN.inc()
        return True

    def release(self) -> None:
        self.open -= 1
        STREAMS_OPEN.dec()

    def refused(self, request: Request) -> Response:
        SHED.inc()
        return overloaded(request, self.retry_after_ms)

    async def read(self, work: Callable[[], T]) -> T:
        """Run a short read (its own session, closed before it returns) on a streams' reader thread."""
        return await anyio.to_thread.run_sync(work, limiter=self._readers)

    async def watch(self, key: Hashable, read: Read, *, every: float) -> Watch:
        """Join the shared reads of ``key`` (``web.feeds``): ``read`` every ``every`` seconds while
        any stream watches it; raises what its first read raised."""
        return await self.feeds.watch(key, read, every=every)

    async def pause(self, seconds: float) -> bool:
        """Wait between pushes, holding nothing; False once the process is stopping."""
        with anyio.move_on_after(seconds):
            await self._closing.wait()
        return not self._closing.is_set()

    def reopen(self) -> None:
        """Take streams again (the process starts; an app may be started more than once in tests)."""
        self._closing = asyncio.Event()

    def close(self) -> None:
        """End every open stream at its next pause and refuse new ones (the process is stopping)."""
        self._closing.set()

    def respond(self, watch: Watch, event: str, *, standing: Standing, every: float) -> Response:
        """The stream's response: each value of ``watch`` as an ``event`` while its caller stands
        (``standing``, asked every ``every`` seconds and at the expiry it last gave); its slot is
        given back and its feed left however the response ends."""
        return _GatedEvents(self, _events(self, watch, event, standing, every), watch, ping=PING_SECONDS)


async def _events(
    gate: StreamGate, watch: Watch, event: str, standing: Standing, every: float
) -> AsyncIterator[dict[str, str]]:
    """The values of ``watch`` until it ends or the caller no longer stands."""
    values = aiter(watch)
    pending: asyncio.Future[str] | None = None
    try:
        until = await gate.read(standing)
        while until is not None:
            check_at = time.monotonic() + min(every, (until - utcnow()).total_seconds())
            while (wait := check_at - time.monotonic()) > 0:
                pending = pending or asyncio.ensure_future(anext(values))
                done, _ = await asyncio.wait({pending}, timeout=wait)
                if not done:
                    break
                try:
                    data = pending.result()
                except StopAsyncIteration:
                    return
                pending = None
                yield {"event": event, "data": data}
            until = await gate.read(standing)
    finally:
        if pending is not None:
            pending.cancel()


class _GatedEvents(EventSourceResponse):
    def __init__(self, gate: StreamGate, content: AsyncIterator[Any], watch: Watch, *, ping: int) -> None:
        super().__init__(content, ping=ping)
        self.gate = gate
        self.watch = watch

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        hand_back(scope)  # from here on the stream counts against its gate, not admission control
        mark_streaming(scope)  # and its life is not a request's latency
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.watch.close()
            self.gate.release()


def stream_gate(request: Request) -> StreamGate:
    gate: StreamGate = request.app.state.streams
    return gate
