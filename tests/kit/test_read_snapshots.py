"""``kit.db.read_snapshot``: every read of the transaction it begins sees one snapshot of the database,
whatever another connection commits meanwhile, on both databases (on PostgreSQL a REPEATABLE READ,
READ ONLY transaction; on SQLite one read transaction, which the driver never opens for a SELECT by
itself: each statement read in a snapshot of its own). A transaction already open is ended first when
it only read, and the connection goes back to the pool able to write; a session holding work that
rollback would lose (changes not flushed, writes flushed or sent, a savepoint, a lock) is refused and
keeps it."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Engine, MetaData, func, insert, select, text
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.pool import NullPool

from neigou.kit.db import make_engine, make_session_factory, read_snapshot


class _Base(DeclarativeBase):
    metadata = MetaData()


class SnapshotNote(_Base):
    __tablename__ = "snapshot_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str | None] = mapped_column(default=None)


@pytest.fixture
def notes_engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url, pool_size=1, max_overflow=0)  # one connection, used again
    _Base.metadata.create_all(engine)
    try:
        yield engine
    finally:
        _Base.metadata.drop_all(engine)
        engine.dispose()


def _count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(SnapshotNote)) or 0)


def _commit_one(engine: Engine, note_id: int) -> None:
    """A note committed on another connection (an engine of its own)."""
    other_engine = make_engine(engine.url.render_as_string(hide_password=False), poolclass=NullPool)
    try:
        with make_session_factory(other_engine)() as other:
            other.add(SnapshotNote(id=note_id))
            other.commit()
    finally:
        other_engine.dispose()


@pytest.mark.parametrize("before", ["fresh", "read-before", "snapshot-before"])
def test_reads_in_a_snapshot_miss_what_another_connection_commits_meanwhile(
    notes_engine: Engine, before: str
) -> None:
    factory = make_session_factory(notes_engine)
    with factory() as session:
        if before == "snapshot-before":  # a snapshot not ended: a read transaction too
            read_snapshot(session)
        if before != "fresh":  # a transaction already open (READ COMMITTED on PostgreSQL) is ended first
            assert _count(session) == 0
        read_snapshot(session)
        assert _count(session) == 0
        _commit_one(notes_engine, 1)
        assert _count(session) == 0  # the snapshot's, not the commit's
        session.rollback()
        assert _count(session) == 1  # a new transaction sees it
    with factory() as session:  # the same pooled connection writes again (no READ ONLY left on it)
        if notes_engine.dialect.name == "postgresql":  # and reads what each statement finds committed
            isolation = session.scalar(text("SELECT current_setting('transaction_isolation')"))
            assert isolation == "read committed"
        session.add(SnapshotNote(id=2))
        session.commit()
        assert _count(session) == 2


def test_without_a_snapshot_each_read_sees_the_last_commit(notes_engine: Engine) -> None:
    """What ``read_snapshot`` changes: on PostgreSQL's READ COMMITTED, and on SQLite, whose driver runs a
    SELECT outside any transaction, two reads of one session straddle another connection's commit."""
    with make_session_factory(notes_engine)() as session:
        assert _count(session) == 0
        _commit_one(notes_engine, 1)
        assert _count(session) == 1


def _add(session: Session) -> None:
    session.add(SnapshotNote(id=5))


def _flush(session: Session) -> None:
    session.add(SnapshotNote(id=5))
    session.flush()


def _insert(session: Session) -> None:
    session.execute(insert(SnapshotNote).values(id=5))


def _driver_insert(session: Session) -> None:  # past the ORM and its events, as a COPY is
    driver = session.connection().connection.dbapi_connection
    assert driver is not None
    driver.cursor().execute("INSERT INTO snapshot_notes (id) VALUES (5)")


def _change(session: Session) -> None:
    note = session.get(SnapshotNote, 1)
    assert note is not None
    note.label = "changed"


def _delete(session: Session) -> None:
    session.delete(session.get(SnapshotNote, 1))


def _lock(session: Session) -> None:
    assert session.scalars(select(SnapshotNote).with_for_update()).one().id == 1


def _savepoint(session: Session) -> None:
    session.begin_nested()


HELD: dict[str, tuple[Callable[[Session], None], list[tuple[int, str | None]]]] = {
    "pending": (_add, [(1, None), (5, None)]),
    "flushed": (_flush, [(1, None), (5, None)]),
    "statement": (_insert, [(1, None), (5, None)]),
    "driver": (_driver_insert, [(1, None), (5, None)]),
    "changed": (_change, [(1, "changed")]),
    "deleted": (_delete, []),
    "locked": (_lock, [(1, None)]),
    "savepoint": (_savepoint, [(1, None)]),
}


@pytest.mark.parametrize("work", list(HELD))
def test_a_session_holding_work_is_refused_and_keeps_it(notes_engine: Engine, work: str) -> None:
    """It used to be rolled back: the caller's writes lost without a word, its locks let go."""
    _commit_one(notes_engine, 1)
    hold, stored = HELD[work]
    factory = make_session_factory(notes_engine)
    with factory() as session:
        hold(session)
        with pytest.raises(RuntimeError, match="read_snapshot would roll back"):
            read_snapshot(session)
        assert session.in_transaction() or work == "pending"  # nothing was rolled back
        session.commit()
    with factory() as session:
        assert session.execute(select(SnapshotNote.id, SnapshotNote.label).order_by("id")).all() == stored
