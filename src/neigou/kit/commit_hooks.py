"""Work that follows a session's outcome: done once the outermost transaction commits, dropped (or undone)
when the transaction it was registered in rolls back.

SQLAlchemy sends ``after_commit`` when a SAVEPOINT is released too, and ``after_rollback`` when one is
rolled back, while the outer transaction goes on (and may still roll back, or commit). A hook that ran
its actions at the first ``after_commit`` it saw did them before the database committed (a Redis gate
told of rows another reader could not see yet, or never would); one that dropped everything at the
first ``after_rollback`` forgot what the outer transaction still held. So each item is registered
with the transaction it was made in (the innermost: a savepoint or the session's own), and:

* a savepoint released hands its items to the transaction around it (:func:`released`: None);
* a savepoint rolled back drops its own items only (:func:`rolled_back` returns them, for an undo);
* the outermost commit gives every item (:func:`released`), the outermost rollback drops every item.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session, SessionTransaction


def _current(session: Session) -> SessionTransaction | None:
    return session.get_nested_transaction() or session.get_transaction()


def add(session: Session, key: str, item: Any) -> None:
    """Register ``item`` under ``key`` with the transaction it is made in."""
    session.info.setdefault(key, []).append((_current(session), item))


def pending(session: Session, key: str) -> list[Any]:
    """The items still registered under ``key``, oldest first (nothing removed)."""
    return [item for _tag, item in session.info.get(key, [])]


def released(session: Session, key: str) -> list[Any] | None:
    """From an ``after_commit`` listener: None when a savepoint was released (its items now belong to
    the transaction around it), else (the outermost commit) every item, removed."""
    savepoint = session.get_nested_transaction()
    if savepoint is None:
        return [item for _tag, item in session.info.pop(key, [])]
    parent = savepoint.parent
    session.info[key] = [
        (parent if tag is savepoint else tag, item) for tag, item in session.info.get(key, [])
    ]
    return None


def rolled_back(session: Session, key: str) -> list[Any]:
    """From an ``after_rollback`` listener: the items the rolled-back transaction made (a savepoint's
    own, or every item when the outermost rolls back), removed; the others stay."""
    savepoint = session.get_nested_transaction()
    if savepoint is None:
        return [item for _tag, item in session.info.pop(key, [])]
    kept: list[tuple[SessionTransaction | None, Any]] = []
    dropped: list[tuple[SessionTransaction | None, Any]] = []
    for tag, item in session.info.get(key, []):
        (dropped if tag is savepoint else kept).append((tag, item))
    session.info[key] = kept
    return [item for _tag, item in dropped]
