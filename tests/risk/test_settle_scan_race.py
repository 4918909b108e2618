"""A settlement while a scan links orders to a case, on real parallel connections (both databases): the
case's orders stay frozen. The scan links them under the program's lock and the settlement takes that lock
before it reads which orders are held, so it reads the case the scan committed. A settlement a request
started waits for the lock at most ``lock_wait_ms`` (503 ``overloaded``, nothing written)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from neigou.orders import settlement
from neigou.orders.models import Settlement
from neigou.programs.models import Program
from neigou.risk import holds, service
from tests.conftest import TEST_ACTOR
from tests.lock_waits import answered_while_held, assert_shed, lock_waits, paused, two_sides
from tests.orders import builders as orders
from tests.orders.builders import PAID_AT, assert_ledger_balanced, balance, settle
from tests.risk.builders import SELLER_FEN, brush, cases, complete

AFTER_FREEZE = PAID_AT + timedelta(days=9)


def _flagged_only_by_a_scan(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> orders.World:
    """Ten small orders of the seller, completed and out of their freeze, that only a scan flags (the
    threshold was raised while they came in)."""
    world = orders.build(client, operator, factory, freeze_days=7)
    path = f"/api/v1/programs/{world.program_id}/risk/thresholds"
    assert client.put(path, json={"brushing_min_orders": 100}, headers=operator).status_code == 200
    brush(client, operator, world, 10)
    assert client.put(path, json={"brushing_min_orders": 10}, headers=operator).status_code == 200
    for i in range(10):
        complete(client, operator, world.program_id, f"B-{i}", PAID_AT + timedelta(days=1))
    assert cases(client, operator, world.program_id) == []
    return world


def test_a_settlement_during_a_scan_leaves_the_orders_it_links_frozen(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world = _flagged_only_by_a_scan(client, operator, factory)
    waits = lock_waits(factory, 2)
    # the scan holds once it linked the orders to its new case, before its commit
    monkeypatch.setattr(service, "_hold", paused(service._hold, waits))

    def scan(session: Session) -> int:
        program = session.get(Program, world.program_id)
        assert program is not None
        found = service.scan(session, program=program, as_of=AFTER_FREEZE, actor=TEST_ACTOR, now=AFTER_FREEZE)
        return found.opened

    def settling(session: Session) -> int:
        program = session.get(Program, world.program_id)
        assert program is not None
        row = settlement.settle(
            session, program=program, as_of=AFTER_FREEZE, actor=TEST_ACTOR, now=AFTER_FREEZE
        )
        return row.orders

    opened, released = two_sides(factory, scan, settling, waits)
    assert (opened, released) == (1, 0)
    [case] = cases(client, operator, world.program_id, "open")
    assert len(case["order_ids"]) == 10
    assert balance(client, operator, world.seller)["frozen_fen"] == 10 * SELLER_FEN
    assert balance(client, operator, world.seller)["available_fen"] == 0
    assert_ledger_balanced(factory)


@pytest.mark.postgres_only
@pytest.mark.usefixtures("short_lock_wait")
def test_a_requested_settlement_waits_a_bounded_time_for_a_scan(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    world = _flagged_only_by_a_scan(client, operator, factory)
    path = f"/api/v1/programs/{world.program_id}/settlements"

    busy = answered_while_held(
        factory,
        lambda scanning: holds.lock_case_links(scanning, world.program_id),  # a scan linking orders
        lambda: client.post(path, json={"as_of": AFTER_FREEZE.isoformat()}, headers=operator),
    )
    assert_shed(busy)
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(Settlement)) == 0
    assert settle(client, operator, world.program_id, AFTER_FREEZE)["orders"] == 10
    assert balance(client, operator, world.seller)["available_fen"] == 10 * SELLER_FEN
