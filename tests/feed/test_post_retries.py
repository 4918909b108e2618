"""Posts made again under the same ``Idempotency-Key``: the first posts and nothing more (no second
post, link or robot message for a group), also when the retries arrive at once."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from neigou.feed import posts as post_service
from neigou.feed.models import GroupPost, Slot
from neigou.kit.errors import ProblemError
from neigou.links.models import ShareLink
from neigou.programs.models import Member
from tests.campaigns import builders as b
from tests.conftest import TEST_ACTOR, TokenMaker
from tests.parallel import in_parallel


def _posts(client: TestClient, world: b.FeedWorld, key: str | None, **body: Any) -> Any:
    headers = {**world.owner_headers, **({"Idempotency-Key": key} if key else {})}
    return client.post(f"/api/v1/members/{world.owner}/posts", json=body, headers=headers)


def _stored(factory: sessionmaker[Session]) -> tuple[int, int]:
    with factory() as session:
        return (
            session.scalar(select(func.count()).select_from(GroupPost)) or 0,
            session.scalar(select(func.count()).select_from(ShareLink).where(ShareLink.group_id.is_not(None)))
            or 0,
        )


def test_the_same_key_makes_the_posts_once_and_answers_them_again(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, factory: sessionmaker[Session]
) -> None:
    world = b.build(client, operator, make_token)
    body = {"group_ids": world.groups[:2], "skus": [b.SHAMPOO, b.TEE], "at": b.AT.isoformat()}
    first = _posts(client, world, "morning-1", **body)
    assert first.status_code == 201, first.text
    again = _posts(client, world, "morning-1", **{**body, "at": None})  # a retry's own clock
    assert (again.status_code, again.json()) == (201, first.json())
    assert _stored(factory) == (2, 4)
    for changed in ({"skus": [b.SHAMPOO]}, {"group_ids": world.groups[:1]}, {"slot": "evening"}):
        refused = _posts(client, world, "morning-1", **{**body, **changed})
        assert (refused.status_code, refused.json()["code"]) == (409, "idempotency_key_reused"), changed
    other = _posts(client, world, "morning-2", **body)
    assert other.status_code == 201, other.text
    unkeyed = _posts(client, world, None, **body)
    assert unkeyed.status_code == 201, unkeyed.text
    assert _stored(factory) == (6, 12)


def test_a_refused_request_leaves_its_key_free(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, factory: sessionmaker[Session]
) -> None:
    world = b.build(client, operator, make_token)
    refused = _posts(
        client, world, "k", group_ids=world.groups[:1], skus=["NOT-IN-FEED"], at=b.AT.isoformat()
    )
    assert (refused.status_code, refused.json()["code"]) == (422, "not_in_feed")
    made = _posts(client, world, "k", group_ids=world.groups[:1], skus=[b.TEE], at=b.AT.isoformat())
    assert made.status_code == 201, made.text
    assert _stored(factory) == (1, 1)


def test_retries_at_once_make_the_posts_once(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, factory: sessionmaker[Session]
) -> None:
    world = b.build(client, operator, make_token)

    def work(session: Session) -> object:
        member = session.get(Member, world.owner)
        assert member is not None
        try:
            made = post_service.create_posts(
                session,
                member=member,
                group_ids=world.groups[:2],
                skus=[b.SHAMPOO, b.TEE],
                slot=Slot.NOW,
                at=b.AT,
                base_url="https://example.test",
                actor=TEST_ACTOR,
                request_id="burst-1",
            )
        except ProblemError as exc:
            return exc.code
        return tuple(m.post.id for m in made)

    answers = in_parallel(factory, work, 6)
    assert len(set(answers)) == 1, answers
    assert _stored(factory) == (2, 4)
