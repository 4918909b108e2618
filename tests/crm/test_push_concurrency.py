"""The same push retried in parallel on PostgreSQL: one push, one set of messages and links, the same
answer for every retry."""

from __future__ import annotations

import threading

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from neigou.crm import pushes
from neigou.crm.models import Push, PushMessage
from neigou.kit.clock import utcnow
from neigou.links.models import ShareLink
from neigou.programs.models import Member
from tests.campaigns import builders as fb
from tests.conftest import TEST_ACTOR, TokenMaker
from tests.crm import push_builders as pb
from tests.crm.push_builders import AT
from tests.parallel import in_parallel

PARALLEL = 6


@pytest.mark.postgres_only
def test_parallel_retries_under_one_key_make_one_push(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, factory: sessionmaker[Session]
) -> None:
    world = pb.build(client, operator, make_token, factory)

    def send(session: Session) -> int:
        member = session.get(Member, world.feed.owner)
        assert member is not None
        made = pushes.create_push(
            session,
            member=member,
            ask=pushes.PushRequest(
                customer_ids=[world.wang, world.li],
                skus=[fb.TEE],
                template=None,
                due=AT,
                request_id="race-1",
            ),
            base_url="https://n.example",
            actor=TEST_ACTOR,
            now=utcnow(),
        )
        return made.push.id

    results = in_parallel(factory, send, PARALLEL)
    assert all(isinstance(r, int) for r in results), results
    assert len(set(results)) == 1
    with factory() as session:
        assert session.scalar(select(func.count(Push.id))) == 1
        assert session.scalar(select(func.count(PushMessage.id))) == 2
        assert session.scalar(select(func.count(ShareLink.id)).where(ShareLink.push_id.is_not(None))) == 2


@pytest.mark.postgres_only
def test_parallel_pushes_to_one_customer_keep_the_cap(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, factory: sessionmaker[Session]
) -> None:
    world = pb.build(client, operator, make_token, factory)
    keys = iter(range(PARALLEL))
    lock = threading.Lock()

    def send(session: Session) -> int:
        with lock:
            key = next(keys)
        member = session.get(Member, world.feed.owner)
        assert member is not None
        made = pushes.create_push(
            session,
            member=member,
            ask=pushes.PushRequest(
                customer_ids=[world.wang], skus=[fb.TEE], template=None, due=AT, request_id=f"cap-{key}"
            ),
            base_url="https://n.example",
            actor=TEST_ACTOR,
            now=utcnow(),
        )
        return len(made.messages)

    results = in_parallel(factory, send, PARALLEL)
    assert sorted(results) == [0] * (PARALLEL - 2) + [1, 1], results  # type: ignore[type-var]
