"""The robot channel delivers each push message through the robot of the customer's own group (the
group of the link that brought them), as the feed's posts go through their group's robot, and nowhere
else: a push reaching a customer whose group has none is refused, and a message whose group has lost
its robot by the send fails at once; the program's robot never takes it. A message is posted once
however often the job runs or races, and the robot's key is never stored or logged."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.crm import push_delivery, push_due
from neigou.crm.models import Customer, PushMessage
from neigou.feed import robots as feed_robots
from neigou.kit.db import transaction
from neigou.kit.sealed import Sealer
from neigou.kit.settings import Settings
from tests import robots
from tests.campaigns import builders as fb
from tests.conftest import TEST_ACTOR, TokenMaker
from tests.crm import push_builders as pb
from tests.crm.push_builders import AT, PushWorld, push
from tests.links.builders import make_link
from tests.parallel import in_parallel
from tests.robots import Robot

# the robots and receivers these tests send to listen on 127.0.0.1
pytestmark = [pytest.mark.usefixtures("push_clock"), pytest.mark.local_receivers]

KEY = "robot-key"  # the key in Robot.url
PARALLEL = 6


@pytest.fixture
def stubs() -> Iterator[list[Robot]]:
    """Three running robot stubs: two groups' robots and the program's."""
    with robots.running(3) as running:
        yield running


@pytest.fixture
def world(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, factory: sessionmaker[Session]
) -> PushWorld:
    return pb.build(client, operator, make_token, factory)


def _set_robot(client: TestClient, factory: sessionmaker[Session], group_id: int, robot: Robot) -> None:
    settings = _running(client)
    with transaction(factory) as session:
        feed_robots.set_robot(
            session,
            group_id=group_id,
            webhook_url=robot.url,
            sealer=Sealer.from_settings(settings),
            actor=TEST_ACTOR,
            at=datetime.now(UTC),
        )


def _customer(
    client: TestClient, factory: sessionmaker[Session], world: PushWorld, ref: str, group_id: int | None
) -> int:
    """A consenting customer of the owner, brought by a link for ``group_id`` (or added by hand)."""
    secret = client.app.state.settings.secret_key  # type: ignore[attr-defined]
    customer_id = pb.add_customer(
        factory,
        program_id=world.feed.program_id,
        member_id=world.feed.owner,
        ref=ref,
        secret_key=secret,
        name=f"客户{ref[-2:]}",
    )
    if group_id is not None:
        link = make_link(client, world.feed.owner_headers, sku=fb.TEE, group_id=group_id)
        with transaction(factory) as session:
            row = session.get(Customer, customer_id)
            assert row is not None
            row.source_link_id = link["id"]
    return customer_id


def _running(client: TestClient) -> Settings:
    running: Settings = client.app.state.settings  # type: ignore[attr-defined]
    return running


def _deliver(client: TestClient, factory: sessionmaker[Session], at: datetime) -> list[tuple[int, str]]:
    with transaction(factory) as session:
        done = push_delivery.deliver_due(session, at=at, settings=_running(client))
        return [(m.customer_id, m.status.value) for m in done]


def _texts(robot: Robot) -> list[str]:
    return [r["body"]["markdown"]["content"] for r in robot.received]


def _messages(client: TestClient, world: PushWorld, push_id: int) -> dict[int, dict[str, Any]]:
    report = client.get(f"/api/v1/pushes/{push_id}", headers=world.feed.owner_headers)
    assert report.status_code == 200
    return {m["customer_id"]: m for m in report.json()["messages"]}


def test_each_customer_gets_the_message_once_through_their_own_groups_robot(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    world: PushWorld,
    stubs: list[Robot],
) -> None:
    first, second, program = stubs
    _set_robot(client, factory, world.feed.groups[0], first)
    _set_robot(client, factory, world.feed.groups[1], second)
    pb.send_through(client, operator, world, "wecom_robot", program.url)
    a = _customer(client, factory, world, "13900000011", world.feed.groups[0])
    b = _customer(client, factory, world, "13900000012", world.feed.groups[1])
    made = push(client, world, customer_ids=[a, b], skus=[fb.TEE])
    texts = {m["customer_id"]: m["text"] for m in made["messages"]}
    first.statuses = [503]  # the first group's robot is busy once

    assert sorted(_deliver(client, factory, AT)) == sorted([(a, "pending"), (b, "sent")])
    assert _deliver(client, factory, AT + timedelta(seconds=29)) == []  # the backoff is 30 s
    assert _deliver(client, factory, AT + timedelta(seconds=30)) == [(a, "sent")]
    for later in (AT + timedelta(minutes=1), AT + timedelta(days=1)):  # the job runs again
        assert _deliver(client, factory, later) == []

    assert _texts(first) == [texts[a], texts[a]]  # refused once, then taken: posted once
    assert _texts(second) == [texts[b]]
    assert program.received == []
    assert {r["path"] for r in first.received + second.received} == {f"/cgi-bin/webhook/send?key={KEY}"}
    shown = _messages(client, world, made["id"])
    assert [(shown[c]["status"], shown[c]["attempts"]) for c in (a, b)] == [("sent", 2), ("sent", 1)]


def test_without_a_group_robot_the_push_is_refused_and_the_programs_robot_never_takes_it(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    world: PushWorld,
    stubs: list[Robot],
) -> None:
    group_robot, _, program = stubs
    handed_over = world.feed.groups[0]
    _set_robot(client, factory, handed_over, group_robot)
    pb.send_through(client, operator, world, "wecom_robot", program.url)
    by_hand = _customer(client, factory, world, "13900000021", None)
    no_robot = _customer(client, factory, world, "13900000022", world.feed.groups[1])
    moved = _customer(client, factory, world, "13900000023", handed_over)
    made = push(client, world, customer_ids=[moved], skus=[fb.TEE])  # queued while the group is the owner's
    for customer in (by_hand, no_robot):
        assert push(client, world, 409, customer_ids=[customer], skus=[fb.TEE])["code"] == "no_group_robot"
    patched = client.patch(
        f"/api/v1/groups/{handed_over}", json={"owner_member_id": world.feed.other_owner}, headers=operator
    )
    assert patched.status_code == 200, patched.text  # the group and its robot are another owner's now
    assert push(client, world, 409, customer_ids=[moved], skus=[fb.TEE])["code"] == "no_group_robot"

    assert _deliver(client, factory, AT) == [(moved, "failed")]
    shown = _messages(client, world, made["id"])[moved]
    assert (shown["status"], shown["attempts"], shown["last_error"]) == (
        "failed",
        push_due.MAX_ATTEMPTS,
        push_delivery.NO_GROUP_ROBOT,
    )
    assert program.received == []
    assert group_robot.received == []
    assert _deliver(client, factory, AT + timedelta(days=1)) == []


def test_the_robot_channel_needs_no_program_target_and_a_refusal_never_shows_the_key(
    *,
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    world: PushWorld,
    stubs: list[Robot],
    capsys: pytest.CaptureFixture[str],
) -> None:
    robot = stubs[0]
    _set_robot(client, factory, world.feed.groups[0], robot)
    pb.send_through(client, operator, world, "wecom_robot", None)
    saved = client.get(f"/api/v1/programs/{world.feed.program_id}/crm/settings", headers=operator).json()
    assert (saved["channel"], saved["target_masked"]) == ("wecom_robot", None)
    customer = _customer(client, factory, world, "13900000031", world.feed.groups[0])
    made = push(client, world, customer_ids=[customer], skus=[fb.TEE])
    robot.answers = [{"errcode": 93000, "errmsg": f"invalid webhook url {KEY}, hint: [abc]"}]

    assert _deliver(client, factory, AT) == [(customer, "pending")]
    shown = client.get(f"/api/v1/pushes/{made['id']}", headers=world.feed.owner_headers).text
    assert "HTTP 200 errcode 93000" in shown
    with factory() as session:
        stored = session.get(PushMessage, made["messages"][0]["id"])
        assert stored is not None
        assert stored.last_error == "HTTP 200 errcode 93000"
    assert _deliver(client, factory, AT + timedelta(seconds=30)) == [(customer, "sent")]
    logged = capsys.readouterr()
    assert logged.err.count("crm.push_message_refused") == 1
    assert KEY not in logged.err + logged.out + shown
    assert len(robot.received) == 2


def test_a_run_that_read_the_message_as_due_before_another_sent_it_posts_nothing(
    *,
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    world: PushWorld,
    stubs: list[Robot],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    robot = stubs[0]
    _set_robot(client, factory, world.feed.groups[0], robot)
    pb.send_through(client, operator, world, "wecom_robot", None)
    customer = _customer(client, factory, world, "13900000051", world.feed.groups[0])
    made = push(client, world, customer_ids=[customer], skus=[fb.TEE])
    with factory() as redelivered:
        seen = push_due.due_messages(redelivered, AT)  # a redelivered job reads the message as due
        assert [m.customer_id for m, _, _ in seen] == [customer]
        assert _deliver(client, factory, AT) == [(customer, "sent")]  # the first run sends and commits
        monkeypatch.setattr(push_due, "due_messages", lambda _session, _at: seen)
        assert push_delivery.deliver_due(redelivered, at=AT, settings=_running(client)) == []
        redelivered.commit()
    assert len(robot.received) == 1
    shown = _messages(client, world, made["id"])[customer]
    assert (shown["status"], shown["attempts"], shown["sent_at"] is not None) == ("sent", 1, True)


@pytest.mark.postgres_only
def test_parallel_runs_post_each_message_once(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    world: PushWorld,
    stubs: list[Robot],
) -> None:
    first, second, _ = stubs
    _set_robot(client, factory, world.feed.groups[0], first)
    _set_robot(client, factory, world.feed.groups[1], second)
    pb.send_through(client, operator, world, "wecom_robot", None)
    a = _customer(client, factory, world, "13900000041", world.feed.groups[0])
    b = _customer(client, factory, world, "13900000042", world.feed.groups[1])
    push(client, world, customer_ids=[a, b], skus=[fb.TEE])
    first.delays = [0.3]  # the run that posts answers slowly; the others meet it on the rows

    def run(session: Session) -> int:
        return len(push_delivery.deliver_due(session, at=AT, settings=_running(client)))

    results = in_parallel(factory, run, PARALLEL)
    assert sum(r for r in results if isinstance(r, int)) == 2, results
    assert (len(first.received), len(second.received)) == (1, 1)
