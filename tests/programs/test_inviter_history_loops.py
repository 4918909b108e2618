"""A move dated in the past is checked against the invite tree the periods record from its date on, not
only against today's: "B under A from day -5" while A was under B from day -10 to day -2 would make the
upline of an order paid in between go round A and B. The walk looks at the move's date and at every later
start of a move, so a loop that only forms at a later instant is refused too; a move that loops nowhere
is taken. Two such moves at once on two connections run one after the other under the program's lock:
of "A under B" and "B under A" only one is stored, and a loop of three made by two moves at once (each
loop-free alone, today's tree loop-free after both) is refused to the second."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.clock import utcnow
from neigou.kit.errors import Conflict
from neigou.programs import inviters, repository
from neigou.programs.models import Member, MemberInviterPeriod
from tests.conftest import TEST_ACTOR
from tests.factories import create_member, create_program
from tests.lock_waits import lock_waits, paused, two_sides


def _days(n: float) -> datetime:
    return utcnow() - timedelta(days=n)


def _move(
    client: TestClient,
    operator: dict[str, str],
    member: int,
    inviter: int | None,
    at: datetime,
    **headers: str,
) -> Any:
    body = {"inviter_id": inviter, "effective_from": at.isoformat()}
    return client.put(f"/api/v1/members/{member}/inviter", json=body, headers={**operator, **headers})


def _members(client: TestClient, operator: dict[str, str], *names: str) -> list[int]:
    program = create_program(client, operator)
    joined = _days(20).isoformat()
    return [create_member(client, operator, program["id"], n, joined_at=joined)["id"] for n in names]


def _periods(factory: sessionmaker[Session]) -> int:
    with factory() as session:
        return int(session.scalar(select(func.count(MemberInviterPeriod.id))) or 0)


def test_a_move_looping_in_the_recorded_tree_is_refused_in_the_readers_language(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    a, b = _members(client, operator, "a", "b")
    assert _move(client, operator, a, b, _days(10)).status_code == 200
    assert _move(client, operator, a, None, _days(2)).status_code == 200
    stored = _periods(factory)
    refused = _move(client, operator, b, a, _days(5))
    assert (refused.status_code, refused.json()["code"]) == (409, "invite_loop")
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert "effective_from" in refused.json()["detail"]
    english = _move(client, operator, b, a, _days(5), **{"Accept-Language": "en"})
    assert (english.status_code, english.json()["code"]) == (409, "invite_loop")
    assert "downline" in english.json()["detail"]
    assert english.json()["detail"] != refused.json()["detail"]
    assert _periods(factory) == stored  # nothing written
    with factory() as session:
        assert session.get(Member, b).inviter_id is None  # type: ignore[union-attr]
    # From the day A left B on, B may go under A; and A may go under B again as B has no inviter.
    taken = _move(client, operator, b, a, _days(2))
    assert (taken.status_code, taken.json()["inviter_id"]) == (200, a)


def test_a_loop_forming_only_after_the_moves_date_is_refused(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    a, b, c = _members(client, operator, "a", "b", "c")
    # A under C from day -3 to day -1, C under B from day -4 on: at day -5 B under A loops nowhere,
    # from day -3 to day -1 it makes B → A → C → B.
    assert _move(client, operator, c, b, _days(4)).status_code == 200
    assert _move(client, operator, a, c, _days(3)).status_code == 200
    assert _move(client, operator, a, None, _days(1)).status_code == 200
    refused = _move(client, operator, b, a, _days(5))
    assert (refused.status_code, refused.json()["code"]) == (409, "invite_loop")
    # From day -1 on A has no inviter: the same move dated then is taken, and leaving is never a loop.
    assert _move(client, operator, b, a, _days(1)).status_code == 200
    assert _move(client, operator, b, None, _days(0.5)).status_code == 200


def _rebind(member_id: int, inviter_id: int, at: datetime) -> Callable[[Session], int | None]:
    def work(session: Session) -> int | None:
        member = inviters.change_inviter(
            session, member_id=member_id, inviter_id=inviter_id, actor=TEST_ACTOR, at=at
        )
        return member.inviter_id

    return work


def test_opposite_past_dated_moves_at_once_store_one(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    a, b = _members(client, operator, "a", "b")
    waits = lock_waits(factory, 2)
    # The first move holds once it read the recorded tree its history check looks at.
    monkeypatch.setattr(repository, "upline_ever_includes", paused(repository.upline_ever_includes, waits))
    first, second = two_sides(factory, _rebind(a, b, _days(5)), _rebind(b, a, _days(5)), waits)
    assert first == b
    assert isinstance(second, Conflict)
    assert (second.status, second.code) == (409, "invite_loop")
    with factory() as session:
        stored = dict(
            session.execute(select(Member.id, Member.inviter_id).where(Member.id.in_([a, b]))).all()
        )
        moves = session.scalar(select(func.count()).where(MemberInviterPeriod.reason == "moved"))
    assert stored == {a: b, b: None}
    assert moves == 1


def test_two_moves_at_once_making_a_loop_of_three_in_the_past_store_one(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    a, b, c = _members(client, operator, "a", "b", "c")
    assert _move(client, operator, a, b, _days(10)).status_code == 200
    assert _move(client, operator, a, None, _days(3)).status_code == 200
    waits = lock_waits(factory, 2)
    # Each alone loops nowhere, and today's tree after both (B → C → A) neither; from day -5 to day -3
    # they make A → B → C → A.
    monkeypatch.setattr(repository, "upline", paused(repository.upline, waits))
    first, second = two_sides(factory, _rebind(b, c, _days(5)), _rebind(c, a, _days(5)), waits)
    assert first == c
    assert isinstance(second, Conflict)
    assert (second.status, second.code) == (409, "invite_loop")
    with factory() as session:
        assert session.get(Member, c).inviter_id is None  # type: ignore[union-attr]
