"""The click stream's scheduled drain is bounded as the other streams' are (``kit.streams.Backlog``):
during a burst of clicks it stores what dead consumers left and what the stream held when it started,
then returns; the clicks recorded meanwhile wait in the stream for the web consumers and the next run."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from neigou.links import click_stream
from neigou.links.click_stream import GROUP, StreamConsumer, pack
from tests.local_redis import local_redis
from tests.stream_bursts import overtaken

FINISH_WITHIN_S = 8.0
BATCH = 10


@pytest.fixture
def key() -> Iterator[str]:
    key = f"neigou-test:{uuid.uuid4().hex[:8]}:clicks"
    yield key
    client = local_redis()
    client.delete(key, *client.keys(f"{key}:lease:*"))
    client.close()


def _entry(n: int) -> dict[Any, Any]:
    return {"clicks": pack([(f"ref-{n}", 1, 1, 1, datetime.now(UTC), None, "browser", None)])}


def test_the_scheduled_click_drain_ends_during_a_burst(
    key: str, factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    stored: list[str] = []
    monkeypatch.setattr(click_stream, "RECOVER_MIN_IDLE_MS", 0)
    # Once it noted where it starts, the drain waits for the burst to add more than a batch: a loaded
    # machine may not run the burst's thread at all while the drain runs.
    monkeypatch.setattr(click_stream, "Backlog", overtaken(BATCH + 1))
    monkeypatch.setattr(click_stream, "store_clicks", lambda _s, clicks: stored.extend(c[0] for c in clicks))
    client = local_redis()
    try:
        for n in range(30):
            client.xadd(key, _entry(n))
        # A consumer that died holding entries (its lease lapsed): the drain takes them over first.
        StreamConsumer(client, key, factory, name="dead")._ensure_group()
        client.xreadgroup(GROUP, "dead", {key: ">"}, count=5)
        stop = threading.Event()

        def produce() -> None:
            producer = local_redis()
            n = 1000
            while not stop.is_set():
                pipe = producer.pipeline(transaction=False)
                for _ in range(10):
                    pipe.xadd(key, _entry(n))
                    n += 1
                pipe.execute()
                stop.wait(0.001)
            producer.close()

        burst = threading.Thread(target=produce, daemon=True)
        burst.start()
        result: list[int] = []
        drain = StreamConsumer(client, key, factory, name="scheduled-drain", batch=BATCH)
        job = threading.Thread(target=lambda: result.append(drain.drain_backlog()), daemon=True)
        try:
            job.start()
            job.join(FINISH_WITHIN_S)
            finished = not job.is_alive()
        finally:
            stop.set()
            burst.join(10)
            job.join(60)
        assert finished, "the scheduled drain was still running while the burst went on"
        assert {f"ref-{n}" for n in range(30)} <= set(stored)
        assert drain.recovered == 5
        assert client.xlen(key) > 0  # the burst's later clicks wait in the stream
        pending: Any = client.xpending(key, GROUP)
        assert pending["pending"] == 0
    finally:
        client.close()
