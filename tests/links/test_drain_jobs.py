"""The scheduled drains of the Redis streams store what the web processes left there, also on SQLite:
each batch is written on a connection of its own, which must not wait for the job's own claim of its
key (on SQLite the claim held the database's write lock until the job's end, and the batch gave up
after the lock's wait)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient
from huey import MemoryHuey
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.clock import utcnow
from neigou.kit.db import transaction
from neigou.kit.jobs import JobRun, JobRunner
from neigou.kit.settings import Settings
from neigou.kit.streams import namespace
from neigou.links import claims, stock_gate
from neigou.links.click_stream import RedisStreamSink, stream_key
from neigou.links.models import ClaimSource, CouponClaim, LinkClick
from neigou.links.runtime import LinksRuntime
from neigou.links.stock_gate import StockGate
from neigou.offers.models import CouponTemplate
from neigou.offers.offer_rules import CouponKind, CouponVisibility
from neigou.programs.scope import organization_for_write
from tests.busy_wait import short_busy_wait
from tests.conftest import SECRET, TEST_ACTOR, TokenMaker, app_settings
from tests.links.builders import build, click_event, make_link
from tests.local_redis import REDIS_URL


@pytest.fixture
def running(database_url: str, tmp_path: Path, redis_client: redis.Redis) -> Iterator[Settings]:
    """The settings of a deployment with Redis; the database's claim stream is emptied before and after."""
    settings = app_settings(database_url, tmp_path).model_copy(update={"redis_url": REDIS_URL})
    prefix = namespace(database_url)
    for key in redis_client.scan_iter(f"{prefix}:*"):
        redis_client.delete(key)
    yield settings
    for key in redis_client.scan_iter(f"{prefix}:*"):
        redis_client.delete(key)


@pytest.fixture
def short_waits(engine: Engine) -> Iterator[None]:
    yield from short_busy_wait(engine)


def _coupon(factory: sessionmaker[Session]) -> int:
    now = utcnow()
    with transaction(factory) as session:
        row = CouponTemplate(
            name="限量券",
            kind=CouponKind.AMOUNT_OFF,
            value=100,
            min_spend_fen=0,
            visibility=CouponVisibility.PUBLIC,
            total_quantity=5,
            claimed_quantity=0,
            per_customer_limit=1,
            starts_at=now - timedelta(days=1),
            ends_at=now + timedelta(days=1),
            created_at=now,
            organization_id=organization_for_write(session),
        )
        session.add(row)
        session.flush()
        return row.id


@pytest.mark.usefixtures("short_waits")
def test_the_scheduled_claim_drain_stores_the_stream(
    factory: sessionmaker[Session], running: Settings, redis_client: redis.Redis
) -> None:
    coupon_id = _coupon(factory)
    gate = StockGate(redis_client, namespace(running.database_url), write_behind=True)
    for who in ("13800000001", "13800000002"):
        with transaction(factory) as session:
            claims.claim_coupon(
                session,
                coupon_id=coupon_id,
                customer=claims.Customer.from_ref(SECRET, who),
                actor=TEST_ACTOR,
                source=ClaimSource.API,
                gate=gate,
            )
    runner = JobRunner(MemoryHuey("drain-test", immediate=True), factory, running)
    assert runner.run("links.drain_claim_stream", key="drain-1", payload={}, at=utcnow())
    with factory() as session:
        assert session.scalar(select(func.count(CouponClaim.id))) == 2
        assert session.scalar(select(CouponTemplate.claimed_quantity)) == 2
        assert session.get(JobRun, "drain-1") is not None
    assert gate.stream is not None
    assert redis_client.xlen(gate.stream) == 0


@pytest.mark.usefixtures("short_waits")
def test_the_scheduled_click_drain_stores_the_stream(
    client: TestClient,
    *,
    operator: dict[str, str],
    make_token: TokenMaker,
    factory: sessionmaker[Session],
    running: Settings,
    redis_client: redis.Redis,
) -> None:
    world = build(client, operator, make_token)
    link = make_link(client, operator, member_id=world.member_id)
    clicks = [click_event(link["id"], world.member_id, world.program_id) for _ in range(3)]
    RedisStreamSink(redis_client, stream_key(running.database_url)).write(clicks)
    runner = JobRunner(MemoryHuey("drain-test", immediate=True), factory, running)
    assert runner.run("links.drain_click_stream", key="drain-clicks-1", payload={}, at=utcnow())
    with factory() as session:
        assert sorted(session.scalars(select(LinkClick.ref))) == sorted(c[0] for c in clicks)
    assert redis_client.xlen(stream_key(running.database_url)) == 0


def test_a_stopped_runtime_takes_its_gate_out_of_changes_of_stock(
    running: Settings, factory: sessionmaker[Session]
) -> None:
    """Once its runtime stops, a gate (and its Redis, closed) no longer checks a change of stock."""
    runtime = LinksRuntime.from_settings(running, factory)
    assert runtime.gate is not None
    assert runtime.gate in stock_gate._GATES
    runtime.stop()
    assert runtime.gate not in stock_gate._GATES
