"""A scheduled push message never goes out to a customer who opted out or withdrew consent since the
push: the opt-out and the withdrawal cancel it at once, and the delivery job checks again right before
sending. On both channels that send (WeCom robot and webhook)."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.crm import erasure, service
from neigou.crm.models import PushMessage
from neigou.crm.push_delivery import deliver_due
from neigou.kit.db import transaction
from tests.campaigns import builders as fb
from tests.conftest import TokenMaker
from tests.crm import push_builders as pb
from tests.crm.push_builders import AT, PushWorld, push

pytestmark = pytest.mark.usefixtures("push_clock")

ROBOT = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc-123"
HOOK = "https://crm.brand.example/neigou/pushes"
LATER = AT + timedelta(days=2)
WAIT_S = 10.0  # far longer than an opt-out takes; the old delivery held it back until the batch's end
TARGETS = {"webhook": HOOK, "wecom_robot": ROBOT}


@pytest.fixture(params=["webhook", "wecom_robot"])
def world(
    request: pytest.FixtureRequest,
    client: TestClient,
    operator: dict[str, str],
    make_token: TokenMaker,
    factory: sessionmaker[Session],
) -> PushWorld:
    made = pb.build(client, operator, make_token, factory)
    channel = request.param
    response = client.put(
        f"/api/v1/programs/{made.feed.program_id}/crm/settings",
        json={"channel": channel, "target": TARGETS[channel] if channel == "webhook" else None},
        headers=operator,
    )
    assert response.status_code == 200, response.text
    if channel == "wecom_robot":  # the robot of the customers' own group takes their messages
        pb.in_robot_group(client, factory, made, ROBOT)
    return made


def _scheduled(client: TestClient, world: PushWorld) -> None:
    made = push(client, world, customer_ids=[world.wang, world.li], skus=[fb.TEE], at=LATER.isoformat())
    assert {m["customer_id"] for m in made["messages"]} == {world.wang, world.li}
    assert {m["status"] for m in made["messages"]} == {"pending"}


def _opt_out_and_withdraw(client: TestClient, operator: dict[str, str], world: PushWorld) -> None:
    body = {"customer_ref": world.refs[world.wang], "request_id": "shop-req-1"}
    assert client.post("/api/v1/privacy/opt-outs", json=body, headers=operator).status_code == 201
    withdrawn = client.post(f"/api/v1/customers/{world.li}/consents/withdrawal", json={}, headers=operator)
    assert withdrawn.status_code == 200, withdrawn.text


def _deliver(client: TestClient, factory: sessionmaker[Session]) -> list[httpx.Request]:
    sent: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={"errcode": 0, "errmsg": "ok"})

    app: Any = client.app
    with transaction(factory) as session:
        deliver_due(
            session,
            at=LATER + timedelta(hours=1),  # 13:00 in Shanghai, outside the quiet hours
            settings=app.state.settings,
            transport=httpx.MockTransport(answer),
        )
    return sent


def _statuses(factory: sessionmaker[Session]) -> dict[int, tuple[str, str | None]]:
    with factory() as session:
        rows = session.execute(select(PushMessage.customer_id, PushMessage.status, PushMessage.last_error))
        return {cid: (str(status), error) for cid, status, error in rows}


def test_an_opt_out_and_a_withdrawal_cancel_scheduled_messages(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], world: PushWorld
) -> None:
    _scheduled(client, world)
    _opt_out_and_withdraw(client, operator, world)
    expected = {world.wang: ("failed", "opted_out"), world.li: ("failed", "no_consent")}
    assert _statuses(factory) == expected
    assert _deliver(client, factory) == []
    assert _statuses(factory) == expected


def test_delivery_checks_again_right_before_sending(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    world: PushWorld,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Whatever way the customer became unreachable without the messages being cancelled, the job
    # itself finds it: here the cancellations are switched off.
    monkeypatch.setattr(erasure, "cancel_pending", lambda *_args: 0)
    monkeypatch.setattr(service, "cancel_pending", lambda *_args: 0)
    _scheduled(client, world)
    _opt_out_and_withdraw(client, operator, world)
    assert {status for status, _ in _statuses(factory).values()} == {"pending"}
    assert _deliver(client, factory) == []
    assert _statuses(factory) == {world.wang: ("failed", "opted_out"), world.li: ("failed", "no_consent")}


def test_a_customer_still_reachable_is_sent_to(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], world: PushWorld
) -> None:
    _scheduled(client, world)
    withdrawn = client.post(f"/api/v1/customers/{world.li}/consents/withdrawal", json={}, headers=operator)
    assert withdrawn.status_code == 200, withdrawn.text
    sent = _deliver(client, factory)
    assert len(sent) == 1
    assert _statuses(factory) == {world.wang: ("sent", None), world.li: ("failed", "no_consent")}


def test_an_opt_out_during_a_send_waits_for_no_send_and_stops_the_next_message(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    world: PushWorld,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The first message is on its way (its receiver has not answered yet) when the other customer opts
    out: the opt-out does not wait for that send (nor, on SQLite, for the delivery's write lock), and
    the delivery, checking the next message right before sending it, finds the opt-out and sends
    nothing to her. The opt-out's own cancellation is switched off: the delivery's check stops her."""
    monkeypatch.setattr(erasure, "cancel_pending", lambda *_args: 0)
    _scheduled(client, world)
    in_flight, opted_out = threading.Event(), threading.Event()
    sent: list[httpx.Request] = []
    waited: list[bool] = []
    took: list[float] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        if len(sent) == 1:
            in_flight.set()
            waited.append(opted_out.wait(WAIT_S))  # the opt-out runs while this send is on its way
        return httpx.Response(200, json={"errcode": 0, "errmsg": "ok"})

    def opt_out_the_other() -> None:
        assert in_flight.wait(WAIT_S)
        with factory() as session:
            on_its_way = session.scalar(select(PushMessage.customer_id).where(PushMessage.attempts == 1))
        other = world.li if on_its_way == world.wang else world.wang
        body = {"customer_ref": world.refs[other], "request_id": "during-send"}
        started = time.monotonic()
        answered = client.post("/api/v1/privacy/opt-outs", json=body, headers=operator)
        took.append(time.monotonic() - started)
        assert answered.status_code == 201, answered.text
        opted_out.set()

    side = threading.Thread(target=opt_out_the_other)
    side.start()
    app: Any = client.app
    with transaction(factory) as session:
        deliver_due(
            session,
            at=LATER + timedelta(hours=1),  # 13:00 in Shanghai, outside the quiet hours
            settings=app.state.settings,
            transport=httpx.MockTransport(answer),
        )
    side.join(WAIT_S)
    assert waited == [True], "the opt-out waited for the send on its way"
    assert len(sent) == 1
    assert took
    assert took[0] < WAIT_S
    statuses = _statuses(factory)
    assert sorted(statuses.values()) == [("failed", "opted_out"), ("sent", None)]
