"""A shop's webhooks name one order one way: ``order.paid``, ``order.completed`` and ``order.refunded``
read its external id alike (``orders.schemas.ExternalId``: a number as its text, no surrounding spaces),
and a customer reference hiding an invisible mark is refused as the API refuses it."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from neigou.integrations import signing
from neigou.kit.clock import utcnow
from neigou.orders.models import Order
from tests.conftest import row_counts
from tests.orders.builders import PAID_AT, SKU, World, build, order_body


def _shop(client: TestClient, operator: dict[str, str], w: World) -> Any:
    shop = client.post(
        f"/api/v1/programs/{w.program_id}/integrations", json={"name": "商城"}, headers=operator
    )
    assert shop.status_code == 201, shop.text
    sent = iter(range(50, 0, -1))  # each signed a second later than the one before, never the same

    def send(kind: str, data: dict[str, Any]) -> Any:
        raw = json.dumps({"type": kind, "data": data}).encode()
        secret, integration = shop.json()["inbound_secret"], shop.json()["id"]
        headers = signing.headers(secret, utcnow() - timedelta(seconds=next(sent)), raw)
        return client.post(
            f"/webhooks/v1/integrations/{integration}",
            content=raw,
            headers={**headers, "content-type": "application/json"},
        )

    return send


def _paid(w: World, external_id: str, customer: str = "shopper-1") -> dict[str, Any]:
    body = order_body(w, external_id, (SKU, 1, 10_000), customer=customer)
    return {k: v for k, v in body.items() if k != "program_id"}


def test_a_refund_webhook_finds_the_order_its_paid_webhook_stored(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w = build(client, operator, factory, max_levels=2)
    send = _shop(client, operator, w)
    # The shop writes its id with a trailing space (a CHAR column, a spreadsheet): the same in each event.
    taken = send("order.paid", _paid(w, "WH-7 "))
    assert taken.status_code == 201, taken.text
    refund = {"external_id": "WH-7 ", "refund_id": "r-1", "amount_fen": 4_000, "at": PAID_AT.isoformat()}
    refunded = send("order.refunded", refund)
    assert refunded.status_code == 201, refunded.text
    assert refunded.json()["order_id"] == taken.json()["id"]
    completed = send(
        "order.completed", {"external_id": " WH-7", "at": (PAID_AT + timedelta(days=1)).isoformat()}
    )
    assert completed.status_code == 200, completed.text
    assert completed.json()["id"] == taken.json()["id"]
    found = client.get(f"/api/v1/orders/WH-7%20?program_id={w.program_id}", headers=operator)
    assert (found.status_code, found.json()["id"]) == (200, taken.json()["id"])


def test_a_number_as_an_external_id_names_the_same_order_in_each_event(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w = build(client, operator, factory, max_levels=2)
    send = _shop(client, operator, w)
    taken = send("order.paid", {**_paid(w, "x"), "external_id": 7007})
    assert taken.status_code == 201, taken.text
    refund = {"external_id": 7007, "refund_id": 1, "amount_fen": 4_000, "at": PAID_AT.isoformat()}
    refunded = send("order.refunded", refund)
    assert (refunded.status_code, refunded.json()["order_id"]) == (201, taken.json()["id"]), refunded.text


@pytest.mark.parametrize("kind", ["order.completed", "order.refunded"])
def test_a_webhook_naming_no_order_is_422(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], kind: str
) -> None:
    w = build(client, operator, factory, max_levels=2)
    send = _shop(client, operator, w)
    before = row_counts(factory)
    answer = send(
        kind, {"external_id": "   ", "refund_id": "r-1", "amount_fen": 100} if "refund" in kind else {}
    )
    assert (answer.status_code, answer.json()["code"]) == (422, "validation_error"), answer.text
    assert "external_id" in answer.json()["detail"]
    assert row_counts(factory) == before


def test_a_paid_webhook_whose_customer_hides_an_invisible_mark_is_refused(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w = build(client, operator, factory, max_levels=2)
    send = _shop(client, operator, w)
    before = row_counts(factory)
    answer = send("order.paid", _paid(w, "WH-8", customer="oUpF8uMuAJO\u200b_M2pxb1Q9zNjWeS6o"))
    assert (answer.status_code, answer.json()["code"]) == (422, "invalid_customer_ref"), answer.text
    assert "customer_ref" in answer.json()["detail"]
    assert "oUpF8" not in answer.text
    assert row_counts(factory) == before


def test_a_refund_webhook_finds_an_order_stored_with_its_spaces(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    """A JSON-lines file stores an external id with its spaces; the refund naming it as stored finds it
    (looked up as sent, then trimmed), as it did before the webhooks read ids as ``order.paid`` does."""
    w = build(client, operator, factory, max_levels=2)
    send = _shop(client, operator, w)
    taken = send("order.paid", _paid(w, "WH-9"))
    assert taken.status_code == 201, taken.text
    with factory() as session, session.begin():  # as a JSON-lines file stored it, spaces kept
        session.execute(update(Order).where(Order.id == taken.json()["id"]).values(external_id=" WH-9 "))
    refund = {"external_id": " WH-9 ", "refund_id": "r-1", "amount_fen": 4_000, "at": PAID_AT.isoformat()}
    refunded = send("order.refunded", refund)
    assert refunded.status_code == 201, refunded.text
