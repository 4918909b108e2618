"""A program's time zone changed after a refresh: the next refresh puts every fact on its day in the new
zone, the old facts included, as the live reports do; a change committed during a refresh is found by
the next one, and readers never see the store half rebuilt (DuckDB)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.analytics import schema
from neigou.analytics.extract import refresh
from neigou.analytics.store import Store
from neigou.orders.models import Order
from neigou.programs.models import Program
from tests.analytics.builders import build
from tests.analytics.stores import Killed
from tests.conftest import TokenMaker


def _days(store: Store, program_id: int) -> dict[int, str]:
    rows = store.query("SELECT id, paid_on FROM orders WHERE program_id = :p", p=program_id)
    return {int(i): str(day) for i, day in rows}


def _expected(factory: sessionmaker[Session], program_id: int, zone: str) -> dict[int, str]:
    with factory() as session:
        rows = session.execute(select(Order.id, Order.paid_at).where(Order.program_id == program_id)).all()
    tz = ZoneInfo(zone)
    return {int(i): str(_aware(at).astimezone(tz).date()) for i, at in rows}


def _move_zone(factory: sessionmaker[Session], program_id: int) -> None:
    """The program's zone changed by an operator, from Asia/Shanghai to America/Los_Angeles."""
    with factory() as session:
        program = session.get(Program, program_id)
        assert program is not None
        program.timezone = "America/Los_Angeles"
        session.commit()


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
    _move_zone(factory, world.program_id)
    los_angeles = _expected(factory, world.program_id, "America/Los_Angeles")
    assert los_angeles != shanghai  # the world has orders on either side of a midnight
    with factory() as session:
        copied = refresh(session, duck)
    assert _days(duck, world.program_id) == los_angeles
    assert copied["orders"] == len(los_angeles) + len(_days(duck, world.other_program_id))
    with factory() as session:  # nothing moved since: nothing is copied again
        assert refresh(session, duck)["orders"] == 0


def test_a_zone_change_committed_during_a_refresh_is_found_by_the_next(  # noqa: PLR0917 - fixtures
    client: TestClient,
    operator: dict[str, str],
    make_token: TokenMaker,
    factory: sessionmaker[Session],
    duck: Store,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world = build(client, operator, make_token, factory)
    with factory() as session:
        refresh(session, duck)
    checked = schema.zones_moved

    def then_changed(store: Store, zones: dict[int, str]) -> bool:
        moved = checked(store, zones)
        _move_zone(factory, world.program_id)  # an operator's change commits between the check and the copy
        return moved

    monkeypatch.setattr(schema, "zones_moved", then_changed)
    with factory() as session:
        refresh(session, duck)
    monkeypatch.setattr(schema, "zones_moved", checked)
    with factory() as session:
        refresh(session, duck)
    assert _days(duck, world.program_id) == _expected(factory, world.program_id, "America/Los_Angeles")


def test_readers_see_the_store_as_it_was_until_a_start_over_commits(
    client: TestClient,
    operator: dict[str, str],
    make_token: TokenMaker,
    factory: sessionmaker[Session],
    duck: Store,
) -> None:
    world = build(client, operator, make_token, factory)
    with factory() as session:
        refresh(session, duck)
    shanghai = _days(duck, world.program_id)
    _move_zone(factory, world.program_id)
    seen: list[dict[int, str]] = []

    def read_then_die(table: str, copied: int) -> None:
        # Another thread reads the store as a report would, in the middle of the copy.
        reader = threading.Thread(target=lambda: seen.append(_days(duck, world.program_id)))
        reader.start()
        reader.join()
        raise Killed

    with factory() as session, pytest.raises(Killed):
        refresh(session, duck, chunk=2, progress=read_then_die)
    assert seen == [shanghai]  # the old store whole, never a missing table
    assert _days(duck, world.program_id) == shanghai  # the killed start-over left it as it was
    with factory() as session:
        refresh(session, duck)
    assert _days(duck, world.program_id) == _expected(factory, world.program_id, "America/Los_Angeles")
