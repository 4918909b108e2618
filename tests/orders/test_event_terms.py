"""The event an order was sold in is one of its terms: the same external id naming another event (or
none where it named one) is 409 ``external_id_reused``, through the API and the webhooks, never a 200
answering the first order (whose event's board and report would never count the sale)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.integrations import signing
from neigou.kit.clock import utcnow
from tests.conftest import row_counts
from tests.orders.builders import SKU, build, order_body, post_order


def _event(client: TestClient, operator: dict[str, str], program_id: int, name: str = "内购会") -> int:
    now = utcnow()
    body = {
        "program_id": program_id,
        "name": name,
        "starts_at": (now - timedelta(hours=1)).isoformat(),
        "ends_at": (now + timedelta(days=1)).isoformat(),
        "guests_per_employee": 2,
        "items": [{"sku": SKU, "price_fen": 9900, "stock": 5, "per_person_limit": 2}],
    }
    response = client.post("/api/v1/events", json=body, headers=operator)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def _reused(response: Any) -> None:
    assert (response.status_code, response.json()["code"]) == (409, "external_id_reused"), response.text


def test_a_retry_naming_another_event_is_refused_not_answered_with_the_first_order(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w = build(client, operator, factory, max_levels=2)
    event_id = _event(client, operator, w.program_id)
    body = order_body(w, "EV-1", (SKU, 1, 10_000))
    first = post_order(client, operator, body)  # sold outside the event
    before = row_counts(factory)
    _reused(client.post("/api/v1/orders", json={**body, "event_id": event_id}, headers=operator))
    assert row_counts(factory) == before
    assert post_order(client, operator, body, status=200)["id"] == first["id"]  # the same terms: a retry


def test_an_event_sale_retried_without_its_event_or_with_another_is_refused(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w = build(client, operator, factory, max_levels=2)
    event_id = _event(client, operator, w.program_id)
    other_id = _event(client, operator, w.program_id, name="第二场")
    body = {**order_body(w, "EV-2", (SKU, 1, 10_000)), "event_id": event_id}
    first = post_order(client, operator, body)
    before = row_counts(factory)
    _reused(client.post("/api/v1/orders", json={**body, "event_id": None}, headers=operator))
    _reused(client.post("/api/v1/orders", json={**body, "event_id": other_id}, headers=operator))
    assert row_counts(factory) == before
    assert post_order(client, operator, body, status=200)["id"] == first["id"]


def test_a_webhook_naming_another_event_for_a_stored_order_is_409(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w = build(client, operator, factory, max_levels=2)
    event_id = _event(client, operator, w.program_id)
    shop = client.post(
        f"/api/v1/programs/{w.program_id}/integrations", json={"name": "商城"}, headers=operator
    ).json()
    paid = {k: v for k, v in order_body(w, "EV-3", (SKU, 1, 10_000)).items() if k != "program_id"}

    def send(data: dict[str, Any], seconds_ago: int = 0) -> Any:
        raw = json.dumps({"type": "order.paid", "data": data}).encode()
        headers = signing.headers(shop["inbound_secret"], utcnow() - timedelta(seconds=seconds_ago), raw)
        return client.post(
            f"/webhooks/v1/integrations/{shop['id']}",
            content=raw,
            headers={**headers, "content-type": "application/json"},
        )

    assert send(paid, seconds_ago=30).status_code == 201
    _reused(send({**paid, "event_id": event_id}, seconds_ago=20))
    assert send(paid).status_code == 200  # a redelivery
