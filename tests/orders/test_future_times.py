"""Times that move money may not lie in the future (beyond a small clock skew): 422 time_in_future."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth.models import Role
from neigou.kit.clock import utcnow
from tests.conftest import TokenMaker, bearer, row_counts
from tests.orders.builders import PAID_AT, SKU, balance, build, order_body, post_order


def _refused(response: object, field: str, typed: str | None = None) -> None:
    assert getattr(response, "status_code", None) == 422, getattr(response, "text", response)
    problem = response.json()  # type: ignore[attr-defined]
    assert (problem["code"], problem["field"]) == ("time_in_future", field)
    if typed is not None:  # the detail names the field and the time now, not the time typed
        assert typed[:10] not in problem["detail"]
    assert response.headers["content-type"].startswith("application/problem+json")  # type: ignore[attr-defined]


def test_future_money_times_are_refused_and_change_nothing(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], make_token: TokenMaker
) -> None:
    w = build(client, operator, factory, max_levels=2)
    post_order(client, operator, order_body(w, "F-1", (SKU, 1, 100_000)))
    ahead = (utcnow() + timedelta(days=8)).isoformat()
    member = bearer(make_token(Role.MEMBER, w.seller))
    before = row_counts(factory)

    _refused(
        client.post(
            "/api/v1/orders", json=order_body(w, "F-2", at=utcnow() + timedelta(hours=1)), headers=operator
        ),
        "paid_at",
    )
    _refused(client.post("/api/v1/orders/F-1/complete", json={"at": ahead}, headers=operator), "at", ahead)
    refund = {"refund_id": "r-1", "amount_fen": 100, "at": ahead}
    _refused(client.post("/api/v1/orders/F-1/refunds", json=refund, headers=operator), "at")
    settle = client.post(
        f"/api/v1/programs/{w.program_id}/settlements", json={"as_of": ahead}, headers=operator
    )
    _refused(settle, "as_of")
    withdrawal = {"amount_fen": 100, "request_id": "w-1", "at": ahead}
    _refused(client.post(f"/api/v1/members/{w.seller}/withdrawals", json=withdrawal, headers=member), "at")
    assert row_counts(factory) == before


def test_a_settlement_dated_ahead_releases_nothing_early(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    """The probe's case: completed now, freeze of some days; as_of eight days ahead must not release it."""
    w = build(client, operator, factory, max_levels=2)
    now = utcnow()
    post_order(client, operator, order_body(w, "F-3", (SKU, 1, 100_000), at=now - timedelta(hours=1)))
    done = client.post("/api/v1/orders/F-3/complete", json={"at": now.isoformat()}, headers=operator)
    assert done.status_code == 200, done.text
    before = balance(client, operator, w.seller)
    ahead = (now + timedelta(days=8)).isoformat()
    _refused(
        client.post(f"/api/v1/programs/{w.program_id}/settlements", json={"as_of": ahead}, headers=operator),
        "as_of",
    )
    assert balance(client, operator, w.seller) == before
    assert before["available_fen"] == 0


def test_a_time_within_the_clock_skew_is_accepted(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w = build(client, operator, factory, max_levels=2)
    post_order(client, operator, order_body(w, "F-4", (SKU, 1, 100_000), at=PAID_AT))
    slightly_ahead = (utcnow() + timedelta(minutes=2)).isoformat()
    done = client.post("/api/v1/orders/F-4/complete", json={"at": slightly_ahead}, headers=operator)
    assert done.status_code == 200, done.text
