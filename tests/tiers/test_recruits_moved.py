"""A month's recruits count for the inviter they joined under: a member recruited under B in March
counts for B's March even when an operator moves them to C in April, and not for C's (both databases)."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.tiers.metrics import period_figures
from tests.factories import create_member, create_program

MARCH, APRIL, MAY = (datetime(2026, m, 1, tzinfo=UTC) for m in (3, 4, 5))


def _recruits(factory: sessionmaker[Session], program: int, start: datetime, end: datetime) -> dict[int, int]:
    with factory() as session:
        figures = period_figures(session, program_id=program, start=start, end=end)
    return {m: f.direct_recruits for m, f in figures.metrics.items() if f.direct_recruits}


def test_a_recruit_moved_after_joining_counts_for_the_inviter_they_joined_under(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    program = create_program(client, operator)["id"]
    early = datetime(2026, 2, 1, tzinfo=UTC).isoformat()
    b = create_member(client, operator, program, "b", joined_at=early)["id"]
    c = create_member(client, operator, program, "c", joined_at=early)["id"]
    recruit = create_member(
        client, operator, program, "r", inviter_id=b, joined_at=datetime(2026, 3, 10, tzinfo=UTC).isoformat()
    )["id"]
    create_member(
        client, operator, program, "s", inviter_id=c, joined_at=datetime(2026, 4, 2, tzinfo=UTC).isoformat()
    )
    moved = client.put(
        f"/api/v1/members/{recruit}/inviter",
        json={"inviter_id": c, "effective_from": datetime(2026, 4, 10, tzinfo=UTC).isoformat()},
        headers=operator,
    )
    assert moved.status_code == 200, moved.text
    assert _recruits(factory, program, MARCH, APRIL) == {b: 1}
    assert _recruits(factory, program, APRIL, MAY) == {c: 1}  # "s" only: "r" joined in March
    with factory() as session:  # narrowed to one member (the workspace's card), the same
        mine = period_figures(session, program_id=program, start=MARCH, end=APRIL, member_ids=[b, c])
    assert {m: f.direct_recruits for m, f in mine.metrics.items()} == {b: 1}
