"""Two wide pushes at once from two salespeople's books to the same shoppers keep each shopper's
frequency cap: a push of more customers than take their own locks (``privacy.repository.WIDE_FROM``)
holds the program's cap lock exclusively. Real parallel connections on both databases."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from neigou.audit import service as audit
from neigou.crm import pushes
from neigou.crm.models import Consent, ConsentPurpose, CrmSettings, Customer, CustomerSource, PushMessage
from neigou.kit.db import transaction
from neigou.kit.ids import customer_ref_hash, customer_ref_mask
from neigou.privacy.repository import WIDE_FROM
from neigou.programs.models import Member
from tests.campaigns import builders as fb
from tests.conftest import TEST_ACTOR, TokenMaker
from tests.crm import push_builders as pb
from tests.crm.push_builders import AT
from tests.lock_waits import lock_waits, paused, two_sides

SHOPPERS = WIDE_FROM + 1


def _book(factory: sessionmaker[Session], program_id: int, member_id: int, secret: str) -> list[int]:
    """The same ``SHOPPERS`` shoppers in a member's book, each with marketing consent."""
    with transaction(factory) as session:
        customers = [
            Customer(
                program_id=program_id,
                member_id=member_id,
                customer_ref_hash=customer_ref_hash(secret, f"137{i:08d}"),
                customer_ref_masked=customer_ref_mask(f"137{i:08d}"),
                tags=[],
                source=CustomerSource.MANUAL,
                preferred_categories=[],
                created_at=AT - timedelta(days=60),
                updated_at=AT - timedelta(days=60),
            )
            for i in range(SHOPPERS)
        ]
        session.add_all(customers)
        session.flush()
        session.add_all(
            Consent(
                program_id=program_id,
                customer_id=c.id,
                purpose=ConsentPurpose.MARKETING,
                granted=True,
                at=AT - timedelta(days=30),
                source="store",
                recorded_at=AT - timedelta(days=30),
            )
            for c in customers
        )
        return [c.id for c in customers]


def test_two_wide_pushes_from_two_books_keep_the_cap(
    client: TestClient,
    operator: dict[str, str],
    make_token: TokenMaker,
    factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world = pb.build(client, operator, make_token, factory)
    secret = client.app.state.settings.secret_key  # type: ignore[attr-defined]
    books = {
        member: _book(factory, world.feed.program_id, member, secret)
        for member in (world.feed.owner, world.feed.other_owner)
    }
    with transaction(factory) as session:
        session.add(CrmSettings(program_id=world.feed.program_id, cap_pushes=1, cap_days=7, updated_at=AT))
    waits = lock_waits(factory, 2)
    # Each side holds once its messages are written (the push's audit entry comes right after them).
    monkeypatch.setattr(pushes, "audit", SimpleNamespace(record=paused(audit.record, waits)))

    def push_from(member_id: int):  # type: ignore[no-untyped-def]
        def work(session: Session) -> int:
            member = session.get_one(Member, member_id)
            made = pushes.create_push(
                session,
                member=member,
                ask=pushes.PushRequest(
                    customer_ids=books[member_id], skus=[fb.TEE], template=None, due=AT, request_id=None
                ),
                base_url="https://n.example",
                actor=TEST_ACTOR,
                now=AT,
            )
            return len(made.messages)

        return work

    first, second = two_sides(factory, push_from(world.feed.owner), push_from(world.feed.other_owner), waits)
    assert (first, second) == (SHOPPERS, 0)
    with factory() as session:
        assert session.scalar(select(func.count(PushMessage.id))) == SHOPPERS
