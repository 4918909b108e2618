"""A scan's wait for its program's lock. A scan a request started (the API's, the console's) waits at most
``lock_wait_ms``, then is answered 503 ``overloaded`` with Retry-After, nothing written; the nightly job
waits for as long as it takes. Order intake's ``FOR KEY SHARE`` never holds a scan up (the scan locks
``FOR NO KEY UPDATE``), while two scans of one program still run one after the other, on both databases."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from neigou.audit.models import AuditEntry
from neigou.kit.clock import utcnow
from neigou.kit.settings import Settings, use_settings
from neigou.orders.lookups import programs as intake_locks
from neigou.programs.models import Program
from neigou.programs.repository import hold_tier_changes
from neigou.risk import holds, jobs, service
from neigou.risk.models import CaseOrder, RiskCase
from tests.conftest import TEST_ACTOR
from tests.lock_waits import answered_while_held, assert_shed, lock_waits, paused, two_sides
from tests.orders import builders as orders
from tests.orders.builders import PAID_AT
from tests.risk.builders import brush, cases
from tests.sign_in import console_sign_in

AT = PAID_AT + timedelta(days=2)
SCAN = {"as_of": AT.isoformat()}
BUSY = {
    "zh-CN": "当前使用人数较多，请稍后再试。",
    "en": "Many people are using the service right now. Please try again in a moment.",
}


def _unscanned_brushing(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], *, start: datetime = PAID_AT
) -> int:
    """A program whose ten small orders only a scan flags (the threshold was raised while they came in)."""
    world = orders.build(client, operator, factory)
    path = f"/api/v1/programs/{world.program_id}/risk/thresholds"
    assert client.put(path, json={"brushing_min_orders": 100}, headers=operator).status_code == 200
    brush(client, operator, world, 10, start=start)
    assert cases(client, operator, world.program_id) == []
    assert client.put(path, json={"brushing_min_orders": 10}, headers=operator).status_code == 200
    return world.program_id


def _written(factory: sessionmaker[Session]) -> tuple[int, int, int]:
    with factory() as session:
        return (
            int(session.scalar(select(func.count()).select_from(RiskCase)) or 0),
            int(session.scalar(select(func.count()).select_from(CaseOrder)) or 0),
            int(session.scalar(select(func.count()).where(AuditEntry.action == "risk.scan")) or 0),
        )


@pytest.mark.postgres_only
@pytest.mark.usefixtures("short_lock_wait")
def test_a_requested_scan_waits_a_bounded_time_for_the_lock_then_succeeds_after_it(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
) -> None:
    program_id = _unscanned_brushing(client, operator, factory)
    path = f"/api/v1/programs/{program_id}/risk/scan"

    def evaluating(holder: Session) -> None:
        hold_tier_changes(holder, program_id)  # what a tier evaluation holds, for tens of seconds

    busy = answered_while_held(factory, evaluating, lambda: client.post(path, json=SCAN, headers=operator))
    assert_shed(busy)
    assert _written(factory) == (0, 0, 0)
    again = client.post(path, json=SCAN, headers=operator)
    assert again.status_code == 200, again.text
    assert again.json()["opened"] == 1
    assert len(cases(client, operator, program_id, "open")) == 1


@pytest.mark.postgres_only
@pytest.mark.usefixtures("short_lock_wait")
def test_the_console_scan_says_to_try_again_in_the_pages_language(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
) -> None:
    # the page scans up to now
    program_id = _unscanned_brushing(client, operator, factory, start=utcnow() - timedelta(hours=3))
    console_sign_in(client, factory)

    def scanning(holder: Session) -> None:  # another scan of the program, holding its lock
        holds.lock_case_links(holder, program_id)

    for query, locale in (("", "zh-CN"), ("?lang=en", "en")):
        busy = answered_while_held(
            factory,
            scanning,
            lambda q=query: client.post(  # type: ignore[misc]
                f"/console/risk/scan{q}", data={"program_id": str(program_id)}, follow_redirects=False
            ),
        )
        assert busy.status_code == 503
        assert busy.headers["content-type"].startswith("text/html")
        assert 'data-code="overloaded"' in busy.text
        assert BUSY[locale] in busy.text
        assert int(busy.headers["Retry-After"]) >= 1
    assert _written(factory) == (0, 0, 0)
    done = client.post("/console/risk/scan", data={"program_id": str(program_id)}, follow_redirects=False)
    assert done.status_code == 303
    assert done.headers["location"] == f"/console/risk?program_id={program_id}&opened=1"


@pytest.mark.postgres_only
def test_order_intake_does_not_hold_a_scan_up(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    program_id = _unscanned_brushing(client, operator, factory)
    path = f"/api/v1/programs/{program_id}/risk/scan"

    def pricing(holder: Session) -> None:
        intake_locks(holder, [program_id])  # what a file import holds for as long as its batches run

    done = answered_while_held(factory, pricing, lambda: client.post(path, json=SCAN, headers=operator))
    assert done.status_code == 200, done.text
    assert done.json()["opened"] == 1


@pytest.mark.postgres_only
def test_the_nightly_scan_waits_for_the_lock_past_the_bound(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], settings: Settings
) -> None:
    program_id = _unscanned_brushing(client, operator, factory)
    waits = lock_waits(factory, 2)
    hold = paused(hold_tier_changes, waits)

    def nightly(session: Session) -> None:
        use_settings(session, settings.model_copy(update={"lock_wait_ms": 1}))  # the job's own settings
        jobs.scan_nightly(session, {}, AT)

    first, second = two_sides(factory, lambda s: hold(s, program_id), nightly, waits)
    assert (first, second) == (None, None)
    assert len(cases(client, operator, program_id, "open")) == 1


def test_two_scans_of_a_program_open_one_case(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    program_id = _unscanned_brushing(client, operator, factory)
    waits = lock_waits(factory, 2)
    monkeypatch.setattr(service, "_hold", paused(service._hold, waits))  # the first holds once it wrote

    def scan(session: Session) -> int:
        program = session.get(Program, program_id)
        assert program is not None
        found = service.scan(session, program=program, as_of=AT, actor=TEST_ACTOR, now=AT)
        return found.opened + found.extended

    first, second = two_sides(factory, scan, scan, waits)
    assert (first, second) == (1, 0)
    [case] = cases(client, operator, program_id, "open")
    assert len(case["order_ids"]) == 10


@pytest.mark.postgres_only
def test_a_refund_or_completion_of_an_order_a_running_scan_flags_does_not_wait_for_it(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    """Linking an order to a case key-shares the order's row until the scan commits (the nightly one:
    its whole run); the order's own changes lock it ``FOR NO KEY UPDATE``, which that does not block."""
    program_id = _unscanned_brushing(client, operator, factory)

    def scanning(holder: Session) -> None:  # a scan that linked the ten orders to its case, not committed
        program = holder.get(Program, program_id)
        assert program is not None
        assert service.scan(holder, program=program, as_of=AT, actor=TEST_ACTOR, now=AT).opened == 1

    refunded = answered_while_held(
        factory,
        scanning,
        lambda: client.post(
            f"/api/v1/orders/B-0/refunds?program_id={program_id}",
            json={"refund_id": "R-B-0", "amount_fen": 100},
            headers=operator,
        ),
    )
    assert refunded.status_code == 201, refunded.text
    completed = answered_while_held(
        factory,
        scanning,
        lambda: client.post(
            f"/api/v1/orders/B-1/complete?program_id={program_id}",
            json={"at": AT.isoformat()},
            headers=operator,
        ),
    )
    assert completed.status_code == 200, completed.text
