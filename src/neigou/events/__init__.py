"""Employee-purchase live events (内购会): invited audiences, event prices with stock, reservations,
a live sales board and the after-event report."""

from __future__ import annotations

from collections.abc import Callable

import structlog
from sqlalchemy import event
from sqlalchemy.orm import Session

from neigou.kit import commit_hooks
from neigou.kit.tracebacks import error_summary

_AFTER_COMMIT = "neigou_events_after_commit"
log = structlog.get_logger(__name__)


def after_commit(session: Session, action: Callable[[], object], *, redeliver: bool = False) -> None:
    """Run ``action`` once the session's transaction commits (Redis follows the database, never leads).

    ``redeliver``: the action's failure is raised from the commit once every action ran, for a writer
    whose work is delivered again until it succeeds (the reservation stream's batch, not acknowledged,
    comes back: ``dropped``). Otherwise it is logged (below)."""
    commit_hooks.add(session, _AFTER_COMMIT, (action, redeliver))


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    """Each action once the database committed. One that fails (Redis timed out or went away) is logged
    and the rest still run: the write is done, so raising would only turn a committed answer into a
    500 that says nothing was saved. The gate catches up from the note the write left in Redis before
    it committed (``gate.note``, swept by the next settlement): the event's state is marked stale and
    seeded again from the database (docs/events.md)."""
    actions = commit_hooks.released(session, _AFTER_COMMIT)
    if actions is None:  # a savepoint released: its actions wait for the outermost commit
        return
    raised: Exception | None = None
    for action, redeliver in actions:
        try:
            action()
        except Exception as exc:
            log.error("events.after_commit_failed", error=error_summary(exc))
            if redeliver and raised is None:
                raised = exc
    if raised is not None:
        raise raised


@event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    commit_hooks.rolled_back(session, _AFTER_COMMIT)  # the rolled-back transaction's own actions
