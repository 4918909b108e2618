"""A robot's answer the run cannot read as expected still finishes the attempt: an answer nested past
the JSON parser's depth is the robot's 2xx (sent), and an error while sending or reading (a fault, not a
refusal) fails the post at once. Neither leaves the post claimed, to be posted again after the lease."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.feed import delivery
from neigou.feed.models import GroupPost, PostStatus
from tests.campaigns import builders as b
from tests.conftest import TokenMaker
from tests.feed.conftest import app_settings
from tests.sign_in import member_sign_in

ROBOT = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc-123"
DUE = b.AT + timedelta(hours=8)  # the evening slot of AT's day
DEPTH = 100_000


def _robot_post(client: TestClient, operator: dict[str, str], make_token: TokenMaker) -> int:
    return _robot_post_of(client, operator, make_token)[0]


def _robot_post_of(client: TestClient, operator: dict[str, str], make_token: TokenMaker) -> tuple[int, int]:
    """A post of the owner's group with a robot, and the owner's member id."""
    world = b.build(client, operator, make_token)
    group = world.groups[0]
    put = client.put(
        f"/api/v1/groups/{group}/robot", json={"webhook_url": ROBOT}, headers=world.owner_headers
    )
    assert put.status_code == 200, put.text
    made = client.post(
        f"/api/v1/members/{world.owner}/posts",
        json={"group_ids": [group], "skus": [b.TEE], "at": b.AT.isoformat(), "slot": "evening"},
        headers=world.owner_headers,
    )
    assert made.status_code == 201, made.text
    return int(made.json()["posts"][0]["id"]), world.owner


def _runs(client: TestClient, factory: sessionmaker[Session], stub: httpx.MockTransport) -> None:
    """A run at the slot, then one after the lease (which would take a post left claimed)."""
    for at in (DUE, DUE + delivery.SENDING_LEASE + timedelta(minutes=5)):
        with factory() as session:
            delivery.deliver_due(session, at=at, settings=app_settings(client), transport=stub)


def test_a_deeply_nested_answer_is_sent_once(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, factory: sessionmaker[Session]
) -> None:
    post_id = _robot_post(client, operator, make_token)
    sends: list[int] = []

    def answer(_request: httpx.Request) -> httpx.Response:
        sends.append(1)
        return httpx.Response(200, content=("[" * DEPTH + "]" * DEPTH).encode())

    _runs(client, factory, httpx.MockTransport(answer))
    with factory() as session:
        post = session.get_one(GroupPost, post_id)
        assert (post.status, post.attempts, post.done_at) == (PostStatus.SENT, 1, DUE)
    assert len(sends) == 1


def test_an_error_while_sending_fails_the_post_and_sends_it_no_more(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, factory: sessionmaker[Session]
) -> None:
    post_id = _robot_post(client, operator, make_token)
    sends: list[int] = []

    def answer(_request: httpx.Request) -> httpx.Response:
        sends.append(1)
        raise LookupError("not a network error: a fault of the sender")

    _runs(client, factory, httpx.MockTransport(answer))
    with factory() as session:
        post = session.get_one(GroupPost, post_id)
        assert (post.status, post.attempts, post.done_at) == (PostStatus.FAILED, 1, None)
        assert post.detail is not None
        assert "LookupError" in post.detail
        assert "sender" not in post.detail  # the exception's text is logged (redacted), not kept
    assert len(sends) == 1


def test_the_owner_reads_why_a_post_failed_in_the_pages_language(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, factory: sessionmaker[Session]
) -> None:
    """A post failed by an error while sending says so on the owner's posts page, in Chinese by default
    and in English when asked: it may be in the group already, so check before copying it."""
    post_id, owner = _robot_post_of(client, operator, make_token)

    def answer(_request: httpx.Request) -> httpx.Response:
        raise LookupError("not a network error: a fault of the sender")

    _runs(client, factory, httpx.MockTransport(answer))
    member_sign_in(client, make_token("member", owner))
    chinese = client.get("/m/posts")
    assert chinese.status_code == 200
    note = re.search(rf'id="post-{post_id}".*?data-testid="post-note">([^<]+)<', chinese.text, re.S)
    assert note is not None, chinese.text
    assert "可能已经发到群里" in note.group(1)
    english = client.get("/m/posts?lang=en")
    assert "It may be in the group already" in english.text
    assert "LookupError" not in english.text
    assert "sender" not in english.text
