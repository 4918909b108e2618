"""Marketing consent sent with an ``order.paid`` webhook is recorded as ``POST /api/v1/orders`` records
it: the shopper joins the attributed member's book once however often the event is redelivered, a
consent dated ahead is refused with nothing written (the replay receipt included), and a shopper who
opted out is left out."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.integrations import standard
from neigou.kit.clock import utcnow
from tests.conftest import row_counts
from tests.orders.builders import SKU, World, build, order_body


def _integration(client: TestClient, operator: dict[str, str], w: World) -> dict[str, Any]:
    response = client.post(
        f"/api/v1/programs/{w.program_id}/integrations", json={"name": "品牌商城"}, headers=operator
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def _paid(w: World, external_id: str, customer: str, consent: dict[str, Any]) -> bytes:
    at = utcnow() - timedelta(minutes=5)
    data = order_body(w, external_id, (SKU, 1, 10_000), at=at, customer=customer)
    data.pop("program_id")
    return json.dumps({"type": "order.paid", "data": {**data, "consent": consent}}).encode()


def _send(client: TestClient, shop: dict[str, Any], body: bytes, message_id: str, *, skew: int = 0) -> Any:
    sent = utcnow() - timedelta(seconds=skew)
    headers = standard.headers(shop["inbound_secret"], message_id, sent, body)
    return client.post(
        f"/webhooks/v1/integrations/{shop['id']}",
        content=body,
        headers={**headers, "content-type": "application/json"},
    )


def _book(client: TestClient, operator: dict[str, str], member_id: int) -> list[dict[str, Any]]:
    response = client.get(f"/api/v1/members/{member_id}/customers", headers=operator)
    assert response.status_code == 200, response.text
    book: list[dict[str, Any]] = response.json()
    return book


def test_consent_sent_with_a_paid_order_joins_the_book_once_across_redeliveries(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w = build(client, operator, factory)
    shop = _integration(client, operator, w)
    given = (utcnow() - timedelta(minutes=3)).replace(microsecond=0)
    body = _paid(
        w, "WH-C1", "13800000091", {"marketing": True, "at": given.isoformat(), "source": "checkout"}
    )
    first = _send(client, shop, body, "msg_consent_1", skew=3)
    assert first.status_code == 201, first.text
    book = _book(client, operator, w.seller)
    assert [(c["customer_ref_masked"], c["source"], c["marketing_consent"]) for c in book] == [
        ("138****0091", "order", True)
    ]
    settled = row_counts(factory)
    # The shop retries the same message (same id, signed again): the order is answered as stored.
    again = _send(client, shop, body, "msg_consent_1")
    assert (again.status_code, again.json()["id"]) == (200, first.json()["id"])
    # The identical signed request again: refused as a replay.
    replayed = client.post(
        f"/webhooks/v1/integrations/{shop['id']}",
        content=body,
        headers={**first.request.headers},
    )
    assert (replayed.status_code, replayed.json()["code"]) == (409, "webhook_replayed")
    after = row_counts(factory)
    assert after.pop("webhook_receipts") == settled.pop("webhook_receipts") + 1  # the retry's receipt only
    assert after == settled
    consents = client.get(f"/api/v1/customers/{book[0]['id']}/consents", headers=operator).json()
    assert consents["marketing"] is True
    history = [(c["granted"], c["source"], datetime.fromisoformat(c["at"])) for c in consents["history"]]
    assert history == [(True, "checkout", given)]


def test_a_consent_dated_ahead_is_refused_and_changes_nothing(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w = build(client, operator, factory)
    shop = _integration(client, operator, w)
    ahead = (utcnow() + timedelta(days=1)).isoformat()
    body = _paid(w, "WH-C2", "13800000092", {"marketing": True, "at": ahead})
    before = row_counts(factory)
    refused = _send(client, shop, body, "msg_consent_2")
    assert refused.status_code == 422, refused.text
    assert (refused.json()["code"], refused.json()["field"]) == ("time_in_future", "consent.at")
    assert row_counts(factory) == before  # no order, no customer, no replay receipt
    # Its receipt was not kept: the shop's corrected retry of the same message is taken.
    fixed = _paid(w, "WH-C2", "13800000092", {"marketing": True})
    assert _send(client, shop, fixed, "msg_consent_2").status_code == 201
    assert [c["customer_ref_masked"] for c in _book(client, operator, w.seller)] == ["138****0092"]


def test_a_shopper_who_opted_out_is_not_added_by_a_webhook_order(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w = build(client, operator, factory)
    shop = _integration(client, operator, w)
    opted = client.post(
        "/api/v1/privacy/opt-outs",
        json={"customer_ref": "13800000093", "request_id": "wh-gone-1"},
        headers=operator,
    )
    assert opted.status_code == 201, opted.text
    body = _paid(w, "WH-C3", "13800000093", {"marketing": True})
    taken = _send(client, shop, body, "msg_consent_3")
    assert taken.status_code == 201, taken.text
    assert taken.json()["member_id"] == w.seller  # attributed, yet kept out of the book
    other = _send(client, shop, _paid(w, "WH-C4", "13800000094", {"marketing": True}), "msg_consent_4")
    assert other.status_code == 201, other.text
    assert [c["customer_ref_masked"] for c in _book(client, operator, w.seller)] == ["138****0094"]
