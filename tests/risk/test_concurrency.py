"""Parallel decisions and scans on PostgreSQL: a case's money moves once, a subject opens one case."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.clock import utcnow
from neigou.ledger.models import Posting
from neigou.programs.models import Program
from neigou.risk import review, service
from tests.conftest import TEST_ACTOR
from tests.orders import builders as orders
from tests.orders.builders import PAID_AT, assert_ledger_balanced, balance
from tests.parallel import in_parallel
from tests.risk.builders import brush, cases

PARALLEL = 6


@pytest.mark.postgres_only
def test_parallel_confirmations_reverse_once(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    world = orders.build(client, operator, factory)
    brush(client, operator, world, 10)
    [case] = cases(client, operator, world.program_id, "open")

    def confirm(session: Session) -> int:
        done = review.resolve(
            session,
            case_id=case["id"],
            decision="confirm",
            note=None,
            suspend=False,
            actor=TEST_ACTOR,
            at=utcnow(),
        )
        return done.reversed_fen

    results = in_parallel(factory, confirm, PARALLEL)
    assert results == [case["held_fen"]] * PARALLEL
    with factory() as session:
        postings = session.scalar(select(func.count()).where(Posting.source == "risk_case"))
    assert postings == 1
    assert balance(client, operator, world.seller)["pending_fen"] == 0
    assert_ledger_balanced(factory)


@pytest.mark.postgres_only
def test_parallel_scans_open_one_case(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    world = orders.build(client, operator, factory)
    path = f"/api/v1/programs/{world.program_id}/risk/thresholds"
    assert client.put(path, json={"brushing_min_orders": 100}, headers=operator).status_code == 200
    brush(client, operator, world, 10)  # not flagged at ingest under the raised threshold
    assert cases(client, operator, world.program_id) == []
    assert client.put(path, json={"brushing_min_orders": 10}, headers=operator).status_code == 200

    def scan(session: Session) -> int:
        program = session.get(Program, world.program_id)
        assert program is not None
        at = PAID_AT + timedelta(days=2)
        return service.scan(session, program=program, as_of=at, actor=TEST_ACTOR, now=at).opened

    results = in_parallel(factory, scan, PARALLEL)
    assert sorted(results) == [0] * (PARALLEL - 1) + [1]  # type: ignore[type-var]
    [case] = cases(client, operator, world.program_id, "open")
    assert len(case["order_ids"]) == 10
