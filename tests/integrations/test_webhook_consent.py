"""Marketing consent sent with an ``order.paid`` webhook is recorded as ``POST /api/v1/orders`` records
it: the shopper joins the attributed member's book once however often the event is redelivered, a
consent dated ahead is refused with nothing written (the replay receipt included), and a shopper who
opted out is left out. A redelivery of an order first taken without consent records the consent it
carries once; one of an order first taken with consent, or without consent, changes nothing."""

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


def _paid(
    w: World, external_id: str, customer: str, consent: dict[str, Any] | None, *, at: datetime | None = None
) -> bytes:
    paid_at = at or utcnow() - timedelta(minutes=5)
    data = order_body(w, external_id, (SKU, 1, 10_000), at=paid_at, customer=customer)
    data.pop("program_id")
    if consent is not None:
        data["consent"] = consent
    return json.dumps({"type": "order.paid", "data": data}).encode()


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


def _history(
    client: TestClient, operator: dict[str, str], member_id: int
) -> list[tuple[bool, str, datetime]]:
    book = _book(client, operator, member_id)
    assert [c["customer_ref_masked"] for c in book] == ["138****0095"]
    consents = client.get(f"/api/v1/customers/{book[0]['id']}/consents", headers=operator).json()
    return [(c["granted"], c["source"], datetime.fromisoformat(c["at"])) for c in consents["history"]]


def test_a_redelivery_carrying_consent_records_it_once(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w = build(client, operator, factory)
    shop = _integration(client, operator, w)
    paid = utcnow() - timedelta(minutes=10)
    first = _send(client, shop, _paid(w, "WH-C5", "13800000095", None, at=paid), "msg_consent_5")
    assert first.status_code == 201, first.text
    assert _book(client, operator, w.seller) == []
    # The shop's retry carries the box the shopper ticked (another message: the payload changed).
    given = (utcnow() - timedelta(minutes=9)).replace(microsecond=0)
    ticked = _paid(
        w, "WH-C5", "13800000095", {"marketing": True, "at": given.isoformat(), "source": "checkout"}, at=paid
    )
    retried = _send(client, shop, ticked, "msg_consent_5b")
    assert (retried.status_code, retried.json()) == (200, first.json())
    assert _history(client, operator, w.seller) == [(True, "checkout", given)]
    settled = row_counts(factory)
    again = _send(client, shop, ticked, "msg_consent_5c")
    bare = _send(client, shop, _paid(w, "WH-C5", "13800000095", None, at=paid), "msg_consent_5d")
    refusal = _send(
        client, shop, _paid(w, "WH-C5", "13800000095", {"marketing": False}, at=paid), "msg_consent_5e"
    )
    assert [r.status_code for r in (again, bare, refusal)] == [200, 200, 200]
    after = row_counts(factory)
    assert after.pop("webhook_receipts") == settled.pop("webhook_receipts") + 3  # the receipts only
    assert after == settled
    assert _history(client, operator, w.seller) == [(True, "checkout", given)]


def test_a_redelivery_of_an_order_taken_with_consent_changes_nothing(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w = build(client, operator, factory)
    shop = _integration(client, operator, w)
    paid = utcnow() - timedelta(minutes=10)
    given = (utcnow() - timedelta(minutes=9)).replace(microsecond=0)
    consent = {"marketing": True, "at": given.isoformat(), "source": "checkout"}
    first = _send(client, shop, _paid(w, "WH-C6", "13800000095", consent, at=paid), "msg_consent_6")
    assert first.status_code == 201, first.text
    customer = _book(client, operator, w.seller)[0]
    withdrawn = client.post(
        f"/api/v1/customers/{customer['id']}/consents/withdrawal", json={}, headers=operator
    )
    assert withdrawn.status_code == 200, withdrawn.text
    settled = row_counts(factory)
    restated = {"marketing": True, "source": "app"}
    late = _send(client, shop, _paid(w, "WH-C6", "13800000095", restated, at=paid), "msg_consent_6b")
    assert (late.status_code, late.json()["id"]) == (200, first.json()["id"])
    after = row_counts(factory)
    assert after.pop("webhook_receipts") == settled.pop("webhook_receipts") + 1
    assert after == settled
    assert _history(client, operator, w.seller) == [(True, "checkout", given)]
    consents = client.get(f"/api/v1/customers/{customer['id']}/consents", headers=operator).json()
    assert consents["marketing"] is False  # the withdrawal stands


def test_a_redelivery_with_consent_dated_ahead_is_refused_and_changes_nothing(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w = build(client, operator, factory)
    shop = _integration(client, operator, w)
    paid = utcnow() - timedelta(minutes=10)
    first = _send(client, shop, _paid(w, "WH-C7", "13800000095", None, at=paid), "msg_consent_7")
    assert first.status_code == 201, first.text
    before = row_counts(factory)
    ahead = {"marketing": True, "at": (utcnow() + timedelta(days=1)).isoformat()}
    refused = _send(client, shop, _paid(w, "WH-C7", "13800000095", ahead, at=paid), "msg_consent_7b")
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert (refused.json()["code"], refused.json()["field"]) == ("time_in_future", "consent.at")
    assert row_counts(factory) == before  # no customer, no consent, no replay receipt
    assert _book(client, operator, w.seller) == []
