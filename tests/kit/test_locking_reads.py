"""A locking read (``with_for_update``) holds what it read until its transaction ends, on both databases.
On SQLite, which has no row locks and renders no FOR UPDATE, it begins the transaction with the
database's write lock (``kit.db.make_engine``): a second connection's locking read waits for the commit
and then reads what was committed, while plain reads go on at once. Without it the driver ran the
SELECT outside any transaction, and both sides read the same value and wrote on top of each other."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, MetaData, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from neigou.kit.db import make_engine, make_session_factory
from tests.lock_waits import WAIT_S, lock_waits


class _Base(DeclarativeBase):
    metadata = MetaData()


class LockedCounter(_Base):
    __tablename__ = "locked_counters"

    id: Mapped[int] = mapped_column(primary_key=True)
    value: Mapped[int]


@pytest.fixture
def counters(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(database_url)
    _Base.metadata.create_all(engine)
    factory = make_session_factory(engine)
    with factory.begin() as session:
        session.add(LockedCounter(id=1, value=0))
    try:
        yield factory
    finally:
        _Base.metadata.drop_all(engine)
        engine.dispose()


def test_a_locking_read_waits_for_the_other_ones_commit_and_then_reads_it(
    counters: sessionmaker[Session],
) -> None:
    waits = lock_waits(counters, 2)
    seen: list[int] = []

    def second() -> None:
        with counters() as session:
            waits.join(session)
            try:
                assert waits.reached.wait(WAIT_S)
                counter = session.get_one(LockedCounter, 1, with_for_update=True)
                seen.append(counter.value)
                counter.value += 1
                session.commit()
            finally:
                waits.leave()

    with counters() as first:
        waits.join(first)
        counter = first.get_one(LockedCounter, 1, with_for_update=True)
        waiter = threading.Thread(target=second)
        waiter.start()
        try:
            waits.hold()  # until the second side waits for the lock (or, without it, has run to its end)
            assert seen == [], "the second locking read did not wait for the first one's transaction"
            with counters() as reader:  # a plain read neither waits nor sees the uncommitted write
                assert reader.scalar(select(LockedCounter.value)) == 0
            counter.value += 1
            first.commit()
        finally:
            waiter.join(WAIT_S)
            waits.close()
    assert seen == [1]
    with counters() as session:
        assert session.scalar(select(LockedCounter.value)) == 2


def test_locking_reads_fit_in_every_transaction_shape(counters: sessionmaker[Session]) -> None:
    """First in a transaction, after a plain read, after a write, inside or before a savepoint, again
    after a rollback: no "transaction within a transaction", and each commit or rollback ends it."""
    with counters() as session:
        session.scalar(select(LockedCounter.value))
        session.get_one(LockedCounter, 1, with_for_update=True).value = 5
        session.rollback()
        session.get_one(LockedCounter, 1).value = 6
        session.flush()
        assert session.get_one(LockedCounter, 1, with_for_update=True).value == 6
        with session.begin_nested():
            session.get_one(LockedCounter, 1, with_for_update=True).value = 7
        session.commit()
    with counters() as session:
        with session.begin_nested():
            assert session.get_one(LockedCounter, 1, with_for_update=True).value == 7
        session.execute(select(LockedCounter).with_for_update()).all()
        session.commit()
        assert session.scalar(select(LockedCounter.value)) == 7
    with counters() as other:  # nothing is left holding the lock: another transaction writes at once
        other.get_one(LockedCounter, 1, with_for_update=True).value = 8
        other.commit()
    with counters() as session:
        assert session.scalar(select(LockedCounter.value)) == 8


def _driver_in_transaction(session: Session) -> bool:
    dbapi_conn = session.connection().connection.dbapi_connection
    assert dbapi_conn is not None
    return bool(dbapi_conn.in_transaction)


def test_on_sqlite_a_transaction_is_open_only_while_it_holds_the_write_lock(
    counters: sessionmaker[Session],
) -> None:
    """Why a locking read in an open SQLite transaction needs no lock of its own: plain reads leave the
    driver outside any transaction, and what opens one (a write, a locking read) holds the write lock,
    so another connection's locking read cannot start until it ends. Nothing to see on PostgreSQL,
    whose driver opens a transaction at the first statement and locks rows, not the database."""
    with counters() as session:
        if session.connection().dialect.name != "sqlite":
            return
        session.scalar(select(LockedCounter.value))
        assert not _driver_in_transaction(session)
        session.get_one(LockedCounter, 1).value = 3
        session.flush()
        assert _driver_in_transaction(session)
        engine = session.get_bind()
        assert isinstance(engine, Engine)
        with engine.connect() as probe:
            dbapi_probe = probe.connection.dbapi_connection
            assert dbapi_probe is not None
            dbapi_probe.execute("PRAGMA busy_timeout=0")
            try:
                with pytest.raises(sqlite3.OperationalError, match="locked"):
                    dbapi_probe.execute("BEGIN IMMEDIATE")
            finally:
                dbapi_probe.execute("PRAGMA busy_timeout=30000")
        session.rollback()
        session.get_one(LockedCounter, 1, with_for_update=True)
        assert _driver_in_transaction(session)
        session.commit()
        assert not _driver_in_transaction(session)
