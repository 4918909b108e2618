"""Signed webhooks: orders in from the shop (signature, clock window, replays), commission events
out to a real HTTP receiver on 127.0.0.1, retried with backoff and logged."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.integrations import events, signing
from neigou.integrations.models import DeliveryStatus, WebhookAttempt, WebhookDelivery
from neigou.kit.clock import utcnow
from neigou.kit.db import transaction
from neigou.kit.settings import use_settings
from tests.conftest import row_counts
from tests.feed.conftest import app_settings
from tests.orders.builders import SKU, World, build, order_body

# the robots and receivers these tests send to listen on 127.0.0.1
pytestmark = pytest.mark.local_receivers


class Receiver:
    """An HTTP server that records what it is sent and answers with the status it is told."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.status = 200
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                outer.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(outer.status)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *_args: Any) -> None:
                return None

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def _integration(
    client: TestClient, operator: dict[str, str], w: World, url: str | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"name": "品牌商城", "outbound_url": url}
    response = client.post(f"/api/v1/programs/{w.program_id}/integrations", json=body, headers=operator)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def _send(
    client: TestClient,
    integration: dict[str, Any],
    envelope: dict[str, Any],
    *,
    secret: str | None = None,
    skew: timedelta = timedelta(0),
    raw: bytes | None = None,
) -> Any:
    body = raw if raw is not None else json.dumps(envelope).encode()
    headers = signing.headers(secret or integration["inbound_secret"], utcnow() - skew, body)
    return client.post(
        f"/webhooks/v1/integrations/{integration['id']}",
        content=body,
        headers={**headers, "content-type": "application/json"},
    )


def test_signed_order_webhooks_are_applied(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w = build(client, operator, factory, max_levels=2)
    shop = _integration(client, operator, w)
    paid = {k: v for k, v in order_body(w, "WH-1", (SKU, 1, 10_000)).items() if k != "program_id"}
    first_sent = utcnow()
    taken = _send(client, shop, {"type": "order.paid", "data": paid})
    assert taken.status_code == 201, taken.text
    assert [c["amount_fen"] for c in taken.json()["commissions"]] == [400, 100]
    done = _send(client, shop, {"type": "order.completed", "data": {"external_id": "WH-1"}})
    assert done.json()["commission_state"] == "frozen"
    refund = _send(
        client,
        shop,
        {"type": "order.refunded", "data": {"external_id": "WH-1", "refund_id": "R", "amount_fen": 5000}},
    )
    assert (refund.status_code, refund.json()["reversed_fen"]) == (201, 250)
    # Redelivered, signed a second before the first delivery (however long the steps above took), so it
    # is a new delivery, not a replay of the first's signature.
    again = _send(
        client, shop, {"type": "order.paid", "data": paid}, skew=utcnow() - first_sent + timedelta(seconds=1)
    )
    assert (again.status_code, again.json()["id"]) == (200, taken.json()["id"])


def test_signed_events_dated_ahead_are_refused_and_change_nothing(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    """The webhook's body is not in the OpenAPI schema (tests/test_future_times.py walks the schema):
    its paid, completion and refund times are refused ahead here, 422 time_in_future, nothing written."""
    w = build(client, operator, factory)
    shop = _integration(client, operator, w)
    paid = {k: v for k, v in order_body(w, "WH-F", (SKU, 1, 10_000)).items() if k != "program_id"}
    assert _send(client, shop, {"type": "order.paid", "data": paid}).status_code == 201
    ahead = (utcnow() + timedelta(days=8)).isoformat()
    refund = {"external_id": "WH-F", "refund_id": "R-F", "amount_fen": 100, "at": ahead}
    before = row_counts(factory)
    for envelope, field in (
        ({"type": "order.paid", "data": {**paid, "external_id": "WH-F2", "paid_at": ahead}}, "paid_at"),
        ({"type": "order.completed", "data": {"external_id": "WH-F", "at": ahead}}, "at"),
        ({"type": "order.refunded", "data": refund}, "at"),
    ):
        refused = _send(client, shop, envelope)
        assert refused.status_code == 422, refused.text
        assert (refused.json()["code"], refused.json()["field"]) == ("time_in_future", field)
    assert row_counts(factory) == before


def test_a_nul_in_a_signed_order_is_refused_alike_on_both_databases(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    """SQLite stored an order whose external_id held a NUL (201), PostgreSQL refused it (422)."""
    w = build(client, operator, factory)
    shop = _integration(client, operator, w)
    paid = {k: v for k, v in order_body(w, "WH-N", (SKU, 1, 10_000)).items() if k != "program_id"}
    before = row_counts(factory)
    for data in ({**paid, "external_id": "WH\x00N"}, {**paid, "customer_ref": "a\x00b"}):
        refused = _send(client, shop, {"type": "order.paid", "data": data})
        assert (refused.status_code, refused.json()["code"]) == (422, "nul_character"), refused.text
    assert row_counts(factory) == before


def test_signed_events_dated_by_a_number_are_refused_and_change_nothing(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    """Unix seconds or milliseconds? A paid, completion or refund time given as a number is refused as
    the API refuses it (422 numeric_datetime), never read as seconds."""
    w = build(client, operator, factory)
    shop = _integration(client, operator, w)
    paid = {k: v for k, v in order_body(w, "WH-U", (SKU, 1, 10_000)).items() if k != "program_id"}
    assert _send(client, shop, {"type": "order.paid", "data": paid}).status_code == 201
    before = row_counts(factory)
    for envelope in (
        {"type": "order.paid", "data": {**paid, "external_id": "WH-U2", "paid_at": 1733400000}},
        {"type": "order.completed", "data": {"external_id": "WH-U", "at": "1733400000000"}},
        {
            "type": "order.refunded",
            "data": {"external_id": "WH-U", "refund_id": "R", "amount_fen": 1, "at": 1.5},
        },
    ):
        refused = _send(client, shop, envelope)
        assert (refused.status_code, refused.json()["code"]) == (422, "numeric_datetime"), refused.text
    assert row_counts(factory) == before


def test_signed_events_dated_outside_the_products_days_are_refused_as_the_api_refuses_them(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    """A paid, completion or refund time before 1970 (UTC) is 422 date_out_of_range from the API; the
    webhook whose data is the same body answered validation_error, another code for one refusal."""
    w = build(client, operator, factory)
    shop = _integration(client, operator, w)
    paid = {k: v for k, v in order_body(w, "WH-R", (SKU, 1, 10_000)).items() if k != "program_id"}
    assert _send(client, shop, {"type": "order.paid", "data": paid}).status_code == 201
    early = "1969-12-31T00:00:00Z"
    order = {**paid, "external_id": "WH-R2", "paid_at": early}
    refund = {"refund_id": "R-R", "amount_fen": 100, "at": early}
    before = row_counts(factory)
    for kind, data, path, body in (
        ("order.paid", order, "/api/v1/orders", {**order, "program_id": w.program_id}),
        (
            "order.completed",
            {"external_id": "WH-R", "at": early},
            "/api/v1/orders/WH-R/complete",
            {"at": early},
        ),
        ("order.refunded", {"external_id": "WH-R", **refund}, "/api/v1/orders/WH-R/refunds", refund),
    ):
        api = client.post(path, json=body, headers=operator)
        assert (api.status_code, api.json()["code"]) == (422, "date_out_of_range"), api.text
        refused = _send(client, shop, {"type": kind, "data": data})
        assert (refused.status_code, refused.json()["code"]) == (422, "date_out_of_range"), refused.text
    assert row_counts(factory) == before


def test_bad_signature_stale_timestamp_and_replay_are_refused(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w = build(client, operator, factory)
    shop = _integration(client, operator, w)
    envelope = {
        "type": "order.paid",
        "data": {k: v for k, v in order_body(w, "WH-2").items() if k != "program_id"},
    }
    before = row_counts(factory)
    wrong = _send(client, shop, envelope, secret="whsec_not-the-secret")
    assert (wrong.status_code, wrong.json()["code"]) == (401, "bad_signature")
    stale = _send(client, shop, envelope, skew=timedelta(seconds=signing.TOLERANCE_SECONDS + 5))
    assert (stale.status_code, stale.json()["code"]) == (401, "stale_timestamp")
    unsigned = client.post(f"/webhooks/v1/integrations/{shop['id']}", json=envelope)
    assert (unsigned.status_code, unsigned.json()["code"]) == (401, "missing_signature")
    raw = json.dumps(envelope).encode()
    huge = {**signing.headers(shop["inbound_secret"], utcnow(), raw), signing.TIMESTAMP_HEADER: "9" * 400}
    far_future = client.post(f"/webhooks/v1/integrations/{shop['id']}", content=raw, headers=huge)
    assert (far_future.status_code, far_future.json()["code"]) == (401, "stale_timestamp")
    assert row_counts(factory) == before
    body = json.dumps(envelope).encode()
    headers = {**signing.headers(shop["inbound_secret"], utcnow(), body), "content-type": "application/json"}
    first = client.post(f"/webhooks/v1/integrations/{shop['id']}", content=body, headers=headers)
    assert first.status_code == 201, first.text
    replay = client.post(f"/webhooks/v1/integrations/{shop['id']}", content=body, headers=headers)
    assert (replay.status_code, replay.json()["code"]) == (409, "webhook_replayed")


def test_commission_events_are_signed_retried_and_logged(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], receiver: Receiver
) -> None:
    w = build(client, operator, factory, max_levels=2)
    shop = _integration(client, operator, w, receiver.url)
    client.post("/api/v1/orders", json=order_body(w, "EV-1"), headers=operator)
    assert len(receiver.received) == 1
    headers, body = receiver.received[0]
    assert headers["x-neigou-event"] == "commission.earned"
    assert (
        signing.verify(
            shop["outbound_secret"],
            timestamp=headers["x-neigou-timestamp"],
            signed=headers["x-neigou-signature"],
            body=body,
            now=utcnow(),
        )[0]
        == "ok"
    )
    event = json.loads(body)
    assert [(c["member_id"], c["amount_fen"]) for c in event["data"]["commissions"]] == [
        (w.seller, 400),
        (w.owner, 100),
    ]

    receiver.status = 503
    client.post(
        "/api/v1/orders/EV-1/refunds", json={"refund_id": "R", "amount_fen": 10_000}, headers=operator
    )
    assert len(receiver.received) == 2
    with factory() as session:
        failed = session.scalar(
            select(WebhookDelivery).where(WebhookDelivery.event_type == "commission.reversed")
        )
        assert failed is not None
        assert failed.status is DeliveryStatus.PENDING
        assert failed.attempts == 1
        assert failed.last_http_status == 503
        assert failed.next_attempt_at is not None
        due = failed.next_attempt_at
    with transaction(factory) as session:  # not yet due: nothing is sent
        use_settings(session, app_settings(client))
        events.retry_due(session, {}, due - timedelta(seconds=1))
    assert len(receiver.received) == 2
    receiver.status = 200
    with transaction(factory) as session:
        use_settings(session, app_settings(client))
        events.retry_due(session, {}, due)
    assert len(receiver.received) == 3
    with factory() as session:
        delivered = session.get(WebhookDelivery, failed.id)
        assert delivered is not None
        assert delivered.status is DeliveryStatus.DELIVERED
        assert delivered.attempts == 2
        log = session.scalars(select(WebhookAttempt).where(WebhookAttempt.delivery_id == failed.id)).all()
        assert [(a.number, a.http_status, a.ok) for a in log] == [(1, 503, False), (2, 200, True)]
    listed = client.get(f"/api/v1/integrations/{shop['id']}/deliveries", headers=operator).json()
    assert [d["status"] for d in listed] == ["delivered", "delivered"]
    assert events.backoff(1) == timedelta(seconds=30)
    assert events.backoff(3) == timedelta(minutes=8)


def test_retries_give_up_after_the_last_attempt(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], receiver: Receiver
) -> None:
    w = build(client, operator, factory)
    _integration(client, operator, w, receiver.url)
    receiver.status = 500
    client.post("/api/v1/orders", json=order_body(w, "EV-2"), headers=operator)
    at = utcnow()
    for _ in range(events.MAX_ATTEMPTS):
        at += timedelta(days=1)
        with transaction(factory) as session:
            use_settings(session, app_settings(client))
            events.retry_due(session, {}, at)
    with factory() as session:
        delivery = session.scalars(select(WebhookDelivery)).one()
        assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, events.MAX_ATTEMPTS)
    assert len(receiver.received) == events.MAX_ATTEMPTS
