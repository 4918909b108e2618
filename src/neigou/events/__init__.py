"""Employee-purchase live events (内购会): invited audiences, event prices with stock, reservations,
a live sales board and the after-event report."""

from __future__ import annotations

from collections.abc import Callable

import structlog
from sqlalchemy import event
from sqlalchemy.orm import Session

from neigou.kit.tracebacks import error_summary

_AFTER_COMMIT = "neigou_events_after_commit"
log = structlog.get_logger(__name__)


def after_commit(session: Session, action: Callable[[], object]) -> None:
    """Run ``action`` once the session's transaction commits (Redis follows the database, never leads)."""
    session.info.setdefault(_AFTER_COMMIT, []).append(action)


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    """Each action once the database committed. One that fails (Redis timed out or went away) is logged
    and the rest still run: the write is done, so raising would only turn a committed answer into a
    500 that says nothing was saved. The gate catches up from the note the write left in Redis before
    it committed (``gate.note``, swept by the next settlement): the event's state is marked stale and
    seeded again from the database (docs/events.md)."""
    for action in session.info.pop(_AFTER_COMMIT, []):
        try:
            action()
        except Exception as exc:
            log.error("events.after_commit_failed", error=error_summary(exc))


@event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    session.info.pop(_AFTER_COMMIT, None)
