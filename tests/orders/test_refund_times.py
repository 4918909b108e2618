"""A refund is dated no earlier than its order was paid, as a completion is (``completed_before_paid``)."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import row_counts
from tests.orders.builders import PAID_AT, SKU, build, order_body, post_order


def test_a_refund_dated_before_the_order_was_paid_is_refused(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w = build(client, operator, factory, max_levels=2)
    post_order(client, operator, order_body(w, "RF-1", (SKU, 1, 10_000)))
    path = f"/api/v1/orders/RF-1/refunds?program_id={w.program_id}"
    early = {"refund_id": "r-1", "amount_fen": 10_000, "at": (PAID_AT - timedelta(days=30)).isoformat()}
    before = row_counts(factory)
    for language, detail in (
        ("en", "A refund cannot be dated before its order was paid."),
        ("zh-CN", "退款时间早于订单支付时间。"),
    ):
        refused = client.post(path, json=early, headers={**operator, "Accept-Language": language})
        assert (refused.status_code, refused.json()["code"]) == (422, "refund_before_paid"), refused.text
        assert refused.json()["detail"] == detail
    assert row_counts(factory) == before
    at_payment = client.post(path, json={**early, "at": PAID_AT.isoformat()}, headers=operator)
    assert at_payment.status_code == 201, at_payment.text
