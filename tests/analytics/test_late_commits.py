"""Ids that commit out of order: on PostgreSQL a row committed after a higher id was copied still
reaches the store, once; the watermark stops at a gap until no transaction can still fill it."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pyarrow as pa
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.analytics.extract import refresh, watermark
from neigou.analytics.horizon import advance, snapshot
from neigou.analytics.store import Store
from neigou.programs.models import Member
from tests.conftest import TokenMaker
from tests.factories import create_member, create_program


def test_the_watermark_moves_through_ids_in_order_and_stops_at_an_unsettled_gap() -> None:
    ids = pa.array([5, 6, 7, 9, 10], pa.int64())
    assert advance(4, 0, ids) == (7, True)  # 8 may still commit
    assert advance(4, 8, ids) == (10, False)  # 8 is settled: committed and seen, or never
    assert advance(7, 0, pa.array([], pa.int64())) == (7, False)
    assert advance(4, 0, pa.array([6, 7], pa.int64())) == (4, True)
    assert advance(9, 3, pa.array([10, 11], pa.int64())) == (11, False)


def _wait_for_xmin_past_the_last_refresh(factory: sessionmaker[Session], deadline: float) -> None:
    """Until every transaction that was running when the last refresh began has ended (the snapshot's
    ``xmin`` reaches the ``xmax`` read now, at or above that refresh's horizon), or the deadline."""
    with factory() as session:
        now = snapshot(session)
    assert now is not None
    while time.monotonic() < deadline:
        with factory() as session:
            later = snapshot(session)
        assert later is not None
        if later.xmin >= now.xmax:
            return
        time.sleep(0.2)


def _member_ids(store: Store) -> list[int]:
    return [int(r[0]) for r in store.query("SELECT id FROM members ORDER BY id")]


@pytest.mark.postgres_only(reason="late commits need concurrent writers: PostgreSQL (SQLite has one writer)")
def test_a_member_committed_late_is_copied_once(
    client: TestClient,
    operator: dict[str, str],
    make_token: TokenMaker,
    factory: sessionmaker[Session],
    duck: Store,
) -> None:
    program = create_program(client, operator, code="late")
    first = create_member(client, operator, program["id"], "first")
    with factory() as session:
        refresh(session, duck)
    late = factory()
    try:
        row = Member(program_id=program["id"], name="late", joined_at=datetime.now(UTC))
        late.add(row)
        late.flush()  # its id is taken; the row is not committed
        after = create_member(client, operator, program["id"], "after")
        assert row.id < after["id"]
        with factory() as session:
            refresh(session, duck)
        assert after["id"] in _member_ids(duck)
        assert row.id not in _member_ids(duck)
        assert watermark(duck, "members") < row.id  # not past the uncommitted id
        late.commit()
        late_id = row.id
    finally:
        late.close()
    with factory() as session:
        copied = refresh(session, duck)
    ids = _member_ids(duck)
    assert ids.count(late_id) == 1
    assert ids.count(after["id"]) == 1
    assert copied["members"] == 1  # the late one; "after" was copied before
    assert watermark(duck, "members") == after["id"]

    # A rolled-back insert leaves a gap for ever: once no transaction can fill it, the watermark passes it.
    gone = factory()
    try:
        gone.add(Member(program_id=program["id"], name="gone", joined_at=datetime.now(UTC)))
        gone.flush()
        gone.rollback()
    finally:
        gone.close()
    # Other writes go on between refreshes, as they do. Three rounds settle the gap on a quiet server;
    # the snapshot's xmin is the cluster's, so a long transaction elsewhere on the server (another test
    # worker's module-long transaction) delays settling until it ends: wait for that, within a bound,
    # by watching the snapshot (a cheap query) rather than refreshing again and again.
    deadline = time.monotonic() + 600
    n = 0
    while True:
        create_member(client, operator, program["id"], f"more-{n}")
        with factory() as session:
            refresh(session, duck)
        ids = _member_ids(duck)
        assert len(ids) == len(set(ids))
        if watermark(duck, "members") == max(ids) or time.monotonic() > deadline:
            break
        n += 1
        if n > 3:
            _wait_for_xmin_past_the_last_refresh(factory, deadline)
    assert watermark(duck, "members") == max(ids)
    assert first["id"] in ids
