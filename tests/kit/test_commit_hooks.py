"""Work that follows a commit waits for the outermost one: a savepoint released hands its items to the
transaction around it, a savepoint rolled back drops (or undoes) its own items only."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.orm import Session

from neigou.kit import commit_hooks

KEY = "test_commit_hooks"


class Seen:
    def __init__(self) -> None:
        self.done: list[Any] = []
        self.undone: list[Any] = []


@pytest.fixture
def seen() -> Any:
    record = Seen()

    def committed(session: Session) -> None:
        items = commit_hooks.released(session, KEY)
        if items is not None:
            record.done.extend(items)

    def rolled_back(session: Session) -> None:
        record.undone.extend(commit_hooks.rolled_back(session, KEY))

    event.listen(Session, "after_commit", committed)
    event.listen(Session, "after_rollback", rolled_back)
    yield record
    event.remove(Session, "after_commit", committed)
    event.remove(Session, "after_rollback", rolled_back)


def test_items_wait_for_the_outermost_commit(seen: Seen) -> None:
    with Session(create_engine("sqlite://")) as session:
        session.execute(text("select 1"))
        commit_hooks.add(session, KEY, "outer")
        with session.begin_nested():
            commit_hooks.add(session, KEY, "released")
            with session.begin_nested():
                commit_hooks.add(session, KEY, "released inside")
        assert seen.done == []  # nothing before the database committed
        savepoint = session.begin_nested()
        commit_hooks.add(session, KEY, "rolled back")
        savepoint.rollback()
        assert seen.undone == ["rolled back"]  # the savepoint's own only
        session.commit()
    assert seen.done == ["outer", "released", "released inside"]


def test_an_outer_rollback_drops_what_released_savepoints_made(seen: Seen) -> None:
    with Session(create_engine("sqlite://")) as session:
        session.execute(text("select 1"))
        with session.begin_nested():
            commit_hooks.add(session, KEY, "released")
        commit_hooks.add(session, KEY, "outer")
        session.rollback()
    assert (seen.done, sorted(seen.undone)) == ([], ["outer", "released"])


def test_a_rolled_back_savepoint_sees_what_the_transaction_around_it_still_holds() -> None:
    held: list[list[Any]] = []

    def rolled_back(session: Session) -> None:
        commit_hooks.rolled_back(session, KEY)
        held.append(commit_hooks.pending(session, KEY))

    event.listen(Session, "after_rollback", rolled_back)
    try:
        with Session(create_engine("sqlite://")) as session:
            session.execute(text("select 1"))
            commit_hooks.add(session, KEY, "outer")
            savepoint = session.begin_nested()
            commit_hooks.add(session, KEY, "inner")
            assert commit_hooks.pending(session, KEY) == ["outer", "inner"]
            savepoint.rollback()
            session.rollback()
    finally:
        event.remove(Session, "after_rollback", rolled_back)
    assert held == [["outer"], []]
