"""Orders through the API: commission by tier at paid_at, uplines' override, idempotency, refusals."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.db import transaction
from neigou.programs.models import MemberTierPeriod
from tests.conftest import row_counts
from tests.orders.builders import PAID_AT, SKU, World, assert_ledger_balanced, build, order_body, post_order


def _commissions(order: dict[str, object]) -> list[tuple[int, int, int]]:
    return [(c["member_id"], c["level"], c["amount_fen"]) for c in order["commissions"]]  # type: ignore[attr-defined]


def test_order_pays_seller_share_and_upline_overrides(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w = build(client, operator, factory)
    order = post_order(client, operator, order_body(w, "JD-1", (SKU, 2, 10_000), ("YD-TEE", 1, 5_900)))
    # pool: 10000×20% = 2000 and 5900×25% = 1475; seller super 20%, owner super 5%, mentor 10%
    assert order["member_id"] == w.seller
    assert _commissions(order) == [
        (w.seller, 1, 400 + 295),
        (w.owner, 2, 100 + 73),
        (w.mentor, 3, 200 + 147),
    ]
    assert order["attribution"] == "order_link"
    assert order["pricing"]["list_total_fen"] == 2 * 4990 + 5900
    assert_ledger_balanced(factory)


def test_tier_change_is_effective_dated(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w = build(client, operator, factory, max_levels=2)
    first = post_order(client, operator, order_body(w, "T-1", (SKU, 1, 10_000)))
    promoted = PAID_AT + timedelta(days=10)
    with transaction(factory) as session:
        session.add(
            MemberTierPeriod(member_id=w.seller, tier_code="mentor", effective_from=promoted, reason="t")
        )
    later = post_order(
        client, operator, order_body(w, "T-2", (SKU, 1, 10_000), at=promoted + timedelta(hours=1))
    )
    # pool 2000: 20% before, 30% after; the inviter (super member) keeps 5% override both times
    assert _commissions(first) == [(w.seller, 1, 400), (w.owner, 2, 100)]
    assert _commissions(later) == [(w.seller, 1, 600), (w.owner, 2, 100)]
    again = client.get("/api/v1/orders/T-1", headers=operator).json()
    assert _commissions(again) == [(w.seller, 1, 400), (w.owner, 2, 100)]
    with transaction(factory) as session:
        session.add(
            MemberTierPeriod(member_id=w.owner, tier_code="mentor", effective_from=promoted, reason="t")
        )
    third = post_order(
        client, operator, order_body(w, "T-3", (SKU, 1, 10_000), at=promoted + timedelta(hours=2))
    )
    assert _commissions(third) == [(w.seller, 1, 600), (w.owner, 2, 200)]


def test_same_external_id_returns_the_same_order_and_posts_nothing(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w = build(client, operator, factory)
    first = post_order(client, operator, order_body(w, "DUP-1"))
    before = row_counts(factory)
    again = post_order(client, operator, order_body(w, "DUP-1"), status=200)
    assert again == first
    counts = row_counts(factory)
    assert counts == before


def test_unattributed_order_pays_nothing(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w = build(client, operator, factory)
    body = order_body(w, "NOBODY")
    body["link_code"] = None
    order = post_order(client, operator, body)
    assert (order["member_id"], order["commissions"], order["attribution"]) == (None, [], "no_touch")


def test_self_purchase_pays_uplines_only_when_program_says_so(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w = build(client, operator, factory, max_levels=2, self_purchase_commission=False)
    order = post_order(client, operator, order_body(w, "SELF", customer="13800000001"))
    assert order["self_purchase"] is True
    assert _commissions(order) == [(w.owner, 2, 100)]


def test_refused_orders_write_nothing(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w = build(client, operator, factory)
    before = row_counts(factory)
    cases = [
        (order_body(w, "X", ("NOPE", 1, 100)), 422, "unknown_sku"),
        (order_body(w, "X", (SKU, 1, -1)), 422, "validation_error"),
        ({**order_body(w, "X"), "program_id": 999_999}, 404, "program_not_found"),
        ({**order_body(w, "X"), "total_fen": 1}, 422, "inconsistent_amounts"),
        (order_body(w, "X", link="nolink"), 422, "unknown_link"),
        ({**order_body(w, "X"), "paid_at": "2026-03-01T12:00:00"}, 422, "validation_error"),
    ]
    for body, status, code in cases:
        response = client.post("/api/v1/orders", json=body, headers=operator)
        assert (response.status_code, response.json()["code"]) == (status, code), response.text
    assert row_counts(factory) == before


def test_fixed_sku_commission_overrides_the_rate(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w: World = build(client, operator, factory, max_levels=2)
    response = client.put(
        f"/api/v1/sku-commissions/{SKU}", json={"fixed_commission_fen": 1000}, headers=operator
    )
    assert response.status_code == 200, response.text
    order = post_order(client, operator, order_body(w, "FIX", (SKU, 3, 9_000)))
    assert _commissions(order) == [(w.seller, 1, 600), (w.owner, 2, 150)]  # pool 3 × 1000: 20% and 5%
