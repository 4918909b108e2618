"""A refund's reversal is posted no earlier than the commission reached the account it is taken from:
a refund dated before the order's release (or completion) keeps its own ``at``, and its posting is
dated at the release (or completion), never taking from ``available`` before the money got there."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.ledger.models import Posting, PostingKind
from neigou.orders.models import Refund
from tests.orders.builders import PAID_AT, build, order_body, post_order


def _refund(
    client: TestClient, operator: dict[str, str], external_id: str, refund_id: str, at: datetime
) -> None:
    body = {"refund_id": refund_id, "amount_fen": 1_000, "at": at.isoformat()}
    response = client.post(f"/api/v1/orders/{external_id}/refunds", json=body, headers=operator)
    assert response.status_code == 201, response.text


def _dates(factory: sessionmaker[Session], refund_id: str) -> tuple[datetime, datetime]:
    """(the refund's own ``at``, its reversal posting's ``at``)."""
    with factory() as session:
        refund = session.scalars(select(Refund).where(Refund.refund_id == refund_id)).one()
        posting = session.scalars(
            select(Posting).where(
                Posting.key == f"refund:{refund.id}", Posting.kind == PostingKind.COMMISSION_REVERSED
            )
        ).one()
        return refund.at, posting.at


def test_a_reversal_is_dated_no_earlier_than_the_release_or_completion(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w = build(client, operator, factory, max_levels=2)
    completed = PAID_AT + timedelta(days=1)
    for external_id in ("REL-1", "REL-2"):
        post_order(client, operator, order_body(w, external_id))
        done = client.post(
            f"/api/v1/orders/{external_id}/complete", json={"at": completed.isoformat()}, headers=operator
        )
        assert done.status_code == 200, done.text
    as_of = completed + timedelta(days=30)
    settled = client.post(
        f"/api/v1/programs/{w.program_id}/settlements", json={"as_of": as_of.isoformat()}, headers=operator
    )
    assert settled.status_code == 201, settled.text
    post_order(client, operator, order_body(w, "FRZ-2"))
    client.post("/api/v1/orders/FRZ-2/complete", json={"at": completed.isoformat()}, headers=operator)
    early = PAID_AT + timedelta(hours=2)  # after payment, before completion and release
    _refund(client, operator, "REL-1", "R-REL", early)
    assert _dates(factory, "R-REL") == (early, as_of)
    _refund(client, operator, "FRZ-2", "R-FRZ", early)
    assert _dates(factory, "R-FRZ") == (early, completed)
    late = as_of + timedelta(days=2)
    _refund(client, operator, "REL-2", "R-LATE", late)
    assert _dates(factory, "R-LATE") == (late, late)
