"""The scheduled jobs' drains are bounded: they handle what the stream held when they started, not
what producers add meanwhile, and stop after the run budget. Each read is non-blocking, so a drain that
went on until a read came back empty ran as long as a burst of traffic lasted (a flash sale), while
each later run of the job joined it. What a drain leaves waits in the stream, pending to no one."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit import attempts, dead_letters, streams
from neigou.kit.streams import Entry, StreamWriter
from tests.local_redis import local_redis
from tests.stream_bursts import more_added

BATCH = 10
FINISH_WITHIN_S = 8.0


@pytest.fixture
def client() -> Iterator[redis.Redis]:
    client = local_redis()
    yield client
    client.close()


@pytest.fixture
def key(client: redis.Redis) -> Iterator[str]:
    key = f"neigou-test:{uuid.uuid4().hex[:8]}:backlog"
    yield key
    client.delete(key, dead_letters.dead_key(key))


class Burst:
    """A producer adding entries to the stream on a thread of its own until stopped."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.added: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        client = local_redis()
        try:
            while not self._stop.is_set():
                pipe = client.pipeline(transaction=False)
                for _ in range(10):
                    pipe.xadd(self.key, {"k": "burst"})
                self.added += pipe.execute()
                self._stop.wait(0.001)
        finally:
            client.close()

    def __enter__(self) -> Burst:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(10)


def _writer(
    client: redis.Redis,
    key: str,
    factory: sessionmaker[Session],
    stored: list[bytes],
    first_store: Callable[[], None] = lambda: None,
) -> StreamWriter:
    def store(_session: Session, entries: list[Entry]) -> int:
        if not stored:
            first_store()
        stored.extend(entry_id for entry_id, _ in entries)
        return len(entries)

    return StreamWriter(client, key, "backlog", factory, store, name="scheduled-drain", batch=BATCH)


def _in_time(drain: Any) -> list[int]:
    """Run ``drain`` on a thread; what it returned, empty when it was still running after the wait."""
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(drain()), daemon=True)
    thread.start()
    thread.join(FINISH_WITHIN_S)
    return result


def test_a_scheduled_drain_ends_during_a_burst_and_leaves_the_newer_entries_waiting(
    client: redis.Redis, key: str, factory: sessionmaker[Session]
) -> None:
    present: list[bytes] = [client.xadd(key, {"k": "before"}) for _ in range(5 * BATCH)]  # type: ignore[misc]
    stored: list[bytes] = []
    # The drain's first batch, after it noted where it started, waits for the burst to add two batches.
    writer = _writer(client, key, factory, stored, lambda: more_added(client, key, 2 * BATCH))
    with Burst(key) as burst:
        while len(burst.added) < 2 * BATCH:  # the burst is under way before the job starts
            threading.Event().wait(0.01)
        handled = _in_time(writer.drain_backlog)
    assert handled, "the scheduled drain was still running while the burst went on"
    assert set(present) <= set(stored)  # all that was there at its start is stored ...
    assert handled[0] == len(stored) <= len(present) + len(burst.added)
    left: Any = client.xrange(key)
    assert left  # ... and what the burst added meanwhile waits in the stream,
    assert not set(stored) & {entry_id for entry_id, _ in left}
    pending: Any = client.xpending(key, "backlog")
    assert pending["pending"] == 0  # read by no one: nothing held by the finished drain
    # The next run (or a web consumer) stores it: nothing is lost.
    writer.drain()
    assert sorted(stored) == sorted(present + burst.added)


def test_a_scheduled_drain_stops_when_its_run_budget_is_spent(
    client: redis.Redis, key: str, factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    for _ in range(5 * BATCH):
        client.xadd(key, {"k": "before"})
    ticks = iter([0.0] + [attempts.RUN_BUDGET_SECONDS + 1] * 100)
    monkeypatch.setattr(streams, "monotonic", lambda: next(ticks))
    stored: list[bytes] = []
    assert _writer(client, key, factory, stored).drain_backlog() == BATCH  # one batch, then the budget ends
    assert client.xlen(key) == 4 * BATCH


def test_a_scheduled_drain_of_an_empty_stream_reads_once(
    client: redis.Redis, key: str, factory: sessionmaker[Session]
) -> None:
    stored: list[bytes] = []
    assert _writer(client, key, factory, stored).drain_backlog() == 0
