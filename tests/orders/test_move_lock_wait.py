"""A move of a member to another inviter waits a bounded time for its program's lock: order intake
holds the program ``FOR KEY SHARE`` (a file import for as long as its batches run, and PostgreSQL keeps
granting those while a ``FOR UPDATE`` waits), so past ``lock_wait_ms`` the move is answered 503
``overloaded`` with Retry-After, nothing written, and succeeds once intake let go."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.orders.lookups import programs as lock_programs
from neigou.programs.models import Member, MemberInviterPeriod
from tests.factories import create_member, create_program
from tests.lock_waits import answered_while_held, assert_shed


@pytest.mark.postgres_only
@pytest.mark.usefixtures("short_lock_wait")
def test_a_move_waits_for_intake_a_bounded_time_then_succeeds_after_it(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
) -> None:
    program_id = create_program(client, operator)["id"]
    moved = create_member(client, operator, program_id, "moved")["id"]
    other = create_member(client, operator, program_id, "other")["id"]
    busy = answered_while_held(
        factory,
        lambda intake: lock_programs(intake, [program_id]),  # what order intake holds while it prices
        lambda: client.put(f"/api/v1/members/{moved}/inviter", json={"inviter_id": other}, headers=operator),
    )
    assert_shed(busy)
    with factory() as session:
        assert session.get(Member, moved).inviter_id is None  # type: ignore[union-attr]
        assert (
            session.scalars(select(MemberInviterPeriod).where(MemberInviterPeriod.reason == "moved")).all()
            == []
        )
    again = client.put(f"/api/v1/members/{moved}/inviter", json={"inviter_id": other}, headers=operator)
    assert again.status_code == 200, again.text
    assert again.json()["inviter_id"] == other
