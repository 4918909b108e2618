"""Standard Webhooks both ways: commission events a stock ``standardwebhooks`` receiver verifies, and
order webhooks signed by a stock sender; secrets issued before the scheme keep working."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Iterator
from datetime import timedelta
from functools import partial
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker
from standardwebhooks import Webhook, WebhookVerificationError

from neigou.integrations import events, signing, standard
from neigou.integrations.models import Integration, WebhookDelivery
from neigou.kit.clock import not_before_now, utcnow
from neigou.kit.db import transaction
from tests.conftest import row_counts
from tests.feed.conftest import app_sealer, app_settings
from tests.integrations.test_webhooks import Receiver
from tests.orders.builders import SKU, World, build, order_body

# the robots and receivers these tests send to listen on 127.0.0.1
pytestmark = pytest.mark.local_receivers


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def _integration(client: TestClient, operator: dict[str, str], w: World, url: str | None = None) -> Any:
    response = client.post(
        f"/api/v1/programs/{w.program_id}/integrations",
        json={"name": "品牌商城", "outbound_url": url},
        headers=operator,
    )
    assert response.status_code == 201, response.text
    return response.json()


def _legacy_secret() -> str:
    """A secret as integrations were issued before the standard scheme."""
    return f"whsec_{secrets.token_urlsafe(32)}"


def _paid(w: World, external_id: str) -> dict[str, Any]:
    data = {k: v for k, v in order_body(w, external_id, (SKU, 1, 10_000)).items() if k != "program_id"}
    return {"type": "order.paid", "data": data}


def _post(client: TestClient, integration_id: int, body: bytes, headers: dict[str, str]) -> Any:
    return client.post(
        f"/webhooks/v1/integrations/{integration_id}",
        content=body,
        headers={**headers, "content-type": "application/json"},
    )


def _standard(secret: str, message_id: str, body: bytes, *, skew: timedelta = timedelta(0)) -> dict[str, str]:
    """Headers as a stock Standard Webhooks sender makes them."""
    sent = utcnow() - skew
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(sent.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, sent, body.decode()),
    }


def test_new_secrets_are_standard_and_old_ones_convert_to_the_same_key() -> None:
    fresh = standard.new_secret()
    assert fresh.startswith("whsec_")
    assert len(base64.b64decode(fresh.removeprefix("whsec_"), validate=True)) == 32
    assert standard.standard_secret(fresh) == fresh
    old = _legacy_secret()
    converted = standard.standard_secret(old)
    assert converted == "whsec_" + base64.b64encode(old.encode()).decode()
    # The converted secret keys the HMAC with the old secret's bytes, as the first scheme does.
    at = utcnow().replace(microsecond=0)
    signed = Webhook(converted).sign("msg_1", at, '{"a":1}')
    expected = hmac.new(old.encode(), f"msg_1.{int(at.timestamp())}.".encode() + b'{"a":1}', hashlib.sha256)
    assert signed == "v1," + base64.b64encode(expected.digest()).decode()


def test_commission_events_verify_with_the_standardwebhooks_library(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], receiver: Receiver
) -> None:
    w = build(client, operator, factory, max_levels=2)
    shop = _integration(client, operator, w, receiver.url)
    client.post("/api/v1/orders", json=order_body(w, "STD-1"), headers=operator)
    [(headers, body)] = receiver.received
    event = Webhook(shop["outbound_secret"]).verify(body, headers)
    assert (event["type"], headers["webhook-id"]) == ("commission.earned", event["id"])
    assert [(c["member_id"], c["amount_fen"]) for c in event["data"]["commissions"]] == [
        (w.seller, 400),
        (w.owner, 100),
    ]
    assert headers["x-neigou-event"] == "commission.earned"  # the first scheme's headers still come
    assert signing.verify(
        shop["outbound_secret"],
        timestamp=headers["x-neigou-timestamp"],
        signed=headers["x-neigou-signature"],
        body=body,
        now=utcnow(),
    ) == ("ok", headers["x-neigou-signature"].removeprefix("v1="))

    tampered = body.replace(b'"amount_fen":400', b'"amount_fen":401')
    assert tampered != body
    with pytest.raises(WebhookVerificationError):
        Webhook(shop["outbound_secret"]).verify(tampered, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(standard.new_secret()).verify(body, headers)


def test_a_retry_keeps_its_webhook_id_and_a_stale_delivery_fails_verification(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    w = build(client, operator, factory)
    shop = _integration(client, operator, w, receiver.url)
    receiver.status = 503
    client.post("/api/v1/orders", json=order_body(w, "STD-2"), headers=operator)
    receiver.status = 200
    stale_at = utcnow() - timedelta(seconds=signing.TOLERANCE_SECONDS + 60)
    # A send is signed when it goes out: the sender's clock reads the stale time (a clock behind).
    monkeypatch.setattr(events, "not_before_now", partial(not_before_now, now=stale_at))
    with transaction(factory) as session:
        delivery = session.scalars(select(WebhookDelivery)).one()
        delivery.next_attempt_at = stale_at  # the retry is due at the stale time
        assert events.attempt(session, delivery, at=stale_at, settings=app_settings(client))
    (first_headers, _), (headers, body) = receiver.received
    assert headers["webhook-id"] == first_headers["webhook-id"]
    assert headers["webhook-timestamp"] == str(int(stale_at.timestamp()))
    # Signed correctly, but outside the window: a stock receiver refuses it.
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(shop["outbound_secret"]).verify(body, headers)


def test_deliveries_to_a_shop_with_an_old_secret_verify_with_the_converted_secret(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], receiver: Receiver
) -> None:
    w = build(client, operator, factory)
    shop = _integration(client, operator, w, receiver.url)
    old = _legacy_secret()
    with transaction(factory) as session:
        session.execute(
            update(Integration)
            .where(Integration.id == shop["id"])
            .values(outbound_secret_sealed=app_sealer(client).seal(old))
        )
    client.post("/api/v1/orders", json=order_body(w, "STD-3"), headers=operator)
    [(headers, body)] = receiver.received
    converted = "whsec_" + base64.b64encode(old.encode()).decode()
    assert Webhook(converted).verify(body, headers)["type"] == "commission.earned"
    outcome = signing.verify(
        old,
        timestamp=headers["x-neigou-timestamp"],
        signed=headers["x-neigou-signature"],
        body=body,
        now=utcnow(),
    )
    assert outcome[0] == "ok"


def test_standard_order_webhooks_are_applied_once_and_refused_when_wrong(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w = build(client, operator, factory, max_levels=2)
    shop = _integration(client, operator, w)
    secret = shop["inbound_secret"]
    body = json.dumps(_paid(w, "STD-IN-1")).encode()
    before = row_counts(factory)
    refusals = {
        "wrong secret": (_standard(standard.new_secret(), "msg_1", body), "bad_signature"),
        "no id": (
            {k: v for k, v in _standard(secret, "msg_1", body).items() if k != "webhook-id"},
            "missing_signature",
        ),
        "stale": (
            _standard(secret, "msg_1", body, skew=timedelta(seconds=signing.TOLERANCE_SECONDS + 5)),
            "stale_timestamp",
        ),
        "malformed": ({**_standard(secret, "msg_1", body), "webhook-signature": "v1"}, "bad_signature"),
        "other id": ({**_standard(secret, "msg_1", body), "webhook-id": "msg_2"}, "bad_signature"),
    }
    for name, (headers, code) in refusals.items():
        refused = _post(client, shop["id"], body, headers)
        assert (refused.status_code, refused.json()["code"]) == (401, code), name
        assert refused.headers["content-type"] == "application/problem+json", name
    tampered = body.replace(b"10000", b"10001")
    refused = _post(client, shop["id"], tampered, _standard(secret, "msg_1", body))
    assert (refused.status_code, refused.json()["code"]) == (401, "bad_signature")
    assert row_counts(factory) == before

    headers = _standard(secret, "msg_1", body)
    taken = _post(client, shop["id"], body, headers)
    assert taken.status_code == 201, taken.text
    assert [c["amount_fen"] for c in taken.json()["commissions"]] == [400, 100]
    replay = _post(client, shop["id"], body, headers)
    assert (replay.status_code, replay.json()["code"]) == (409, "webhook_replayed")
    assert replay.headers["content-type"] == "application/problem+json"
    # The sender's retry of the same message: re-signed later, applied idempotently.
    retried = _post(client, shop["id"], body, _standard(secret, "msg_1", body, skew=timedelta(seconds=-2)))
    assert (retried.status_code, retried.json()["id"]) == (200, taken.json()["id"])


def test_a_shop_with_an_old_inbound_secret_signs_with_either_scheme(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w = build(client, operator, factory)
    shop = _integration(client, operator, w)
    old = _legacy_secret()
    with transaction(factory) as session:
        session.execute(
            update(Integration)
            .where(Integration.id == shop["id"])
            .values(inbound_secret_sealed=app_sealer(client).seal(old))
        )
    standard_body = json.dumps(_paid(w, "STD-OLD-1")).encode()
    converted = "whsec_" + base64.b64encode(old.encode()).decode()
    taken = _post(client, shop["id"], standard_body, _standard(converted, "msg_old", standard_body))
    assert taken.status_code == 201, taken.text
    first_body = json.dumps(_paid(w, "STD-OLD-2")).encode()
    first = _post(client, shop["id"], first_body, signing.headers(old, utcnow(), first_body))
    assert first.status_code == 201, first.text


def _signed_bytes(secret: str, message_id: str, body: bytes) -> dict[str, str]:
    """Headers as a sender that signs the raw bytes makes them (the scheme's HMAC, whatever the body)."""
    sent = str(int(utcnow().timestamp()))
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{message_id}.{sent}.".encode() + body, hashlib.sha256).digest()
    signature = "v1," + base64.b64encode(digest).decode()
    return {"webhook-id": message_id, "webhook-timestamp": sent, "webhook-signature": signature}


def test_a_signed_body_that_is_not_utf8_is_refused_as_a_bad_body(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    """Signed correctly, but not text: the bad body's 422 (as a body that is not JSON), in the
    reader's language, never a signature refusal, a 500 or a body read with its bytes replaced."""
    w = build(client, operator, factory)
    shop = _integration(client, operator, w)
    secret = shop["inbound_secret"]
    body = json.dumps(_paid(w, "STD-BYTES")).encode().replace(b"STD-BYTES", b"STD-\xff\xfe")
    before = row_counts(factory)
    signed = _signed_bytes(secret, "msg_b", body)
    outcome = standard.verify(
        secret,
        message_id=signed["webhook-id"],
        timestamp=signed["webhook-timestamp"],
        signed=signed["webhook-signature"],
        body=body,
        now=utcnow(),
    )
    assert outcome == ("error", standard.NOT_TEXT)
    # The timestamp header is read as a number, as the library reads it for a text body: written with a
    # sign or a leading zero it still names the instant that was signed.
    for written in ("+", "0", " "):
        outcome = standard.verify(
            secret,
            message_id=signed["webhook-id"],
            timestamp=written + signed["webhook-timestamp"],
            signed=signed["webhook-signature"],
            body=body,
            now=utcnow(),
        )
        assert outcome == ("error", standard.NOT_TEXT), written
    for language, detail in (("zh-CN", "回调内容格式错误。"), ("en", "The body is not a webhook envelope.")):
        refused = _post(
            client, shop["id"], body, {**_signed_bytes(secret, "msg_b", body), "Accept-Language": language}
        )
        assert (refused.status_code, refused.json()["code"]) == (422, "validation_error"), refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["detail"] == detail
    first_scheme = _post(client, shop["id"], body, signing.headers(secret, utcnow(), body))
    assert (first_scheme.status_code, first_scheme.json()["code"]) == (422, "validation_error")
    # Not signed by the shop: refused for its signature, whatever the body holds.
    forged = _post(client, shop["id"], body, _signed_bytes(standard.new_secret(), "msg_b", body))
    assert (forged.status_code, forged.json()["code"]) == (401, "bad_signature")
    assert row_counts(factory) == before
