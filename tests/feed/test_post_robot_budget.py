"""A group robot takes 20 messages a minute (``kit.robot_budget``): a post over its robot's 20 is neither
claimed nor sent and a later run posts it, no attempt taken; a robot's ``errcode 45009`` gives the
attempt back until the post's last attempt would have come; a post whose run died during the send is
failed once its lease is over, as it may be in the group already, never posted twice."""

from __future__ import annotations

from datetime import timedelta
from functools import partial

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.feed import delivery
from neigou.feed.models import GroupPost, PostStatus
from neigou.kit import robot_budget
from neigou.kit.clock import not_before_now
from tests.conftest import TokenMaker
from tests.feed.conftest import app_settings
from tests.feed.test_post_send_errors import DUE, ROBOT, _robot_post


class Killed(BaseException):
    """The sending run's death during the send (nothing after it runs, the claim stays)."""


@pytest.fixture(autouse=True)
def sent_at_the_slot(monkeypatch: pytest.MonkeyPatch) -> None:
    """Sends are dated at the post's slot (the story's time), not the machine's clock."""
    monkeypatch.setattr(delivery, "not_before_now", partial(not_before_now, now=DUE))


def _answering(errcode: int, sent: list[int]) -> httpx.MockTransport:
    def answer(_request: httpx.Request) -> httpx.Response:
        sent.append(1)
        return httpx.Response(200, json={"errcode": errcode, "errmsg": "ok" if errcode == 0 else "limit"})

    return httpx.MockTransport(answer)


def _post(factory: sessionmaker[Session], post_id: int) -> tuple[PostStatus, int, str | None]:
    with factory() as session:
        post = session.get_one(GroupPost, post_id)
        return post.status, post.attempts, post.detail


def test_the_21st_post_of_a_minute_waits_for_a_later_run_without_losing_an_attempt(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, factory: sessionmaker[Session]
) -> None:
    post_id = _robot_post(client, operator, make_token)
    for _ in range(20):  # the robot's 20 this minute, through other senders
        assert robot_budget.take(ROBOT, app_settings(client))
    sent: list[int] = []
    with factory() as session:
        assert (
            delivery.deliver_due(
                session, at=DUE, settings=app_settings(client), transport=_answering(0, sent)
            )
            == []
        )
    assert (sent, _post(factory, post_id)) == ([], (PostStatus.SCHEDULED, 0, None))
    robot_budget.forget()  # the next minute
    later = DUE + delivery.RUN_EVERY
    with factory() as session:
        delivery.deliver_due(session, at=later, settings=app_settings(client), transport=_answering(0, sent))
    assert (sent, _post(factory, post_id)) == ([1], (PostStatus.SENT, 1, "ok"))


def test_a_robot_answering_45009_gives_the_attempt_back_until_the_last_attempt_would_come(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, factory: sessionmaker[Session]
) -> None:
    post_id = _robot_post(client, operator, make_token)
    sent: list[int] = []
    limited = robot_budget.RATE_LIMITED
    for run in range(delivery.MAX_ATTEMPTS):
        with factory() as session:
            at = DUE + run * delivery.RUN_EVERY
            delivery.deliver_due(
                session, at=at, settings=app_settings(client), transport=_answering(45009, sent)
            )
        assert _post(factory, post_id) == (PostStatus.SCHEDULED, 0, limited), run
    assert len(sent) == delivery.MAX_ATTEMPTS
    with factory() as session:  # past the slot's last attempt: a refusal like any other
        at = DUE + delivery.GIVE_BACK_FOR
        delivery.deliver_due(session, at=at, settings=app_settings(client), transport=_answering(45009, sent))
    assert _post(factory, post_id) == (PostStatus.SCHEDULED, 1, limited)


def test_a_post_whose_run_died_during_the_send_is_failed_not_posted_again(
    client: TestClient,
    operator: dict[str, str],
    make_token: TokenMaker,
    factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    post_id = _robot_post(client, operator, make_token)

    def killed(*_args: object, **_kwargs: object) -> None:
        raise Killed

    with monkeypatch.context() as patched:
        patched.setattr(delivery, "send_markdown", killed)
        with factory() as session, pytest.raises(Killed):
            delivery.deliver_due(session, at=DUE, settings=app_settings(client))
    assert _post(factory, post_id) == (PostStatus.SCHEDULED, 1, None)  # claimed, never answered
    sent: list[int] = []
    after = DUE + delivery.SENDING_LEASE + timedelta(seconds=1)
    with factory() as session:
        delivery.deliver_due(session, at=after, settings=app_settings(client), transport=_answering(0, sent))
    assert (sent, _post(factory, post_id)) == ([], (PostStatus.FAILED, 1, delivery.LEASE_LOST))
    assert delivery.LEASE_LOST.startswith(delivery.SEND_FAULT)  # the owner reads "it may be in the group"
    with factory() as session:
        delivery.deliver_due(
            session,
            at=after + timedelta(hours=1),
            settings=app_settings(client),
            transport=_answering(0, sent),
        )
    assert sent == []
