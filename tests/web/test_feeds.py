"""The streams' shared reads (``web.feeds``) on an event loop, their ticks driven by the test: one
read per key and tick whoever watches it, keys read apart, a failed read confined to its own key,
and a key nobody watches any more not read."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable

import pytest

from neigou.kit.errors import NotFound
from neigou.kit.i18n import Message
from neigou.web.feeds import Feeds, Read, Watch
from tests import aio


class Ticks:
    """The feeds' pause, released one tick at a time by the test; and their reads, counted."""

    def __init__(self) -> None:
        self.reads: Counter[str] = Counter()
        self.paused = 0
        self._tick = asyncio.Condition()
        self._released = 0
        self.stopping = False

    async def read(self, read: Read) -> str:
        return read()

    async def pause(self, _seconds: float) -> bool:
        async with self._tick:
            self.paused += 1
            wanted = self._released + 1
            await self._tick.wait_for(lambda: self._released >= wanted or self.stopping)
        return not self.stopping

    async def tick(self) -> None:
        """Let every paused feed read again, and wait until each has paused again or ended."""
        async with self._tick:
            self._released += 1
            self._tick.notify_all()
        for _ in range(20):  # the feeds run on this loop: a few turns let each one read
            await asyncio.sleep(0)

    def board(self, key: str, values: dict[str, str]) -> Callable[[], str]:
        def read() -> str:
            self.reads[key] += 1
            value = values[key]
            if value == "boom":
                raise RuntimeError("the database went away")
            if value == "gone":
                raise NotFound(
                    Message("Event {event_id} does not exist.", event_id=1), code="event_not_found"
                )
            return value

        return read


async def _next(watch: Watch) -> str:
    return await asyncio.wait_for(anext(aiter(watch)), timeout=5)


def test_watchers_of_one_key_share_one_read_per_tick_and_keys_are_read_apart() -> None:
    async def scenario() -> None:
        ticks = Ticks()
        feeds = Feeds(ticks.read, ticks.pause)
        values = {"a": "a0", "b": "b0"}
        a = [await feeds.watch("a", ticks.board("a", values), every=2) for _ in range(50)]
        b = [await feeds.watch("b", ticks.board("b", values), every=2) for _ in range(3)]
        streams_a = [aiter(w) for w in a]
        streams_b = [aiter(w) for w in b]
        assert {await anext(s) for s in streams_a} == {"a0"}
        assert {await anext(s) for s in streams_b} == {"b0"}
        assert ticks.reads == {"a": 1, "b": 1}  # the first read of each key, shared by its watchers
        assert len(feeds) == 2

        values["a"] = "a1"
        for _ in range(3):
            await ticks.tick()
        assert ticks.reads == {"a": 4, "b": 4}  # one read per key and tick, not one per watcher
        assert {await asyncio.wait_for(anext(s), 5) for s in streams_a} == {"a1"}
        values["b"] = "b1"
        await ticks.tick()
        assert {await asyncio.wait_for(anext(s), 5) for s in streams_b} == {"b1"}

        late = await feeds.watch("a", ticks.board("a", values), every=2)
        assert await _next(late) == "a1"  # the latest value at once, no read of its own
        assert ticks.reads["a"] == 5

        for watch in [*a, late]:
            watch.close()
        await ticks.tick()
        await ticks.tick()
        assert len(feeds) == 1
        assert ticks.reads == {"a": 5, "b": 7}  # nobody watches "a": it is not read any more
        for watch in b:
            watch.close()
        await ticks.tick()
        assert len(feeds) == 0

    aio.run(scenario())


def test_a_failed_read_touches_its_own_key_only() -> None:
    async def scenario() -> None:
        ticks = Ticks()
        feeds = Feeds(ticks.read, ticks.pause)
        values = {"a": "a0", "b": "b0", "c": "c0"}
        a = aiter(await feeds.watch("a", ticks.board("a", values), every=2))
        b_watch = await feeds.watch("b", ticks.board("b", values), every=2)
        b = aiter(b_watch)
        c = aiter(await feeds.watch("c", ticks.board("c", values), every=2))
        assert (await anext(a), await anext(b), await anext(c)) == ("a0", "b0", "c0")

        values.update(b="boom", c="gone", a="a1")
        await ticks.tick()
        assert await asyncio.wait_for(anext(a), 5) == "a1"
        with pytest.raises(StopAsyncIteration):  # its event is gone: its streams end
            await asyncio.wait_for(anext(c), 5)
        pending = asyncio.ensure_future(anext(b))
        await ticks.tick()
        assert not pending.done()  # a passing failure: the stream stays open and keeps its board
        values["b"] = "b1"
        await ticks.tick()
        assert await asyncio.wait_for(pending, 5) == "b1"  # read again at the next tick
        values["a"] = "a2"
        await ticks.tick()
        assert await asyncio.wait_for(anext(a), 5) == "a2"
        assert ticks.reads == {"a": 5, "b": 5, "c": 2}
        ticks.stopping = True
        await ticks.tick()
        for stream in (a, b):
            with pytest.raises(StopAsyncIteration):  # the process stops: every stream ends
                await asyncio.wait_for(anext(stream), 5)
        assert len(feeds) == 0

    aio.run(scenario())


def test_a_first_read_that_fails_is_raised_to_every_stream_waiting_for_it() -> None:
    async def scenario() -> None:
        ticks = Ticks()
        feeds = Feeds(ticks.read, ticks.pause)
        values = {"a": "gone", "b": "boom"}
        for key, error in (("a", NotFound), ("b", RuntimeError)):
            joins = [feeds.watch(key, ticks.board(key, values), every=2) for _ in range(3)]
            results = await asyncio.gather(*joins, return_exceptions=True)
            assert [type(r) for r in results] == [error] * 3
        assert ticks.reads == {"a": 1, "b": 1}
        assert len(feeds) == 0
        values["a"] = "a0"  # a later stream starts afresh
        watch = await feeds.watch("a", ticks.board("a", values), every=2)
        assert await _next(watch) == "a0"
        watch.close()

    aio.run(scenario())
