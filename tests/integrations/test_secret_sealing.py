"""A shop's webhook secrets and its outbound URL (which may carry a token) are credentials: they are
stored sealed with the payee keys, the API, pages and the audit log show the URL's host and path only
and the secrets only in the answer that created them, webhooks still verify and events are still signed
(also after a key rotation), a secret no configured key opens answers the shop 503 with Retry-After and
is logged by name without its value, and migration 0028 seals the values stored before it (and opens
them again on downgrade) on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from alembic import command
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from sqlalchemy import inspect, select, text
from sqlalchemy.orm import Session, sessionmaker
from standardwebhooks import Webhook

from neigou.audit.models import AuditEntry
from neigou.integrations import events, signing
from neigou.integrations.models import DeliveryStatus, Integration, WebhookAttempt, WebhookDelivery
from neigou.kit.clock import utcnow
from neigou.kit.db import transaction
from neigou.kit.sealed import Sealer
from neigou.kit.settings import Settings
from neigou.migrations.runner import alembic_config, upgrade
from tests.feed.conftest import app_sealer, app_settings
from tests.integrations.test_webhooks import Receiver
from tests.migrating import CREATED, PROGRAMS_REVISION, hanging, hanging_off, insert_id, programs_at
from tests.migration_templates import ScratchAt
from tests.orders.builders import SKU, World, build, order_body
from tests.sign_in import console_sign_in

# the robots and receivers these tests send to listen on 127.0.0.1
pytestmark = pytest.mark.local_receivers

TOKEN = "sh0pt0k3n4711"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def _integration(client: TestClient, operator: dict[str, str], w: World, url: str) -> dict[str, Any]:
    response = client.post(
        f"/api/v1/programs/{w.program_id}/integrations",
        json={"name": "品牌商城", "outbound_url": url},
        headers=operator,
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def _stored(factory: sessionmaker[Session], integration_id: int) -> Integration:
    with factory() as session:
        row = session.get(Integration, integration_id)
        assert row is not None
        return row


def _paid(client: TestClient, w: World, shop: dict[str, Any], secret: str, external_id: str) -> Any:
    data = {k: v for k, v in order_body(w, external_id, (SKU, 1, 10_000)).items() if k != "program_id"}
    body = json.dumps({"type": "order.paid", "data": data}).encode()
    return client.post(
        f"/webhooks/v1/integrations/{shop['id']}",
        content=body,
        headers={**signing.headers(secret, utcnow(), body), "content-type": "application/json"},
    )


def test_secrets_and_url_are_stored_sealed_and_shown_masked_and_everything_still_works(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], receiver: Receiver
) -> None:
    w = build(client, operator, factory)
    url = f"{receiver.url}?token={TOKEN}"
    shop = _integration(client, operator, w, url)
    inbound, outbound = shop["inbound_secret"], shop["outbound_secret"]
    assert shop["outbound_url"] == receiver.url + "?…"
    row = _stored(factory, shop["id"])
    sealer = app_sealer(client)
    sealed = (row.inbound_secret_sealed, row.outbound_secret_sealed, row.outbound_url_sealed)
    assert [sealer.unseal(v or "") for v in sealed] == [inbound, outbound, url]
    assert row.outbound_url_masked == receiver.url + "?…"
    listed = client.get(f"/api/v1/programs/{w.program_id}/integrations", headers=operator)
    assert listed.json()[0]["outbound_url"] == receiver.url + "?…"
    for secret in (TOKEN, inbound, outbound, *[v or "" for v in sealed]):
        assert secret not in listed.text
    with factory() as session:
        audited = session.scalars(select(AuditEntry).where(AuditEntry.action == "integration.create")).one()
    assert audited.after is not None
    assert audited.after["outbound_url"] == receiver.url + "?…"
    assert TOKEN not in repr(audited.after)
    console_sign_in(client, factory)
    page = client.get(f"/console/programs/{w.program_id}/settings")
    assert page.status_code == 200
    assert receiver.url in page.text
    assert TOKEN not in page.text
    assert inbound not in page.text
    # The shop's webhook verifies against the opened secret; our event is signed with the outbound one.
    taken = _paid(client, w, shop, inbound, "SEAL-1")
    assert taken.status_code == 201, taken.text
    [(headers, body)] = receiver.received
    assert Webhook(outbound).verify(body, headers)["type"] == "commission.earned"


@contextmanager
def _running_with(client: TestClient, settings: Settings) -> Iterator[None]:
    """The application under test with other settings (other payee keys) for a while."""
    state = client.app.state  # type: ignore[attr-defined]
    before = state.settings
    state.settings = settings
    try:
        yield
    finally:
        state.settings = before


def _attempt_now(
    factory: sessionmaker[Session], settings: Settings
) -> tuple[WebhookDelivery, WebhookAttempt]:
    """The one delivery queued, attempted again once due with ``settings`` (as the retry job would)."""
    with transaction(factory) as session:
        delivery = session.scalars(select(WebhookDelivery)).one()
        due = delivery.next_attempt_at
        assert due is not None
        events.attempt(session, delivery, at=max(due, utcnow()), settings=settings)
        attempt = session.scalars(select(WebhookAttempt).order_by(WebhookAttempt.id.desc())).first()
        assert attempt is not None
        return delivery, attempt


def test_after_a_key_rotation_the_old_key_still_opens_secrets_and_url(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], receiver: Receiver
) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    before = app_settings(client).model_copy(update={"payee_keys": old})
    rotated = app_settings(client).model_copy(update={"payee_keys": f"{new},{old}"})
    w = build(client, operator, factory)
    with _running_with(client, before):
        shop = _integration(client, operator, w, receiver.url)
    assert Sealer([new]).unseal(_stored(factory, shop["id"]).inbound_secret_sealed) is None
    with _running_with(client, rotated):
        taken = _paid(client, w, shop, shop["inbound_secret"], "ROT-1")
    assert taken.status_code == 201, taken.text
    _delivery, attempt = _attempt_now(factory, rotated)
    assert attempt.ok
    headers, body = receiver.received[-1]
    assert Webhook(shop["outbound_secret"]).verify(body, headers)["type"] == "commission.earned"


def test_values_no_configured_key_opens_answer_503_and_fail_the_attempt_without_showing_them(
    *,
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    receiver: Receiver,
    capsys: pytest.CaptureFixture[str],
) -> None:
    gone = app_settings(client).model_copy(update={"payee_keys": Fernet.generate_key().decode()})
    kept = app_settings(client).model_copy(update={"payee_keys": Fernet.generate_key().decode()})
    w = build(client, operator, factory)
    url = f"{receiver.url}?token={TOKEN}"
    with _running_with(client, gone):
        shop = _integration(client, operator, w, url)
    capsys.readouterr()
    with _running_with(client, kept):
        refused = _paid(client, w, shop, shop["inbound_secret"], "LOST-1")
    assert (refused.status_code, refused.json()["code"]) == (503, "webhook_secret_unavailable")
    assert refused.headers["retry-after"] == "300"
    assert refused.headers["content-type"] == "application/problem+json"
    logged = capsys.readouterr()
    said = logged.err + logged.out
    assert "integrations.inbound_secret_unopened" in said
    assert shop["inbound_secret"] not in said
    # An event for the shop (an order entered through the API) cannot be sent: the attempt says why.
    assert client.post("/api/v1/orders", json=order_body(w, "LOST-2"), headers=operator).status_code == 201
    delivery, attempt = _attempt_now(factory, kept)
    assert (attempt.ok, attempt.detail) == (False, events.UNOPENED)
    assert (delivery.status, delivery.last_error) == (DeliveryStatus.PENDING, events.UNOPENED)
    logged = capsys.readouterr()
    said = logged.err + logged.out
    assert "integrations.sealed_value_unopened" in said
    assert "value=outbound_url" in said
    assert TOKEN not in said
    assert shop["outbound_secret"] not in said
    assert receiver.received == []


INBOUND, OUTBOUND = "whsec_aW5ib3VuZC1zZWNyZXQ=", "whsec_b3V0Ym91bmQtc2VjcmV0"
KEPT = {"webhook_deliveries": 1, "webhook_attempts": 1, "webhook_receipts": 1}


def test_migration_0028_seals_stored_values_and_downgrade_opens_them(
    scratch_at: ScratchAt, migration_key: str
) -> None:
    scratch_url = scratch_at(PROGRAMS_REVISION)
    engine, (program,) = programs_at(scratch_url, "0027", "old")
    url = f"https://shop.example/hooks?token={TOKEN}"
    with engine.begin() as conn:
        shop, _ = [
            insert_id(
                conn,
                "integrations",
                program_id=program,
                name=name,
                inbound_secret=INBOUND,
                outbound_url=target,
                outbound_secret=OUTBOUND,
                active=True,
                created_at=CREATED,
            )
            for name, target in (("with", url), ("without", None))
        ]
        # Rows that hang off an integration survive both ways (a table rebuild on SQLite would cascade).
        hanging_off(conn, shop)
    upgrade(scratch_url)
    columns = {c["name"] for c in inspect(engine).get_columns("integrations")}
    assert not {"inbound_secret", "outbound_secret", "outbound_url"} & columns
    query = (
        "SELECT name, inbound_secret_sealed, outbound_secret_sealed, outbound_url_sealed, outbound_url_masked"
        " FROM integrations"
    )
    with engine.connect() as conn:
        sealed = {r[0]: r[1:] for r in conn.execute(text(query)).all()}
    opener = Sealer([migration_key])
    for name, target in (("with", url), ("without", None)):
        inbound, outbound, sealed_url, masked = sealed[name]
        assert INBOUND not in inbound
        assert (opener.unseal(inbound), opener.unseal(outbound)) == (INBOUND, OUTBOUND)
        assert (opener.unseal(sealed_url) if sealed_url else None) == target
        assert masked == ("https://shop.example/hooks?…" if target else None)
    assert hanging(engine) == KEPT
    command.downgrade(alembic_config(scratch_url), "0027")
    assert hanging(engine) == KEPT
    columns = {c["name"] for c in inspect(engine).get_columns("integrations")}
    assert not {"inbound_secret_sealed", "outbound_url_masked"} & columns
    with engine.connect() as conn:
        plain = conn.execute(
            text("SELECT name, inbound_secret, outbound_secret, outbound_url FROM integrations ORDER BY name")
        ).all()
    assert [tuple(r) for r in plain] == [
        ("with", INBOUND, OUTBOUND, url),
        ("without", INBOUND, OUTBOUND, None),
    ]
    upgrade(scratch_url)  # and up again
    with engine.connect() as conn:
        again = conn.execute(
            text("SELECT inbound_secret_sealed FROM integrations WHERE name = 'with'")
        ).scalar_one()
    assert opener.unseal(again) == INBOUND
    engine.dispose()
