"""A scan that would extend an open case while a reviewer decides it, on real parallel connections (both
databases): a decided case never takes orders after its decision (their commission would be neither
reversed nor held, and settlement would release it). The scan locks the case before it adds orders, so
a decision in progress commits first, and a case decided since the scan read it opens a new case."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.clock import utcnow
from neigou.orders.models import Commission
from neigou.programs.models import Program
from neigou.risk import repository, review, service
from neigou.risk.models import CaseOrder, CaseStatus, RiskCase
from tests.conftest import TEST_ACTOR
from tests.lock_waits import answered_while_held, assert_shed, lock_waits, paused, two_sides
from tests.orders import builders as orders
from tests.orders.builders import PAID_AT, assert_ledger_balanced, balance, settle
from tests.risk.builders import brush, cases, complete

LATE_AT = PAID_AT + timedelta(days=1)
AT = PAID_AT + timedelta(days=2)
AFTER_FREEZE = PAID_AT + timedelta(days=10)


def _open_case_and_late_orders(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> tuple[orders.World, int]:
    """An open brushing case of ten orders, and ten more of the seller's, completed, that only a scan flags
    (the threshold was raised while they came in)."""
    world = orders.build(client, operator, factory, freeze_days=7)
    brush(client, operator, world, 10)
    [case] = cases(client, operator, world.program_id, "open")
    path = f"/api/v1/programs/{world.program_id}/risk/thresholds"
    assert client.put(path, json={"brushing_min_orders": 100}, headers=operator).status_code == 200
    brush(client, operator, world, 10, prefix="LATE", start=LATE_AT)
    assert client.put(path, json={"brushing_min_orders": 10}, headers=operator).status_code == 200
    for i in range(10):
        complete(client, operator, world.program_id, f"LATE-{i}", LATE_AT + timedelta(hours=2))
    assert [len(c["order_ids"]) for c in cases(client, operator, world.program_id)] == [10]
    return world, int(case["id"])


def _scan(program_id: int) -> Callable[[Session], int]:
    def scan(session: Session) -> int:
        program = session.get(Program, program_id)
        assert program is not None
        found = service.scan(
            session, program=program, as_of=AT, actor=TEST_ACTOR, now=AT, names=["order_brushing"]
        )
        return found.opened + found.extended

    return scan


def _confirm(case_id: int) -> Callable[[Session], str]:
    def confirm(session: Session) -> str:
        done = review.resolve(
            session,
            case_id=case_id,
            decision="confirm",
            note=None,
            suspend=False,
            actor=TEST_ACTOR,
            at=utcnow(),
        )
        return done.status.value

    return confirm


def _assert_nothing_escapes(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], world: orders.World
) -> None:
    """Every order of a confirmed case has its commission reversed; the rest are held by an open case, so
    a settlement after the freeze releases nothing."""
    with factory() as session:
        unreversed = session.scalar(
            select(func.coalesce(func.sum(Commission.amount_fen - Commission.reversed_fen), 0))
            .join(CaseOrder, CaseOrder.order_id == Commission.order_id)
            .join(RiskCase, RiskCase.id == CaseOrder.case_id)
            .where(RiskCase.status == CaseStatus.CONFIRMED)
        )
        held = session.scalar(select(func.count(func.distinct(CaseOrder.order_id))))
    assert unreversed == 0, "a confirmed case holds orders whose commission was never reversed"
    assert held == 20
    assert settle(client, operator, world.program_id, AFTER_FREEZE)["released_fen"] == 0
    assert balance(client, operator, world.seller)["available_fen"] == 0
    assert_ledger_balanced(factory)


def test_a_decision_between_the_scans_read_and_write_keeps_the_new_orders_out_of_the_case(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world, case_id = _open_case_and_late_orders(client, operator, factory)
    waits = lock_waits(factory, 2)
    # the scan holds once it read the program's cases, before it writes
    monkeypatch.setattr(repository, "cases_with_subject", paused(repository.cases_with_subject, waits))
    scanned, decided = two_sides(factory, _scan(world.program_id), _confirm(case_id), waits)
    assert (scanned, decided) == (1, "confirmed")
    [confirmed] = cases(client, operator, world.program_id, "confirmed")
    opened = cases(client, operator, world.program_id, "open")
    # PostgreSQL: the decision commits while the scan holds (it locked nothing yet); the new orders open
    # a new case. SQLite: the scan holds the database's write lock, so it extends the case first, and
    # the decision then reverses all twenty orders.
    shape = (10, [10]) if factory.kw["bind"].dialect.name == "postgresql" else (20, [])
    assert (len(confirmed["order_ids"]), [len(c["order_ids"]) for c in opened]) == shape
    _assert_nothing_escapes(client, operator, factory, world)


def test_a_scan_waits_for_a_decision_in_progress_and_opens_a_new_case(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world, case_id = _open_case_and_late_orders(client, operator, factory)
    waits = lock_waits(factory, 2)
    # the decision holds once it reversed the case's money, the case locked, before its commit
    monkeypatch.setattr(review, "_reverse", paused(review._reverse, waits))
    decided, scanned = two_sides(factory, _confirm(case_id), _scan(world.program_id), waits)
    assert (decided, scanned) == ("confirmed", 1)
    [confirmed] = cases(client, operator, world.program_id, "confirmed")
    [opened] = cases(client, operator, world.program_id, "open")
    assert confirmed["id"] == case_id
    assert len(confirmed["order_ids"]) == 10
    assert len(opened["order_ids"]) == 10
    assert set(opened["order_ids"]).isdisjoint(confirmed["order_ids"])
    _assert_nothing_escapes(client, operator, factory, world)


@pytest.mark.postgres_only
@pytest.mark.usefixtures("short_lock_wait")
def test_a_requested_scan_waits_a_bounded_time_for_a_case_being_decided(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
) -> None:
    """A decision holds its case while it locks the case's orders (which a settlement may hold): a scan a
    request started waits for the case as for the program, at most ``lock_wait_ms``, then 503."""
    world, case_id = _open_case_and_late_orders(client, operator, factory)
    path = f"/api/v1/programs/{world.program_id}/risk/scan"
    busy = answered_while_held(
        factory,
        lambda deciding: deciding.scalar(select(RiskCase.id).where(RiskCase.id == case_id).with_for_update()),
        lambda: client.post(path, json={"as_of": AT.isoformat()}, headers=operator),
    )
    assert_shed(busy)
    assert [len(c["order_ids"]) for c in cases(client, operator, world.program_id)] == [10]
    again = client.post(path, json={"as_of": AT.isoformat()}, headers=operator)
    assert again.status_code == 200, again.text
    assert [len(c["order_ids"]) for c in cases(client, operator, world.program_id)] == [20]
