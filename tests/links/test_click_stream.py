"""The Redis stream is the durable hand-off of clicks: a consumer killed (SIGKILL) after reading
entries, before or after storing them but before acknowledging, loses nothing; the consumer that
starts next replays them once the dead one's lease lapses, and each click is stored once."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
import uuid
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.db import make_engine, make_session_factory
from neigou.links import click_stream
from neigou.links.click_stream import GROUP, RedisStreamSink, StreamConsumer
from neigou.links.models import LinkClick
from tests.conftest import TokenMaker
from tests.links.builders import build, click_event, make_link
from tests.local_redis import REDIS_URL

DEAD_LEASE_MS = 1500
CLICKS = 300


def _consume_and_die(database_url: str, redis_url: str, key: str, when: str) -> None:
    """A consumer in a process of its own that reads every entry and is killed before it acknowledges:
    before its database write, or after it."""
    factory = make_session_factory(make_engine(database_url))
    consumer = StreamConsumer(
        redis.Redis.from_url(redis_url), key, factory, name="doomed", batch=100, lease_ms=DEAD_LEASE_MS
    )

    def die(*_args: Any, **_kwargs: Any) -> None:
        os.kill(os.getpid(), signal.SIGKILL)

    if when == "before_write":
        click_stream.store_clicks = die  # type: ignore[attr-defined,assignment]
    else:
        consumer._acknowledge = die  # type: ignore[method-assign]
    consumer.drain_once()


def _stored(factory: sessionmaker[Session]) -> list[str]:
    with factory() as session:
        return list(session.scalars(select(LinkClick.ref).order_by(LinkClick.ref)))


@pytest.mark.parametrize("when", ["before_write", "after_write"])
def test_a_consumer_killed_before_acknowledging_loses_no_click(
    when: str,
    client: TestClient,
    *,
    operator: dict[str, str],
    make_token: TokenMaker,
    factory: sessionmaker[Session],
    database_url: str,
    redis_client: redis.Redis,
) -> None:
    world = build(client, operator, make_token)
    link = make_link(client, operator, member_id=world.member_id)
    key = f"neigou-test:{uuid.uuid4().hex[:8]}:clicks"
    try:
        events = [click_event(link["id"], world.member_id, world.program_id) for _ in range(CLICKS)]
        RedisStreamSink(redis_client, key, per_entry=50).write(events)
        process = multiprocessing.get_context("spawn").Process(
            target=_consume_and_die, args=(database_url, REDIS_URL, key, when)
        )
        process.start()
        process.join(120)
        assert process.exitcode == -signal.SIGKILL
        # Read, not acknowledged: the six entries wait in the stream, pending on the dead consumer.
        summary: Any = redis_client.xpending(key, GROUP)
        assert (summary["pending"], summary["consumers"]) == (6, [{"name": b"doomed", "pending": 6}])
        assert len(_stored(factory)) == (0 if when == "before_write" else CLICKS)

        deadline = time.monotonic() + 10
        while redis_client.exists(f"{key}:lease:doomed"):  # the dead consumer's lease lapses
            assert time.monotonic() < deadline
            time.sleep(0.1)
        restarted = StreamConsumer(redis_client, key, factory, name="restarted")
        restarted.start()
        try:
            deadline = time.monotonic() + 20
            while len(_stored(factory)) < CLICKS and time.monotonic() < deadline:
                time.sleep(0.1)
        finally:
            restarted.stop()
        assert _stored(factory) == sorted(event[0] for event in events)  # each click once
        assert restarted.recovered == CLICKS
        assert redis_client.xlen(key) == 0
        assert redis_client.xpending(key, GROUP)["pending"] == 0
        consumers: Any = redis_client.xinfo_consumers(key, GROUP)
        assert [c["name"] for c in consumers] == [b"restarted"]  # the dead one is forgotten
        with factory() as session:
            assert session.scalar(select(func.count()).select_from(LinkClick)) == CLICKS
    finally:
        redis_client.delete(key, f"{key}:lease:doomed", f"{key}:lease:restarted")
