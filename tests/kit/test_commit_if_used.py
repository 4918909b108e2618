"""``kit.db.commit_if_used``: a session that did nothing is not committed; one with a transaction or
after-commit work always is."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import event, text
from sqlalchemy.orm import Session

from neigou.kit.db import commit_if_used, make_engine, make_session_factory, transaction
from neigou.kit.scoping import link_request


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
