"""A failed delivery keeps and logs only a fixed summary (``HTTP 500``, the error's class), never the
receiver's answer: a receiver that refuses and echoes the call's URL (a token in its query) or the
payload (a customer's name and phone) leaves none of it in the attempt log, the API's ``last_error``
or the log lines, and a URL that cannot be sent
to is refused when given, and one stored before that is a failed attempt of its delivery, never an error out of the delivery job."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from neigou.integrations import events
from neigou.integrations.models import DeliveryStatus, Integration, WebhookAttempt, WebhookDelivery
from neigou.kit.db import transaction
from tests.echo_server import echo_server
from tests.feed.conftest import app_sealer, app_settings
from tests.orders.builders import World, build, order_body

# the robots and receivers these tests send to listen on 127.0.0.1
pytestmark = pytest.mark.local_receivers

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
    assert detail == "HTTP 500"  # the status only, never the answer
    listed = client.get(f"/api/v1/integrations/{shop['id']}/deliveries", headers=operator)
    assert listed.json()[0]["last_error"] == detail
    assert TOKEN[:4] not in detail + listed.text


def test_a_name_and_phone_the_receiver_echoes_are_kept_and_logged_nowhere(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    w = build(client, operator, factory)
    shop = _integration(client, operator, w, "http://127.0.0.1:9/hooks")  # nobody listens: a failed attempt
    assert client.post("/api/v1/orders", json=order_body(w, "PHONE-1"), headers=operator).status_code == 201
    caplog.set_level(logging.DEBUG)
    echoed = (
        '{"error": "unknown buyer", "name": "王小明", "mobile": "13812345678", "tel": "+86 138 1234 5678"}'
    )
    answer = httpx.Response(500, text=echoed)
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
        delivery = session.scalars(select(WebhookDelivery)).one()
        assert (delivery.last_http_status, delivery.last_error) == (500, "HTTP 500")
    assert detail == "HTTP 500"
    listed = client.get(f"/api/v1/integrations/{shop['id']}/deliveries", headers=operator)
    assert listed.json()[0]["last_error"] == "HTTP 500"
    captured = capsys.readouterr()
    logged = captured.out + captured.err + caplog.text
    assert "webhook.refused" in logged
    assert "HTTP 500" in logged
    for text in (detail, listed.text, logged):
        for value in ("王小明", "13812345678", "1234 5678", "unknown buyer"):
            assert value not in text


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
