"""Shared reads of the open streams: one read per key and tick, however many streams watch it.

A stream names what it shows by a key (the live board: the event and the caller's tenant scope,
what decides whether the caller may see it and what its statements count) and a read that returns
it as text. The first stream of a key starts its feed: a task on the event loop that reads, keeps
the latest value, tells its watchers when it changed, pauses and reads again. A stream that joins a
running feed gets its latest value at once; the last one to leave stops it, so a key nobody watches
is not read. A read is made through the gate's reader threads (``StreamGate.read``), the pause is
the gate's (it ends when the process stops, and the feed with it).

A failed read touches its own feed only: an expected failure (a ``kit.errors`` problem, e.g. the
event is gone) ends its streams; any other is logged and the feed tries again at its next tick,
its streams keeping what they last pushed. A first read that fails is raised to every stream
waiting for it (answered like the request it still is: a 404, a 503).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from dataclasses import dataclass, field

import structlog

from neigou.kit.errors import ProblemError
from neigou.kit.logging import error_summary
from neigou.kit.metrics import STREAM_FEEDS, STREAM_READS

log = structlog.get_logger(__name__)

Read = Callable[[], str]


@dataclass(eq=False)
class _Feed:
    key: Hashable
    value: str | None = None
    error: BaseException | None = None
    ended: bool = False
    watchers: int = 0
    task: asyncio.Task[None] | None = None
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def publish(self) -> None:
        """Wake every watcher waiting for the next value."""
        changed, self.changed = self.changed, asyncio.Event()
        changed.set()


class Watch:
    """One stream's view of its feed: the latest value at once, then each change, until the feed
    ends; ``close`` (idempotent) leaves the feed."""

    def __init__(self, feeds: Feeds, feed: _Feed) -> None:
        self._feeds = feeds
        self._feed = feed
        self._closed = False

    def __aiter__(self) -> AsyncIterator[str]:
        return self._values()

    async def _values(self) -> AsyncIterator[str]:
        feed, last = self._feed, None
        while not self._closed:
            if feed.value is not None and feed.value != last:
                last = feed.value
                yield last
                continue
            if feed.ended:
                return
            await feed.changed.wait()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._feeds.leave(self._feed)


class Feeds:
    """The feeds of one process's streams, by key."""

    def __init__(
        self, read: Callable[[Read], Awaitable[str]], pause: Callable[[float], Awaitable[bool]]
    ) -> None:
        self._read = read
        self._pause = pause
        self._feeds: dict[Hashable, _Feed] = {}

    def __len__(self) -> int:
        return len(self._feeds)

    async def watch(self, key: Hashable, read: Read, *, every: float) -> Watch:
        """Join the feed of ``key`` (started with ``read`` every ``every`` seconds if nobody watches
        it yet) once it has a value; raises what its first read raised."""
        feed = self._feeds.get(key)
        if feed is None:
            feed = self._feeds[key] = _Feed(key)
            STREAM_FEEDS.inc()
            feed.task = asyncio.create_task(self._run(feed, read, every), name=f"feed {key!r}")
        feed.watchers += 1
        watch = Watch(self, feed)
        try:
            while feed.value is None and not feed.ended:
                await feed.changed.wait()
        except BaseException:
            watch.close()
            raise
        if feed.value is None and feed.error is not None:
            watch.close()
            raise feed.error
        return watch

    def leave(self, feed: _Feed) -> None:
        """A watcher goes away; the last one stops its feed."""
        feed.watchers -= 1
        if feed.watchers == 0:
            self._drop(feed)
            if feed.task is not None:
                feed.task.cancel()

    def _drop(self, feed: _Feed) -> None:
        if self._feeds.get(feed.key) is feed:
            del self._feeds[feed.key]
            STREAM_FEEDS.dec()

    async def _run(self, feed: _Feed, read: Read, every: float) -> None:
        try:
            while True:
                STREAM_READS.inc()
                try:
                    value = await self._read(read)
                except ProblemError as error:  # an answer (the event is gone): its streams end
                    feed.error = error
                    if feed.value is not None:
                        log.info("stream.feed_ended", feed=repr(feed.key), problem=error.code)
                    return
                except Exception as error:
                    if feed.value is None:  # the first read: the streams waiting for it are told
                        feed.error = error
                        return
                    log.warning("stream.read_failed", feed=repr(feed.key), error=error_summary(error))
                else:
                    if value != feed.value:
                        feed.value = value
                        feed.publish()
                if not await self._pause(every):
                    return
        finally:
            feed.ended = True
            self._drop(feed)
            feed.publish()
