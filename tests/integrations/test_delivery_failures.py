"""An integration's receiver URL may carry a token in its query: a receiver that refuses and echoes the
call keeps that token out of the attempt log and the API's ``last_error``, as it keeps a shopper's phone
number the receiver echoed back, and a URL that cannot be sent
to is refused when given, and one stored before that is a failed attempt of its delivery, never an error out of the delivery job."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from neigou.integrations import events
from neigou.integrations.models import DeliveryStatus, Integration, WebhookAttempt, WebhookDelivery
from neigou.kit.db import transaction
from neigou.kit.logging import REDACTED
from tests.echo_server import echo_server
from tests.feed.conftest import app_sealer, app_settings
from tests.orders.builders import World, build, order_body

TOKEN = "rcv7t0k3nf0rh00ks"
KEPT = 500  # characters of a receiver's answer kept (the detail columns' length)
# Padding that puts the token's first characters at the end of the detail kept.
AT_THE_CUT = KEPT - len(f"nobody answers at /hooks?token={TOKEN}") + len(TOKEN) - 4


def _integration(client: TestClient, operator: dict[str, str], w: World, url: str) -> dict[str, Any]:
    body = {"name": "品牌商城", "outbound_url": url}
    response = client.post(f"/api/v1/programs/{w.program_id}/integrations", json=body, headers=operator)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def _attempts(factory: sessionmaker[Session]) -> list[tuple[bool, str]]:
    with factory() as session:
        return [(a.ok, a.detail or "") for a in session.scalars(select(WebhookAttempt))]


def test_an_echoed_receiver_token_is_kept_nowhere(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w = build(client, operator, factory)
    with echo_server(pad=AT_THE_CUT) as echo:
        shop = _integration(client, operator, w, f"{echo.base}/hooks?token={TOKEN}")
        assert (
            client.post("/api/v1/orders", json=order_body(w, "ECHO-1"), headers=operator).status_code == 201
        )
    assert echo.paths == [f"/hooks?token={TOKEN}"]
    [(ok, detail)] = _attempts(factory)
    assert not ok
    # as the logs write it: the token's marker cut, never the token
    assert detail == ("x" * AT_THE_CUT + f"nobody answers at /hooks?token={REDACTED}")[:KEPT]
    listed = client.get(f"/api/v1/integrations/{shop['id']}/deliveries", headers=operator)
    assert listed.json()[0]["last_error"] == detail
    assert TOKEN[:4] not in detail + listed.text


def test_a_phone_number_the_receiver_echoes_is_kept_nowhere(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w = build(client, operator, factory)
    shop = _integration(client, operator, w, "http://127.0.0.1:9/hooks")  # nobody listens: a failed attempt
    assert client.post("/api/v1/orders", json=order_body(w, "PHONE-1"), headers=operator).status_code == 201
    answer = httpx.Response(422, text='{"error": "unknown buyer", "mobile": "+86 138 1234 5678"}')
    with transaction(factory) as session:
        delivery = session.scalars(select(WebhookDelivery)).one()
        at = delivery.next_attempt_at
        assert at is not None
        ok = events.attempt(
            session,
            delivery,
            at=at,
            settings=app_settings(client),
            transport=httpx.MockTransport(lambda _: answer),
        )
        assert not ok
    with factory() as session:
        detail = session.scalars(select(WebhookAttempt.detail).where(WebhookAttempt.number == 2)).one()
    assert detail == '{"error": "unknown buyer", "mobile": "[redacted]"}'
    listed = client.get(f"/api/v1/integrations/{shop['id']}/deliveries", headers=operator)
    assert listed.json()[0]["last_error"] == detail


def test_a_receiver_url_that_cannot_be_sent_to_is_refused_and_one_stored_before_fails_the_attempt(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w = build(client, operator, factory)
    bad = f"http://127.0.0.1:0x/hooks?token={TOKEN}"
    refused = client.post(
        f"/api/v1/programs/{w.program_id}/integrations",
        json={"name": "品牌商城", "outbound_url": bad},
        headers=operator,
    )
    assert (refused.status_code, refused.json()["code"]) == (422, "unsendable_url")
    assert refused.json()["field"] == "outbound_url"
    assert TOKEN not in refused.text
    # One stored before URLs were checked on input: its attempt fails, the job does not.
    shop = _integration(client, operator, w, "http://127.0.0.1:9/hooks")
    with transaction(factory) as session:
        session.execute(
            update(Integration)
            .where(Integration.id == shop["id"])
            .values(outbound_url_sealed=app_sealer(client).seal(bad))
        )
    assert client.post("/api/v1/orders", json=order_body(w, "BAD-1"), headers=operator).status_code == 201
    [(ok, detail)] = _attempts(factory)
    assert (ok, detail.split(":")[0]) == (False, "InvalidURL")
    assert TOKEN not in detail
    with factory() as session:
        delivery = session.scalars(select(WebhookDelivery)).one()
        assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 1)
        assert delivery.next_attempt_at is not None
