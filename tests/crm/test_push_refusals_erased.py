"""A refused push message keeps only a fixed summary of the refusal (status, errcode), never what the
receiver wrote back, which may echo the message and so the customer's name; and an opt-out replaces a
refusal stored before this rule (an older receiver's echo) with the erased marker, as it does the text."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from neigou.crm.models import MessageStatus, PushMessage
from neigou.crm.push_delivery import deliver_due
from neigou.crm.push_due import MAX_ATTEMPTS
from neigou.kit.db import transaction
from neigou.kit.ids import ERASED
from tests.campaigns import builders as fb
from tests.conftest import TokenMaker
from tests.crm import push_builders as pb
from tests.crm.push_builders import AT, PushWorld, push
from tests.sign_in import member_sign_in

pytestmark = pytest.mark.usefixtures("push_clock")
HOOK = "https://crm.brand.example/neigou/pushes"
NAME = "王女士"


@pytest.fixture
def world(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, factory: sessionmaker[Session]
) -> PushWorld:
    return pb.send_through(client, operator, pb.build(client, operator, make_token, factory), "webhook", HOOK)


def _echo(request: httpx.Request) -> httpx.Response:  # a receiver that echoes the call in its refusal
    return httpx.Response(500, text=request.content.decode())


def test_a_refusal_echoing_the_message_keeps_and_logs_only_its_status(
    client: TestClient,
    make_token: TokenMaker,
    factory: sessionmaker[Session],
    world: PushWorld,
    capsys: pytest.CaptureFixture[str],
) -> None:
    made = push(client, world, customer_ids=[world.wang], skus=[fb.TEE])
    assert NAME in made["messages"][0]["text"]
    with transaction(factory) as session:
        for n in range(MAX_ATTEMPTS):
            deliver_due(
                session,
                at=AT + timedelta(days=1, hours=n),
                settings=client.app.state.settings,  # type: ignore[attr-defined]
                transport=httpx.MockTransport(_echo),
            )
    report = client.get(f"/api/v1/pushes/{made['id']}", headers=world.feed.owner_headers)
    shown = report.json()["messages"][0]
    assert (shown["status"], shown["last_error"]) == ("failed", "HTTP 500")
    logged = capsys.readouterr()
    assert logged.err.count("crm.push_message_refused") == MAX_ATTEMPTS
    assert NAME not in logged.err + logged.out
    member_sign_in(client, make_token("member", world.feed.owner))
    page = client.get(f"/m/pushes/{made['id']}")
    assert page.status_code == 200
    assert "HTTP 500" in page.text


def test_an_opt_out_erases_a_refusal_stored_with_the_customers_name(
    client: TestClient,
    operator: dict[str, str],
    make_token: TokenMaker,
    factory: sessionmaker[Session],
    world: PushWorld,
) -> None:
    made = push(client, world, customer_ids=[world.wang, world.li], skus=[fb.TEE])
    with transaction(factory) as session:  # as an older release kept a receiver's echo
        echoed = f"HTTP 500: {{'text': '{NAME}您好'}}"
        session.execute(
            update(PushMessage)
            .where(PushMessage.customer_id == world.wang)
            .values(status=MessageStatus.FAILED, attempts=MAX_ATTEMPTS, last_error=echoed)
        )
    body = {"customer_ref": world.refs[world.wang], "request_id": "shop-req-erase"}
    assert client.post("/api/v1/privacy/opt-outs", json=body, headers=operator).status_code == 201

    after = client.get(f"/api/v1/pushes/{made['id']}", headers=world.feed.owner_headers)
    assert after.status_code == 200
    shown = {m["customer_id"]: m for m in after.json()["messages"]}
    assert (shown[world.wang]["text"], shown[world.wang]["last_error"]) == (ERASED, ERASED)
    assert NAME not in after.text
    assert shown[world.li]["text"] != ERASED  # another customer's message is not theirs to erase
    member_sign_in(client, make_token("member", world.feed.owner))
    page = client.get(f"/m/pushes/{made['id']}")
    assert page.status_code == 200
    assert NAME not in page.text
