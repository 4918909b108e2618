"""The nightly settlement settles program by program, each in its own transaction: one program's failure
is logged and leaves the others settled; the run fails, and its retry (the same key) settles only what
is left, never a program twice."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker
from structlog.testing import capture_logs

from neigou.kit import jobs
from neigou.orders import settlement
from neigou.orders.models import CommissionState, Order, Settlement
from tests.factories import create_member, create_program
from tests.orders.builders import PAID_AT, assert_ledger_balanced, build, make_link, order_body, post_order

RUN_AT = PAID_AT + timedelta(days=40)
KEY = "orders.settle_daily@2026-04-10T18:30"


def _completed_orders(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> list[int]:
    """Two programs, each with one order completed at ``PAID_AT``; their ids."""
    world = build(client, operator, factory)
    second = create_program(client, operator, code="second")["id"]
    seller = create_member(
        client,
        operator,
        second,
        "seller-2",
        tier="super_member",
        joined_at=(PAID_AT - timedelta(days=9)).isoformat(),
    )["id"]
    other = order_body(world, "B-1", link=make_link(factory, seller)) | {"program_id": second}
    post_order(client, operator, order_body(world, "A-1"))
    post_order(client, operator, other)
    for external_id, program_id in (("A-1", world.program_id), ("B-1", second)):
        done = client.post(
            f"/api/v1/orders/{external_id}/complete?program_id={program_id}",
            json={"at": PAID_AT.isoformat()},
            headers=operator,
        )
        assert done.status_code == 200, done.text
    return [world.program_id, second]


def _failing_once(program_id: int) -> Callable[..., Settlement]:
    """``settle``, meeting a deadlock the first time it settles ``program_id``."""
    real, failures = settlement.settle, [program_id]

    def settle(session: Session, **kwargs: Any) -> Settlement:
        if kwargs["program"].id in failures:
            failures.remove(kwargs["program"].id)
            raise OperationalError("UPDATE orders", {"secret": "shopper-1"}, Exception("deadlock detected"))
        return real(session, **kwargs)

    return settle


def _state(factory: sessionmaker[Session]) -> dict[int, tuple[list[str], int]]:
    """Per program: its orders' commission states and its settlements' count."""
    with factory() as session:
        states = session.execute(select(Order.program_id, Order.commission_state)).all()
        counts = dict(
            session.execute(select(Settlement.program_id, func.count()).group_by(Settlement.program_id)).all()
        )
    return {
        p: (sorted(str(CommissionState(s).value) for q, s in states if q == p), int(counts.get(p, 0)))
        for p, _ in states
    }


def test_a_failed_program_leaves_the_others_settled_and_the_retry_settles_only_it(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    jobs_runner: jobs.JobRunner,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first, second = _completed_orders(client, operator, factory)
    monkeypatch.setattr(settlement, "settle", _failing_once(first))
    with capture_logs() as logs, pytest.raises(Exception, match="1 of 2 programs not settled"):
        jobs_runner.run("orders.settle_daily", key=KEY, payload={}, at=RUN_AT)
    assert _state(factory) == {first: (["frozen"], 0), second: (["available"], 1)}
    failed = [e for e in logs if e["event"] == "settlement.program_failed"]
    assert [(e["program_id"], e["log_level"]) for e in failed] == [(first, "error")]
    assert "shopper-1" not in repr(logs), "no bound values in the log"
    settled = [e for e in logs if e["event"] == "settlement.program_settled"]
    assert [(e["program_id"], e["orders"], e["program"], e["programs"]) for e in settled] == [
        (second, 1, 2, 2)
    ]

    with capture_logs() as logs:  # the retry, under the run's key
        assert jobs_runner.run("orders.settle_daily", key=KEY, payload={}, at=RUN_AT + timedelta(seconds=10))
    assert _state(factory) == {first: (["available"], 1), second: (["available"], 1)}, "none settled twice"
    assert [(e["event"], e["program_id"]) for e in logs if "program_id" in e] == [
        ("settlement.program_settled", first),
        ("settlement.program_skipped", second),
    ]
    assert not jobs_runner.run("orders.settle_daily", key=KEY, payload={}, at=RUN_AT + timedelta(seconds=20))
    assert_ledger_balanced(factory)


def test_a_later_nights_run_settles_every_program_again(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], jobs_runner: jobs.JobRunner
) -> None:
    """The marks belong to one run: the next night's run (another key) settles every program."""
    first, second = _completed_orders(client, operator, factory)
    assert jobs_runner.run("orders.settle_daily", key=KEY, payload={}, at=RUN_AT)
    assert jobs_runner.run(
        "orders.settle_daily", key=KEY + "-next", payload={}, at=RUN_AT + timedelta(days=1)
    )
    assert _state(factory) == {first: (["available"], 2), second: (["available"], 2)}
