"""A program's time zone changed after a refresh: the next refresh puts every fact on its day in the new
zone, the old facts included, as the live reports do."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.analytics.extract import refresh
from neigou.analytics.store import Store, open_store
from neigou.orders.models import Order
from neigou.programs.models import Program
from tests.analytics.builders import build
from tests.conftest import TokenMaker


@pytest.fixture
def duck(tmp_path: Path) -> Iterator[Store]:
    store = open_store(f"duckdb:///{tmp_path / 'analytics.duckdb'}")
    yield store
    store.close()


def _days(store: Store, program_id: int) -> dict[int, str]:
    rows = store.query("SELECT id, paid_on FROM orders WHERE program_id = :p", p=program_id)
    return {int(i): str(day) for i, day in rows}


def _expected(factory: sessionmaker[Session], program_id: int, zone: str) -> dict[int, str]:
    with factory() as session:
        rows = session.execute(select(Order.id, Order.paid_at).where(Order.program_id == program_id)).all()
    tz = ZoneInfo(zone)
    return {int(i): str(_aware(at).astimezone(tz).date()) for i, at in rows}


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def test_a_zone_change_moves_the_stored_days_of_earlier_orders(
    client: TestClient,
    operator: dict[str, str],
    make_token: TokenMaker,
    factory: sessionmaker[Session],
    duck: Store,
) -> None:
    world = build(client, operator, make_token, factory)
    with factory() as session:
        refresh(session, duck)
    shanghai = _expected(factory, world.program_id, "Asia/Shanghai")
    assert _days(duck, world.program_id) == shanghai
    with factory() as session:
        program = session.get(Program, world.program_id)
        assert program is not None
        program.timezone = "America/Los_Angeles"
        session.commit()
    los_angeles = _expected(factory, world.program_id, "America/Los_Angeles")
    assert los_angeles != shanghai  # the world has orders on either side of a midnight
    with factory() as session:
        copied = refresh(session, duck)
    assert _days(duck, world.program_id) == los_angeles
    assert copied["orders"] == len(los_angeles) + len(_days(duck, world.other_program_id))
    with factory() as session:  # nothing moved since: nothing is copied again
        assert refresh(session, duck)["orders"] == 0
