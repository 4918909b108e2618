"""A message on its way belongs to the run that claimed it: another run (the next minute's, while a
batch of slow sends outlasts the minute) does not send it again, and an opt-out that arrives during
the send keeps its reason whatever the send answered. A run killed during a send leaves the message
to the runs after the lease. On both channels that send (WeCom robot and webhook)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from neigou.crm import push_delivery
from neigou.crm.models import MessageStatus, PushMessage
from neigou.crm.push_delivery import deliver_due
from neigou.crm.push_due import MAX_ATTEMPTS, SENDING_LEASE
from neigou.groups import webhook
from neigou.kit.clock import not_before_now
from neigou.kit.db import transaction
from neigou.kit.robot_budget import LEASE_LOST
from tests.crm.push_builders import PushWorld
from tests.crm.test_push_opt_out import LATER, _scheduled, _statuses, world  # noqa: F401 - the fixture

pytestmark = pytest.mark.usefixtures("push_clock")

RUN_AT = LATER + timedelta(hours=1)  # 13:00 in Shanghai, outside the quiet hours
OK = {"errcode": 0, "errmsg": "ok"}


@pytest.fixture(autouse=True)
def simulated_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The runs here are dated in simulated time, months before the machine's clock: a claim's lease is
    dated from the later of the run's start and the real clock, so the real clock is put before them all
    (otherwise every lease would end months after the simulated runs, whatever its length)."""
    monkeypatch.setattr(
        push_delivery, "not_before_now", partial(not_before_now, now=datetime(2000, 1, 1, tzinfo=UTC))
    )


def _run(client: TestClient, factory: sessionmaker[Session], at: datetime, answer: Any) -> list[PushMessage]:
    app: Any = client.app
    with transaction(factory) as session:
        return deliver_due(session, at=at, settings=app.state.settings, transport=httpx.MockTransport(answer))


def test_the_next_run_leaves_a_message_on_its_way_alone(
    client: TestClient,
    factory: sessionmaker[Session],
    world: PushWorld,  # noqa: F811
) -> None:
    _scheduled(client, world)
    sent: list[bytes] = []
    lock = threading.Lock()
    second: list[threading.Thread] = []

    def answer(request: httpx.Request) -> httpx.Response:
        with lock:
            sent.append(request.content)
            first = len(sent) == 1
        if first:  # the next minute's run starts and ends while this send is on its way
            side = threading.Thread(
                target=_run, args=(client, factory, RUN_AT + timedelta(minutes=1), answer)
            )
            second.append(side)
            side.start()
            side.join(30)
        return httpx.Response(200, json=OK)

    _run(client, factory, RUN_AT, answer)
    assert second
    assert not second[0].is_alive()
    assert len(sent) == 2, "a message was sent twice"
    assert len(set(sent)) == 2
    with factory() as session:
        rows = session.execute(select(PushMessage.status, PushMessage.attempts, PushMessage.sent_at)).all()
    assert sorted((str(s), n) for s, n, _ in rows) == [("sent", 1), ("sent", 1)]


def _opted_out_during_its_send(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    world: PushWorld,  # noqa: F811 - the fixture's value, passed on
    first_answer: httpx.Response,
) -> tuple[int, Any]:
    """Run delivery with the first message's customer opting out while its send is on its way (that send
    answered ``first_answer``, the others taken); the customer, and the receiver for later runs."""
    _scheduled(client, world)
    on_its_way: list[int] = []

    def answer(request: httpx.Request) -> httpx.Response:
        if not on_its_way:
            with factory() as session:
                cid = session.scalar(select(PushMessage.customer_id).where(PushMessage.attempts == 1))
            assert cid is not None
            on_its_way.append(cid)
            body = {"customer_ref": world.refs[cid], "request_id": "during"}
            r = client.post("/api/v1/privacy/opt-outs", json=body, headers=operator)
            assert r.status_code == 201, r.text
            return first_answer
        return httpx.Response(200, json=OK)

    _run(client, factory, RUN_AT, answer)
    return on_its_way[0], answer


def _sent_at(factory: sessionmaker[Session], customer_id: int) -> datetime | None:
    with factory() as session:
        message = session.scalar(select(PushMessage).where(PushMessage.customer_id == customer_id))
        assert message is not None
        return message.sent_at


def test_an_opt_out_during_a_failed_send_keeps_its_reason(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    world: PushWorld,  # noqa: F811
) -> None:
    cid, answer = _opted_out_during_its_send(
        client, operator, factory, world, httpx.Response(500, text="busy")
    )
    statuses = _statuses(factory)
    assert statuses[cid] == ("failed", "opted_out")
    assert _sent_at(factory, cid) is None  # the send did not go through
    # No later run sends it either.
    assert _run(client, factory, RUN_AT + SENDING_LEASE * 2, answer) == []


def test_an_opt_out_during_a_send_that_went_through_keeps_its_reason_and_the_send(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    world: PushWorld,  # noqa: F811
) -> None:
    cid, _ = _opted_out_during_its_send(client, operator, factory, world, httpx.Response(200, json=OK))
    assert _statuses(factory)[cid] == ("failed", "opted_out")
    assert _sent_at(factory, cid) == RUN_AT  # it went out before the opt-out could stop it


def test_a_run_killed_during_a_send_leaves_the_message_to_the_runs_after_the_lease(
    client: TestClient,
    factory: sessionmaker[Session],
    world: PushWorld,  # noqa: F811
    request: pytest.FixtureRequest,
) -> None:
    """A webhook message is sent again (its receiver deduplicates by ``webhook-id``); a robot message,
    which WeCom never deduplicates, is failed as one that may have been posted, never posted twice."""
    _scheduled(client, world)
    # What a run killed during its send leaves: the attempt claimed, its lease taken, no outcome.
    with transaction(factory) as session:
        session.execute(update(PushMessage).values(attempts=1, sent_at=RUN_AT))
    sent: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json=OK)

    assert _run(client, factory, RUN_AT + SENDING_LEASE - timedelta(seconds=1), answer) == []
    assert sent == []
    done = _run(client, factory, RUN_AT + SENDING_LEASE, answer)
    if "webhook" in request.node.callspec.id:
        assert sorted((m.status, m.attempts) for m in done) == [(MessageStatus.SENT, 2)] * 2
        assert len(sent) == 2
        return
    assert done == []
    assert sent == []
    assert set(_statuses(factory).values()) == {("failed", LEASE_LOST)}


class _Trickle(httpx.SyncByteStream):
    """An answer that never ends: one byte every 10 ms, each counted in ``trickled``."""

    def __init__(self, trickled: list[bytes]) -> None:
        self.trickled = trickled

    def __iter__(self) -> Iterator[bytes]:
        while True:
            time.sleep(0.01)
            self.trickled.append(b" ")
            yield b" "


class _Stalled(httpx.SyncByteStream):
    """An answer whose body stops coming after its first bytes (the read waits out its timeout)."""

    def __iter__(self) -> Iterator[bytes]:
        yield b'{"errcode":0'
        raise httpx.ReadTimeout("timed out")


def test_a_body_that_stalls_after_a_2xx_is_still_the_receivers_yes(
    client: TestClient,
    factory: sessionmaker[Session],
    world: PushWorld,  # noqa: F811
) -> None:
    """The receiver took the message (its 2xx came); that the rest of its body never came does not make
    the send a failure to be sent again."""
    _scheduled(client, world)
    done = _run(client, factory, RUN_AT, lambda _: httpx.Response(200, stream=_Stalled()))
    assert [m.status for m in done] == [MessageStatus.SENT] * 2


def test_a_send_ends_by_its_deadline_however_slowly_the_receiver_answers(
    client: TestClient,
    factory: sessionmaker[Session],
    world: PushWorld,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each step of a call waits 10 s at most, but an answer trickled byte by byte would hold the send
    (and so its lease) without end: the answer is read until the send's deadline, then left."""
    monkeypatch.setattr(webhook, "SEND_DEADLINE_SECONDS", 0.5)
    _scheduled(client, world)
    trickled: list[bytes] = []
    done = _run(client, factory, RUN_AT, lambda _: httpx.Response(200, stream=_Trickle(trickled)))
    assert [m.status for m in done] == [MessageStatus.SENT] * 2  # the receiver took them: 2xx
    # Read for half a second each at a byte every 10 ms at most: 50 bytes a send, fewer on a loaded
    # machine (counted in bytes, not in the seconds the run took); without the deadline, 20 000 each.
    assert len(trickled) <= 2 * (0.5 / 0.01 + 1)


def test_a_run_past_its_lease_does_not_overwrite_what_the_next_attempt_came_to(
    client: TestClient,
    factory: sessionmaker[Session],
    world: PushWorld,  # noqa: F811
    request: pytest.FixtureRequest,
) -> None:
    """A run whose send outlived its lease (its host name took minutes to resolve, say): the run after
    the lease took the message as the next attempt and sent it (a webhook message) or failed it as one
    that may have been posted (a robot message); the late refusal changes nothing."""
    _scheduled(client, world)
    calls: list[int] = []

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) == 1:  # the first run's first send, answered after the next attempt was made
            _run(client, factory, RUN_AT + SENDING_LEASE, answer)
            return httpx.Response(500, text="busy")
        return httpx.Response(200, json=OK)

    _run(client, factory, RUN_AT, answer)
    with factory() as session:
        rows = session.execute(select(PushMessage.status, PushMessage.attempts, PushMessage.last_error)).all()
    robot = "wecom_robot" in request.node.callspec.id
    first = ("failed", 1, LEASE_LOST) if robot else ("sent", 2, None)
    assert sorted((str(s), n, e) for s, n, e in rows) == sorted([("sent", 1, None), first])


def test_a_last_attempt_killed_during_its_send_is_not_sent_again(
    client: TestClient,
    factory: sessionmaker[Session],
    world: PushWorld,  # noqa: F811
) -> None:
    """The run of a message's last attempt died during the send: once the lease is over the message is
    failed, not claimed a sixth time."""
    _scheduled(client, world)
    with transaction(factory) as session:
        session.execute(update(PushMessage).values(attempts=MAX_ATTEMPTS, sent_at=RUN_AT))
    sent: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json=OK)

    # Past the last attempt's backoff (about 2 h 50 min after ``send_at``) and its lease.
    _run(client, factory, RUN_AT + timedelta(hours=3), answer)
    assert sent == []
    with factory() as session:
        rows = session.execute(select(PushMessage.status, PushMessage.attempts)).all()
    assert {(str(s), n) for s, n in rows} == {("failed", MAX_ATTEMPTS)}
