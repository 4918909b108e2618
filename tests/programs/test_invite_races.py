"""Two changes of one program's invite tree at once on two connections (both databases): "A's inviter
is B" and "B's inviter is A" each pass the loop check alone, together they make a loop that pays A an
override on A's own sale. The change reads the program locked before its check, so the second waits
for the first one's commit, sees its edge and is refused ``invite_loop``."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.errors import Conflict
from neigou.programs import inviters, repository
from neigou.programs.models import Member
from tests.conftest import TEST_ACTOR
from tests.factories import create_member, create_program
from tests.lock_waits import lock_waits, paused, two_sides


def _rebind(member_id: int, inviter_id: int) -> Callable[[Session], int | None]:
    def work(session: Session) -> int | None:
        member = inviters.change_inviter(
            session, member_id=member_id, inviter_id=inviter_id, actor=TEST_ACTOR
        )
        return member.inviter_id

    return work


def test_crossed_inviter_changes_never_store_a_loop(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    program = create_program(client, operator)
    a = create_member(client, operator, program["id"], "a")["id"]
    b = create_member(client, operator, program["id"], "b")["id"]
    waits = lock_waits(factory, 2)
    # The first change holds once it read the upline its loop check looks at.
    monkeypatch.setattr(repository, "upline", paused(repository.upline, waits))
    first, second = two_sides(factory, _rebind(a, b), _rebind(b, a), waits)
    assert first == b
    assert isinstance(second, Conflict)
    assert (second.status, second.code) == (409, "invite_loop")
    with factory() as session:
        inviters = dict(
            session.execute(select(Member.id, Member.inviter_id).where(Member.id.in_([a, b]))).all()
        )
    assert inviters == {a: b, b: None}
    # The tree as stored: B may not go under A, A may leave B again.
    refused = client.put(f"/api/v1/members/{b}/inviter", json={"inviter_id": a}, headers=operator)
    assert (refused.status_code, refused.json()["code"]) == (409, "invite_loop")
    freed = client.put(f"/api/v1/members/{a}/inviter", json={"inviter_id": None}, headers=operator)
    assert (freed.status_code, freed.json()["inviter_id"]) == (200, None)
