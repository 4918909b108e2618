"""A scheduled post goes out only into a group that is still active and still its member's when it is
sent: a group archived or handed over to another owner since (its robot went with it) takes nothing,
and the post fails at once (``group_gone``), posted nowhere, never turned into a task."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from unittest import mock

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.feed import delivery
from neigou.feed.models import GroupPost, PostStatus
from neigou.kit import robot_budget
from neigou.kit.settings import Settings
from tests.campaigns import builders as b
from tests.conftest import TokenMaker
from tests.feed.conftest import app_settings
from tests.sign_in import member_sign_in

ROBOT = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc-123"
DUE = b.AT + timedelta(hours=8)  # the evening slot of AT's day


class Sends:
    """A robot stub that counts what reaches it and answers ok."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.transport = httpx.MockTransport(self._answer)

    def _answer(self, request: httpx.Request) -> httpx.Response:
        self.bodies.append(request.content)
        return httpx.Response(200, json={"errcode": 0, "errmsg": "ok"})


def _robot(client: TestClient, world: b.FeedWorld, url: str | None) -> None:
    put = client.put(
        f"/api/v1/groups/{world.groups[0]}/robot", json={"webhook_url": url}, headers=world.owner_headers
    )
    assert put.status_code == 200, put.text


def _post(client: TestClient, world: b.FeedWorld) -> int:
    """An evening post of the owner's first group, which has a robot."""
    group = world.groups[0]
    _robot(client, world, ROBOT)
    made = client.post(
        f"/api/v1/members/{world.owner}/posts",
        json={"group_ids": [group], "skus": [b.TEE], "at": b.AT.isoformat(), "slot": "evening"},
        headers=world.owner_headers,
    )
    assert made.status_code == 201, made.text
    assert made.json()["posts"][0]["status"] == "scheduled"
    return int(made.json()["posts"][0]["id"])


def _change(client: TestClient, operator: dict[str, str], group: int, **body: Any) -> None:
    changed = client.patch(f"/api/v1/groups/{group}", json=body, headers=operator)
    assert changed.status_code == 200, changed.text


def _run(
    client: TestClient, factory: sessionmaker[Session], sends: Sends, at: datetime = DUE
) -> list[GroupPost]:
    with factory() as session:
        return delivery.deliver_due(session, at=at, settings=app_settings(client), transport=sends.transport)


def _stored(factory: sessionmaker[Session], post_id: int) -> tuple[PostStatus, int, str | None]:
    with factory() as session:
        post = session.get_one(GroupPost, post_id)
        return post.status, post.attempts, post.detail


@pytest.mark.parametrize(
    "change", [{"owner_member_id": "other"}, {"status": "archived"}], ids=["handed_over", "archived"]
)
def test_a_post_whose_group_went_since_it_was_made_is_posted_nowhere(
    client: TestClient,
    operator: dict[str, str],
    make_token: TokenMaker,
    factory: sessionmaker[Session],
    change: dict[str, str],
) -> None:
    """Handed over, the group's robot is the new owner's chat now (the post carries the old owner's
    links); archived, it takes no posts. Either way the post fails at once and later runs send nothing."""
    world = b.build(client, operator, make_token)
    post_id = _post(client, world)
    body = {k: world.other_owner if v == "other" else v for k, v in change.items()}
    _change(client, operator, world.groups[0], **body)
    sends = Sends()
    attempted = _run(client, factory, sends)
    assert [(p.id, p.status, p.detail) for p in attempted] == [(post_id, PostStatus.FAILED, "group_gone")]
    _run(client, factory, sends, DUE + delivery.SENDING_LEASE + timedelta(minutes=5))
    assert sends.bodies == []
    assert _stored(factory, post_id) == (PostStatus.FAILED, 0, delivery.GROUP_GONE)


def test_a_post_whose_robot_was_removed_and_group_went_becomes_no_task(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, factory: sessionmaker[Session]
) -> None:
    """A post whose robot is gone becomes a task to copy, but not into a group that is no longer the
    member's."""
    world = b.build(client, operator, make_token)
    post_id = _post(client, world)
    _robot(client, world, None)
    _change(client, operator, world.groups[0], owner_member_id=world.other_owner)
    _run(client, factory, Sends())
    assert _stored(factory, post_id) == (PostStatus.FAILED, 0, delivery.GROUP_GONE)


def test_a_group_still_the_members_gets_its_post(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, factory: sessionmaker[Session]
) -> None:
    """Renamed, the group is still the member's: the post goes out."""
    world = b.build(client, operator, make_token)
    post_id = _post(client, world)
    _change(client, operator, world.groups[0], name="改名后的群")
    sends = Sends()
    _run(client, factory, sends)
    assert len(sends.bodies) == 1
    assert _stored(factory, post_id) == (PostStatus.SENT, 1, "ok")


def test_a_group_handed_over_after_the_run_read_it_is_not_posted_into(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, factory: sessionmaker[Session]
) -> None:
    """The handover commits between the run's reads and its claim: the claim asks the database, takes
    nothing, and the next run fails the post."""
    world = b.build(client, operator, make_token)
    post_id = _post(client, world)
    take = robot_budget.take

    def handed_over_first(url: str, settings: Settings) -> bool:
        _change(client, operator, world.groups[0], owner_member_id=world.other_owner)
        return take(url, settings)

    sends = Sends()
    with mock.patch.object(robot_budget, "take", handed_over_first):
        assert _run(client, factory, sends) == []
    assert _stored(factory, post_id) == (PostStatus.SCHEDULED, 0, None)
    _run(client, factory, sends, DUE + delivery.RUN_EVERY)
    assert sends.bodies == []
    assert _stored(factory, post_id) == (PostStatus.FAILED, 0, delivery.GROUP_GONE)


def test_the_owner_reads_why_the_post_went_nowhere_in_the_pages_language(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, factory: sessionmaker[Session]
) -> None:
    world = b.build(client, operator, make_token)
    post_id = _post(client, world)
    _change(client, operator, world.groups[0], status="archived")
    _run(client, factory, Sends())
    member_sign_in(client, make_token("member", world.owner))
    chinese = client.get("/m/posts")
    assert chinese.status_code == 200
    note = re.search(rf'id="post-{post_id}".*?data-testid="post-note">([^<]+)<', chinese.text, re.S)
    assert note is not None, chinese.text
    assert "没有发到任何群" in note.group(1)
    english = client.get("/m/posts?lang=en")
    assert "it was posted nowhere" in english.text
