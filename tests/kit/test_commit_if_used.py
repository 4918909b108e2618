"""``kit.db.commit_if_used``: a session that did nothing is not committed; one with a transaction or
after-commit work always is."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import MetaData, event, inspect, text
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.pool import QueuePool

from neigou.kit.db import commit_if_used, make_engine, make_session_factory, transaction
from neigou.kit.scoping import link_request


class _Base(DeclarativeBase):
    metadata = MetaData()


class Note(_Base):
    __tablename__ = "notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    body: Mapped[str]


def _factory(tmp_path: Path):  # type: ignore[no-untyped-def]
    return make_session_factory(make_engine(f"sqlite:///{tmp_path / 'c.db'}"))


def test_an_unused_session_with_only_its_scope_is_not_committed(tmp_path: Path) -> None:
    factory = _factory(tmp_path)
    commits: list[Session] = []
    with factory() as session:
        event.listen(session, "after_commit", commits.append)
        link_request(session, object())
        commit_if_used(session)
    assert commits == []


def test_after_commit_work_or_a_transaction_is_committed(tmp_path: Path) -> None:
    factory = _factory(tmp_path)
    commits: list[Session] = []
    with factory() as session:
        event.listen(session, "after_commit", commits.append)
        session.info["pending work"] = [1]
        commit_if_used(session)
    assert len(commits) == 1

    with transaction(factory) as session:
        session.execute(text("CREATE TABLE t (x INTEGER)"))
        session.execute(text("INSERT INTO t VALUES (1)"))
    with factory() as session:
        assert session.execute(text("SELECT count(*) FROM t")).scalar_one() == 1


def test_a_transaction_closes_what_it_used_and_leaves_an_untouched_session(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'c.db'}")
    _Base.metadata.create_all(engine)
    factory = make_session_factory(engine)
    closed: list[Session] = []
    close = Session.close

    def counted_close(self: Session) -> None:
        closed.append(self)
        close(self)

    monkeypatch.setattr(Session, "close", counted_close)

    with transaction(factory):
        pass
    assert closed == []  # no connection, no instance: nothing to give back

    pending = Note(body="pending")
    unit = transaction(factory)

    def fail() -> None:
        with unit as session:
            session.add(pending)
            raise RuntimeError("the unit fails before any statement")

    with pytest.raises(RuntimeError):
        fail()
    assert inspect(pending).transient  # the rollback let the pending instance go

    stored = Note(body="stored")
    with transaction(factory) as used:
        used.add(stored)
    assert closed == [used]  # committed, and still holding the stored instance: closed
    assert inspect(stored).detached
    assert isinstance(engine.pool, QueuePool)
    assert engine.pool.checkedout() == 0  # the connection went back to the pool
