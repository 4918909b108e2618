"""A scan the order intake sets off inside a request (``risk.jobs.check_new_order``) waits for its
program's lock a bounded time, as a requested scan does: while another scan holds the program (the
nightly one runs every program in one transaction) the order POST is answered 503 ``overloaded`` with
Retry-After, nothing written, and the same POST goes in once the lock is free. A file import's batches,
outside a request, still wait."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.scoping import in_request, link_request
from neigou.orders.models import Order
from neigou.programs.models import Program
from neigou.risk.models import CaseOrder, RiskCase
from tests.lock_waits import answered_while_held, assert_shed
from tests.orders import builders as orders
from tests.orders.builders import PAID_AT, SKU, order_body
from tests.risk.builders import SMALL_FEN, brush, cases


def _counts(factory: sessionmaker[Session]) -> tuple[int, int, int]:
    with factory() as session:
        return (
            int(session.scalar(select(func.count()).select_from(Order)) or 0),
            int(session.scalar(select(func.count()).select_from(RiskCase)) or 0),
            int(session.scalar(select(func.count()).select_from(CaseOrder)) or 0),
        )


@pytest.mark.postgres_only
@pytest.mark.usefixtures("short_lock_wait")
def test_an_order_whose_scan_finds_brushing_waits_a_bounded_time_for_a_running_scan(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
) -> None:
    world = orders.build(client, operator, factory)
    brush(client, operator, world, 9)  # one short of the rule's ten
    assert cases(client, operator, world.program_id) == []
    before = _counts(factory)
    last = order_body(
        world, "B-9", (SKU, 1, SMALL_FEN), at=PAID_AT + 9 * timedelta(minutes=6), customer="c-B-9"
    )

    def scanning(holder: Session) -> None:  # another scan of the program, holding its lock
        holder.scalar(
            select(Program.id).where(Program.id == world.program_id).with_for_update(key_share=True)
        )

    busy = answered_while_held(
        factory, scanning, lambda: client.post("/api/v1/orders", json=last, headers=operator)
    )
    assert_shed(busy)
    assert _counts(factory) == before  # the order, its case: nothing written
    again = client.post("/api/v1/orders", json=last, headers=operator)
    assert again.status_code == 201, again.text
    [case] = cases(client, operator, world.program_id, "open")
    assert case["rule"] == "order_brushing"
    assert len(case["order_ids"]) == 10


def test_only_a_requests_session_counts_as_one(factory: sessionmaker[Session]) -> None:
    with factory() as session:
        assert not in_request(session)  # a job's, the CLI's
        link_request(session, object())
        assert in_request(session)
