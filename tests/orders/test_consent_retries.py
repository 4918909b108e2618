"""Marketing consent sent with a retry of ``POST /api/v1/orders`` (``orders.consent``): a retry of an
order first taken without consent records the consent it carries once; a retry without consent, with a
refusal, or of an order first taken with consent changes nothing, nor does one whose shopper already has
a decision in the book (a withdrawal stands) or opted out; a consent dated ahead is refused with nothing
written; consent is not one of the terms a retry must repeat."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.clock import utcnow
from tests.conftest import row_counts
from tests.orders.builders import World, build, order_body, post_order

SHOPPER = "13800000161"
MASKED = "138****0161"


def _body(w: World, external_id: str, **consent: Any) -> dict[str, Any]:
    body = order_body(w, external_id, customer=SHOPPER)
    return {**body, "consent": consent} if consent else body


def _consent(minutes_ago: int, source: str) -> dict[str, Any]:
    at = (utcnow() - timedelta(minutes=minutes_ago)).replace(microsecond=0)
    return {"marketing": True, "at": at.isoformat(), "source": source}


def _customer(client: TestClient, operator: dict[str, str], w: World) -> dict[str, Any] | None:
    response = client.get(f"/api/v1/members/{w.seller}/customers", headers=operator)
    assert response.status_code == 200, response.text
    found = [c for c in response.json() if c["customer_ref_masked"] == MASKED]
    return found[0] if found else None


def _history(
    client: TestClient, operator: dict[str, str], w: World
) -> list[tuple[bool, str, datetime, bool]] | None:
    """The shopper's marketing decisions in the seller's book, newest first: (granted, source, at,
    withdrawn); None when the book does not hold them."""
    customer = _customer(client, operator, w)
    if customer is None:
        return None
    response = client.get(f"/api/v1/customers/{customer['id']}/consents", headers=operator)
    assert response.status_code == 200, response.text
    return [
        (c["granted"], c["source"], datetime.fromisoformat(c["at"]), c["withdrawn_at"] is not None)
        for c in response.json()["history"]
    ]


def _grown(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {table: after[table] - count for table, count in before.items() if after[table] != count}


def test_a_retry_carrying_consent_records_it_once(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w = build(client, operator, factory)
    first = post_order(client, operator, _body(w, "CR-1"))
    assert _history(client, operator, w) is None
    taken = row_counts(factory)
    ticked = _consent(8, "checkout")
    again = post_order(client, operator, _body(w, "CR-1", **ticked), status=200)
    assert again == first  # the stored order, unchanged
    assert _grown(taken, row_counts(factory)) == {"customers": 1, "customer_consents": 1}
    given = datetime.fromisoformat(ticked["at"])
    assert _history(client, operator, w) == [(True, "checkout", given, False)]
    assert _customer(client, operator, w)["source"] == "order"  # type: ignore[index]
    recorded = row_counts(factory)
    # Retried again, with the consent as first sent or restated: recorded once.
    post_order(client, operator, _body(w, "CR-1", **ticked), status=200)
    post_order(client, operator, _body(w, "CR-1", **_consent(2, "app")), status=200)
    assert row_counts(factory) == recorded
    assert _history(client, operator, w) == [(True, "checkout", given, False)]


def test_a_retry_without_consent_or_with_a_refusal_changes_nothing(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w = build(client, operator, factory)
    post_order(client, operator, _body(w, "CR-2"))
    taken = row_counts(factory)
    post_order(client, operator, _body(w, "CR-2"), status=200)
    post_order(client, operator, _body(w, "CR-2", marketing=False), status=200)
    post_order(client, operator, _body(w, "CR-2", marketing=False, source="checkout"), status=200)
    assert row_counts(factory) == taken
    assert _history(client, operator, w) is None


def test_a_retry_of_an_order_taken_with_consent_changes_nothing_even_after_a_withdrawal(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w = build(client, operator, factory)
    ticked = _consent(9, "checkout")
    post_order(client, operator, _body(w, "CR-3", **ticked))
    given = datetime.fromisoformat(ticked["at"])
    assert _history(client, operator, w) == [(True, "checkout", given, False)]
    taken = row_counts(factory)
    post_order(client, operator, _body(w, "CR-3", **_consent(1, "app")), status=200)
    post_order(client, operator, _body(w, "CR-3", marketing=False), status=200)  # no withdrawal either
    post_order(client, operator, _body(w, "CR-3"), status=200)
    assert row_counts(factory) == taken
    assert _history(client, operator, w) == [(True, "checkout", given, False)]
    customer = _customer(client, operator, w)
    assert customer is not None
    withdrawn = client.post(
        f"/api/v1/customers/{customer['id']}/consents/withdrawal", json={}, headers=operator
    )
    assert withdrawn.status_code == 200, withdrawn.text
    settled = row_counts(factory)
    # A late retry carrying the checkout's tick never undoes the withdrawal.
    post_order(client, operator, _body(w, "CR-3", **ticked), status=200)
    post_order(client, operator, _body(w, "CR-3", **_consent(0, "app")), status=200)
    assert row_counts(factory) == settled
    assert _history(client, operator, w) == [(True, "checkout", given, True)]


def test_a_retry_fills_a_blank_in_the_book_but_leaves_a_decision_standing(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w = build(client, operator, factory)
    added = client.post(
        f"/api/v1/members/{w.seller}/customers", json={"customer_ref": SHOPPER}, headers=operator
    )
    assert added.status_code == 201, added.text
    post_order(client, operator, _body(w, "CR-4"))
    assert _history(client, operator, w) == []  # in the book, no decision yet
    taken = row_counts(factory)
    ticked = _consent(5, "checkout")
    post_order(client, operator, _body(w, "CR-4", **ticked), status=200)
    assert _grown(taken, row_counts(factory)) == {"customer_consents": 1}
    assert _history(client, operator, w) == [(True, "checkout", datetime.fromisoformat(ticked["at"]), False)]


def test_a_refusal_in_the_book_stands_against_a_retry(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w = build(client, operator, factory)
    added = client.post(
        f"/api/v1/members/{w.seller}/customers",
        json={"customer_ref": SHOPPER, "consent": {"marketing": False, "source": "store_form"}},
        headers=operator,
    )
    assert added.status_code == 201, added.text
    post_order(client, operator, _body(w, "CR-5"))
    before = _history(client, operator, w)
    assert [(granted, source) for granted, source, _, _ in before or []] == [(False, "store_form")]
    taken = row_counts(factory)
    post_order(client, operator, _body(w, "CR-5", **_consent(5, "checkout")), status=200)
    assert row_counts(factory) == taken
    assert _history(client, operator, w) == before


def test_an_opted_out_shopper_is_not_added_by_a_retry(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w = build(client, operator, factory)
    post_order(client, operator, _body(w, "CR-6"))  # then the shopper opts out: the order's hash erased
    opted = client.post(
        "/api/v1/privacy/opt-outs",
        json={"customer_ref": SHOPPER, "request_id": "cr-gone-1"},
        headers=operator,
    )
    assert opted.status_code == 201, opted.text
    erased = row_counts(factory)
    retried = post_order(client, operator, _body(w, "CR-6", **_consent(5, "checkout")), status=200)
    assert retried["member_id"] == w.seller
    # An order taken after the opt-out keeps the hash; its retry is refused by the suppression list.
    post_order(client, operator, _body(w, "CR-7"))
    after = row_counts(factory)
    post_order(client, operator, _body(w, "CR-7", **_consent(5, "checkout")), status=200)
    assert row_counts(factory) == after
    assert not {"customers", "customer_consents"} & _grown(erased, after).keys()  # only the new order grew
    assert _history(client, operator, w) is None


def test_a_retry_with_consent_dated_ahead_is_refused_and_writes_nothing(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w = build(client, operator, factory)
    post_order(client, operator, _body(w, "CR-8"))
    taken = row_counts(factory)
    ahead = (utcnow() + timedelta(days=1)).isoformat()
    refused = client.post("/api/v1/orders", json=_body(w, "CR-8", marketing=True, at=ahead), headers=operator)
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert (refused.json()["code"], refused.json()["field"]) == ("time_in_future", "consent.at")
    assert row_counts(factory) == taken
    assert _history(client, operator, w) is None


def test_consent_does_not_excuse_other_terms(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w = build(client, operator, factory)
    post_order(client, operator, _body(w, "CR-9"))
    taken = row_counts(factory)
    other = {**_body(w, "CR-9", **_consent(5, "checkout")), "customer_ref": "13800000162"}
    refused = client.post("/api/v1/orders", json=other, headers=operator)
    assert (refused.status_code, refused.json()["code"]) == (409, "external_id_reused")
    assert row_counts(factory) == taken
