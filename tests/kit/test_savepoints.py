"""A savepoint opened before anything else in a transaction stays inside that transaction: its
release commits nothing, and the transaction's rollback takes back what the savepoint let through.
On SQLite the driver begins a transaction only before a write, so a savepoint opened first began
SQLite's own outermost transaction, and releasing it committed (a refusal after it could not undo
the row). Runs on both databases."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, MetaData, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from neigou.kit.db import make_engine, make_session_factory


class _Base(DeclarativeBase):
    metadata = MetaData()


class SavepointNote(_Base):
    __tablename__ = "savepoint_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    body: Mapped[str]


@pytest.fixture
def notes_engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    _Base.metadata.create_all(engine)
    try:
        yield engine
    finally:
        _Base.metadata.drop_all(engine)
        engine.dispose()


def _count(engine: Engine) -> int:
    with make_session_factory(engine)() as session:
        return int(session.scalar(select(func.count()).select_from(SavepointNote)) or 0)


def test_a_released_first_savepoint_is_rolled_back_with_its_transaction(notes_engine: Engine) -> None:
    with make_session_factory(notes_engine)() as session:
        with session.begin_nested():
            session.add(SavepointNote(id=1, body="kept only if the transaction commits"))
        session.rollback()
    assert _count(notes_engine) == 0


def test_a_read_then_a_savepoint_still_belongs_to_the_transaction(notes_engine: Engine) -> None:
    with make_session_factory(notes_engine)() as session:
        session.scalar(select(func.count()).select_from(SavepointNote))
        with session.begin_nested():
            session.add(SavepointNote(id=1, body="one"))
        session.rollback()
    assert _count(notes_engine) == 0


def test_a_savepoint_rolled_back_keeps_what_came_before_it(notes_engine: Engine) -> None:
    factory = make_session_factory(notes_engine)
    with factory() as session:
        session.add(SavepointNote(id=1, body="first"))
        session.flush()
        try:
            with session.begin_nested():
                session.add(SavepointNote(id=1, body="the same id again"))
        except IntegrityError:
            pass
        session.add(SavepointNote(id=2, body="second"))
        session.commit()
    assert _count(notes_engine) == 2
