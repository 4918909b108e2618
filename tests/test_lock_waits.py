"""The hold of a race's side (``tests.lock_waits``) on PostgreSQL: it goes on once the other side waits
for its lock, and fails, instead of going on, when the other side neither waits nor ends."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.lock_waits import LockWaits
from tests.parallel import in_parallel

KEY = 0x6C6F636B  # an advisory lock key of this test alone


@pytest.mark.postgres_only
def test_a_hold_ends_once_the_other_side_waits_for_its_lock(factory: sessionmaker[Session]) -> None:
    waits = LockWaits(factory, 2)
    roles = iter(["first", "second"])
    seen: list[str] = []

    def work(session: Session) -> str:
        role = next(roles)
        waits.join(session)
        if role == "second":
            assert waits.reached.wait(30)
        session.connection().exec_driver_sql("SELECT pg_advisory_xact_lock(%s)", (KEY,))
        if role == "first":
            waits.hold()
        seen.append(role)  # the first side before its commit, the second once it got the lock
        return role

    assert sorted(map(str, in_parallel(factory, work, 2))) == ["first", "second"]
    assert seen == ["first", "second"]


@pytest.mark.postgres_only
def test_a_hold_fails_when_the_other_side_neither_waits_nor_ends(factory: sessionmaker[Session]) -> None:
    waits = LockWaits(factory, 2, wait_s=0.5)
    roles = iter(["first", "second"])
    done = threading.Event()
    # Both sides joined before the hold: its short wait is then all for the other side's lock, which a
    # side starved on a loaded machine would otherwise spend joining ("only 1 of 2 sides joined").
    joined = threading.Barrier(2, timeout=30)

    def work(session: Session) -> str:
        role = next(roles)
        waits.join(session)
        joined.wait()
        if role == "second":  # in its transaction, waiting for nothing the server sees
            assert done.wait(30)
            return role
        try:
            waits.hold()
        except AssertionError as refused:
            return str(refused)
        finally:
            done.set()
        return role

    results = in_parallel(factory, work, 2)
    assert any("neither waited for a lock of the race nor ended" in str(r) for r in results), results
