"""A post goes into its group once however often ``feed.deliver_posts`` runs or races: each attempt
claims itself on the post before the robot is called."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from neigou.feed import delivery
from neigou.feed import repository as feed_repo
from neigou.feed import robots as feed_robots
from neigou.feed.models import GroupPost, PostStatus
from neigou.kit import jobs
from neigou.kit.clock import not_before_now
from neigou.kit.db import transaction
from tests import robots
from tests.campaigns import builders as b
from tests.conftest import TEST_ACTOR, TokenMaker
from tests.factories import create_member
from tests.feed.conftest import app_sealer, app_settings
from tests.held_sends import short_waits, write_during_send
from tests.parallel import in_parallel
from tests.robots import HOLD_S, Robot

# the robots and receivers these tests send to listen on 127.0.0.1
pytestmark = pytest.mark.local_receivers

PARALLEL = 6
DUE = b.AT + timedelta(hours=8)  # the evening slot of AT's day


@pytest.fixture
def stubs() -> Iterator[list[Robot]]:
    """Two running robot stubs, one per group."""
    with robots.running(2) as running:
        yield running


@pytest.fixture
def quick_waits(engine: Engine) -> Iterator[None]:
    yield from short_waits(engine)


@pytest.fixture
def world(client: TestClient, operator: dict[str, str], make_token: TokenMaker) -> b.FeedWorld:
    return b.build(client, operator, make_token)


def _set_robot(client: TestClient, factory: sessionmaker[Session], group_id: int, robot: Robot) -> None:
    with transaction(factory) as session:
        feed_robots.set_robot(
            session,
            group_id=group_id,
            webhook_url=robot.url,
            sealer=app_sealer(client),
            actor=TEST_ACTOR,
            at=datetime.now(UTC),
        )


def _evening_posts(client: TestClient, world: b.FeedWorld, group_ids: list[int]) -> list[int]:
    made = client.post(
        f"/api/v1/members/{world.owner}/posts",
        json={"group_ids": group_ids, "skus": [b.TEE], "at": b.AT.isoformat(), "slot": "evening"},
        headers=world.owner_headers,
    )
    assert made.status_code == 201, made.text
    posts: list[dict[str, Any]] = made.json()["posts"]
    assert {p["status"] for p in posts} == {"scheduled"}
    return [p["id"] for p in posts]


def test_a_run_that_read_the_post_as_due_before_another_sent_it_posts_nothing(
    client: TestClient,
    factory: sessionmaker[Session],
    world: b.FeedWorld,
    stubs: list[Robot],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    robot = stubs[0]
    _set_robot(client, factory, world.groups[0], robot)
    [post_id] = _evening_posts(client, world, [world.groups[0]])
    with factory() as redelivered:
        seen = feed_repo.due_posts(redelivered, DUE)  # a redelivered job reads the post as due
        assert [p.id for p in seen] == [post_id]
        with transaction(factory) as first:  # the first run sends and commits
            assert [
                (p.id, p.status.value)
                for p in delivery.deliver_due(first, at=DUE, settings=app_settings(client))
            ] == [(post_id, "sent")]
        monkeypatch.setattr(feed_repo, "due_posts", lambda _session, _at: seen)
        assert delivery.deliver_due(redelivered, at=DUE, settings=app_settings(client)) == []
        redelivered.commit()
    assert len(robot.received) == 1
    with factory() as session:
        post = session.get(GroupPost, post_id)
        assert post is not None
        assert (post.status.value, post.attempts, post.done_at is not None) == ("sent", 1, True)


def test_parallel_runs_post_each_post_once(
    client: TestClient, factory: sessionmaker[Session], world: b.FeedWorld, stubs: list[Robot]
) -> None:
    """Parallel connections on PostgreSQL; on SQLite each claim waits for the write lock, never a send."""
    first, second = stubs
    _set_robot(client, factory, world.groups[0], first)
    _set_robot(client, factory, world.groups[1], second)
    posts = _evening_posts(client, world, world.groups[:2])
    first.delays = [0.3]  # the run that posts answers slowly; the others meet it on the row

    def run(session: Session) -> int:
        return len(delivery.deliver_due(session, at=DUE, settings=app_settings(client)))

    results = in_parallel(factory, run, PARALLEL)
    assert sum(r for r in results if isinstance(r, int)) == 2, results
    assert (len(first.received), len(second.received)) == (1, 1)
    with factory() as session:
        sent = [session.get(GroupPost, p) for p in posts]
        assert [(p.status.value, p.attempts) for p in sent if p is not None] == [("sent", 1), ("sent", 1)]


@pytest.mark.usefixtures("quick_waits")
def test_a_writer_goes_on_while_a_post_is_on_its_way(
    *,
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    world: b.FeedWorld,
    stubs: list[Robot],
    jobs_runner: jobs.JobRunner,
) -> None:
    """The post's claim is committed before its robot is called: creating a member does not wait for the
    robot's answer (on SQLite the run held the database's write lock through the send)."""
    robot = stubs[0]
    _set_robot(client, factory, world.groups[0], robot)
    [post_id] = _evening_posts(client, world, [world.groups[0]])

    def deliver() -> None:
        assert jobs_runner.run(delivery.DELIVER_JOB, key="posts-held", payload={}, at=DUE)

    program_id = world.program_id
    took = write_during_send(
        robot, deliver, lambda: create_member(client, operator, program_id, name="新成员")
    )
    assert took < HOLD_S
    assert len(robot.received) == 1
    with factory() as session:
        post = session.get(GroupPost, post_id)
        assert post is not None
        assert (post.status.value, post.attempts, post.done_at) == ("sent", 1, DUE)


def test_a_last_attempt_killed_during_its_send_is_not_sent_again(
    client: TestClient, factory: sessionmaker[Session], world: b.FeedWorld, stubs: list[Robot]
) -> None:
    """The run of a post's last attempt died during the send: once the lease is over the post is failed,
    not claimed a fourth time."""
    robot = stubs[0]
    _set_robot(client, factory, world.groups[0], robot)
    [post_id] = _evening_posts(client, world, [world.groups[0]])
    with factory() as session:
        post = session.get_one(GroupPost, post_id)
        post.attempts, post.done_at = delivery.MAX_ATTEMPTS, DUE - delivery.SENDING_LEASE
        session.commit()
    with factory() as session:
        delivery.deliver_due(session, at=DUE, settings=app_settings(client))
    with factory() as session:
        post = session.get_one(GroupPost, post_id)
        assert (post.status, post.attempts) == (PostStatus.FAILED, delivery.MAX_ATTEMPTS)
    assert robot.received == []


def test_a_send_past_its_lease_does_not_overwrite_what_the_next_run_came_to(
    client: TestClient,
    factory: sessionmaker[Session],
    world: b.FeedWorld,
    stubs: list[Robot],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A run whose send outlived its lease (its robot answered after minutes, say): the run after the
    lease failed the post, as it may be in the group already, and posted nothing; the late refusal
    changes nothing."""
    _set_robot(client, factory, world.groups[0], stubs[0])
    [post_id] = _evening_posts(client, world, [world.groups[0]])
    monkeypatch.setattr(delivery, "not_before_now", partial(not_before_now, now=DUE))
    later = DUE + delivery.SENDING_LEASE
    calls: list[int] = []

    def answer(_request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) == 1:  # the first attempt's send, answered once the second was made
            with factory() as session:
                delivery.deliver_due(session, at=later, settings=app_settings(client), transport=stub)
            return httpx.Response(500, text="busy")
        return httpx.Response(200, json={"errcode": 0, "errmsg": "ok"})

    stub = httpx.MockTransport(answer)
    with factory() as session:
        delivery.deliver_due(session, at=DUE, settings=app_settings(client), transport=stub)
    with factory() as session:
        post = session.get_one(GroupPost, post_id)
        assert (post.status, post.attempts, post.done_at, post.detail) == (
            PostStatus.FAILED,
            1,
            None,
            delivery.LEASE_LOST,
        )
    assert len(calls) == 1
