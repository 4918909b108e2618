"""Attempts of a row that sends something (a message, a webhook): each attempt is claimed before it
is made, and its outcome written, by conditional UPDATEs on the row's attempt count, so parallel or
restarted runs never send one attempt twice nor overwrite what a later attempt came to."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, inspect, or_, update
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.orm.attributes import set_committed_value

from neigou.kit.db import Base
from neigou.kit.i18n import Message, Text

# A row's first attempt is a job queued right after the commit that wrote the row. If that job is lost
# (its enqueue failed, or a worker was killed after taking its key), the minute's retries take the row
# once this long has passed, so it never waits for a job that will not come. The queued job normally
# wins; if both run, the claim lets only one of them send.
FIRST_ATTEMPT_GRACE = timedelta(minutes=2)

# How long a delivery run (push messages, webhook retries, robot posts, live-code alerts) claims new work:
# one slow or dead receiver (each send may take up to 90 s) must not hold a job worker for hours. Its
# rows stay due, so the next minute's run goes on where this one stopped.
RUN_BUDGET_SECONDS = 45.0

# Set once this process's job consumer begins a graceful stop (``neigou worker`` told SIGTERM, a web
# process's in-process jobs at shutdown; ``kit.jobs``): every run's budget is then spent, so a delivery
# run finishes the send in hand and claims nothing more, well within the stop's wait
# (``NEIGOU_WORKER_SHUTDOWN_S``, shorter than ``RUN_BUDGET_SECONDS``). Cleared when a consumer starts.
_STOPPING = threading.Event()


def begin_stop() -> None:
    """Tell every running and later run of this process to claim nothing more (a graceful stop began)."""
    _STOPPING.set()


def stop_ended() -> None:
    """Let runs claim work again (a consumer starts; tests)."""
    _STOPPING.clear()


def stopping() -> bool:
    """Whether this process's job consumer is stopping."""
    return _STOPPING.is_set()


class RunBudget:
    """The wall-clock budget of one delivery run, read on ``clock`` (the caller's module's ``monotonic``,
    which a test pins): :meth:`spent` once ``RUN_BUDGET_SECONDS`` have passed since it was made, or
    at once when the process's job consumer is stopping (:func:`begin_stop`)."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._ends = clock() + RUN_BUDGET_SECONDS

    def spent(self) -> bool:
        """Whether the run should claim nothing more."""
        return _STOPPING.is_set() or self._clock() >= self._ends


def due_for_retry(
    attempts: InstrumentedAttribute[int],
    next_attempt_at: InstrumentedAttribute[datetime | None],
    at: datetime,
) -> ColumnElement[bool]:
    """A row the retries take at ``at``: a failed attempt whose backoff is over, or a first attempt
    still not made ``FIRST_ATTEMPT_GRACE`` after it was due (its queued job was lost)."""
    return or_(
        and_(attempts > 0, next_attempt_at <= at),
        and_(attempts == 0, next_attempt_at <= at - FIRST_ATTEMPT_GRACE),
    )


def claim_attempt(
    session: Session, row: Base, attempts: InstrumentedAttribute[int], *still: ColumnElement[bool]
) -> bool:
    """Take the next attempt of ``row`` before doing it (sending a message): one conditional UPDATE
    bumps its ``attempts`` by one only if the row still has the count read and ``still`` holds (it is
    still pending). True when this caller won the attempt (the row then shows the new count); False
    when a parallel run or an earlier one took it or finished the row, and the row is expired so its
    next read shows what they did. The claim is part of the caller's transaction: on PostgreSQL a
    second claimer waits for the first one's commit and then finds the row changed."""
    seen = getattr(row, attempts.key)
    if not _while_attempts_are(session, row, attempts, still, {attempts.key: seen + 1}, seen=seen):
        session.expire(row)
        return False
    set_committed_value(row, attempts.key, seen + 1)
    return True


def give_up_attempts(
    session: Session,
    row: Base,
    attempts: InstrumentedAttribute[int],
    *still: ColumnElement[bool],
    **values: object,
) -> bool:
    """Write ``values`` (a failed status) on ``row`` whose last attempt will never report (its run was
    killed during the send, its lease is over): the same conditional UPDATE as :func:`claim_attempt`, so
    a run that claimed or finished the row meanwhile keeps it. True when it was written."""
    return _while_attempts_are(session, row, attempts, still, values, seen=getattr(row, attempts.key))


def defer_attempt(
    session: Session,
    row: Base,
    attempts: InstrumentedAttribute[int],
    *still: ColumnElement[bool],
    **values: object,
) -> bool:
    """Write ``values`` (a later due time) on ``row`` without taking an attempt (a send held back: quiet
    hours), by the same conditional UPDATE as :func:`claim_attempt`, so a run that claimed or finished
    the row meanwhile keeps it. True when it was written."""
    return _while_attempts_are(session, row, attempts, still, values, seen=getattr(row, attempts.key))


def claim_attempt_within(
    session: Session,
    row: Base,
    attempts: InstrumentedAttribute[int],
    limit: int,
    *still: ColumnElement[bool],
    **failed: object,
) -> bool:
    """:func:`claim_attempt`, unless ``row`` already took its ``limit`` attempts: its last attempt's run
    was killed during the send (its lease is over), so none is left and ``failed`` is written instead
    (:func:`give_up_attempts`); False then, as for an attempt this caller did not win."""
    if getattr(row, attempts.key) >= limit:
        give_up_attempts(session, row, attempts, *still, **failed)
        return False
    return claim_attempt(session, row, attempts, *still)


def finish_attempt(
    session: Session,
    row: Base,
    attempts: InstrumentedAttribute[int],
    claimed: int,
    /,
    *still: ColumnElement[bool],
    **values: object,
) -> bool:
    """Write what attempt number ``claimed`` of ``row`` came to (``values``), only while the row is still
    at that attempt and ``still`` holds (pending): a send that outlived its lease, whose row a later run
    claimed and sent meanwhile, never overwrites what that attempt came to. ``values`` may set the count
    itself back (an attempt given back: ``kit.robot_budget.hands_back``), whatever its column's name.
    True when it was written; the row in the session is left as it was (refresh it to see what the
    database holds)."""
    return _while_attempts_are(session, row, attempts, still, values, seen=claimed)


def _while_attempts_are(
    session: Session,
    row: Base,
    attempts: InstrumentedAttribute[int],
    still: tuple[ColumnElement[bool], ...],
    values: dict[str, object],
    *,
    seen: int,
) -> bool:
    """One UPDATE of ``row`` by its primary key, only while its ``attempts`` is ``seen`` and ``still``
    holds; whether it changed the row."""
    mapper = inspect(type(row))
    ids = mapper.primary_key_from_instance(row)
    changed = session.execute(
        update(type(row))
        .where(
            *(c == v for c, v in zip(mapper.primary_key, ids, strict=True)),
            attempts == seen,
            *still,
        )
        .values(values)
        .execution_options(synchronize_session=False)
    )
    return getattr(changed, "rowcount", 0) == 1


UNANSWERED = "unanswered"
# What a row that kept a receiver's words before holds instead: no summary could be made of them.
REFUSED = "refused"
# What an attempt whose host was no public address came to (``kit.bounded_http.AddressNotAllowed``):
# nothing was connected to, so the same summary whatever listens there.
ADDRESS_NOT_ALLOWED = "address_not_allowed"


def refusal(http_status: int | None, *, errcode: int | None = None, error: str | None = None) -> str:
    """The fixed summary of a sent attempt kept in a row (``last_error``, an attempt's ``detail``) and
    logged: the HTTP status and a robot's numeric ``errcode``, or the class of the error that stopped
    the call. Never what the receiver wrote back: a receiver may echo what it was sent, and that names
    the customer (their name, their phone)."""
    if http_status is None:
        return error or UNANSWERED
    return f"HTTP {http_status}" + ("" if errcode is None else f" errcode {errcode}")


# An error's class, as a stored summary names it (``ConnectError``, ``ValueError while sending``).
_CLASS = r"([A-Z][A-Za-z0-9_]*)"
# Each stored summary's shape and the sentence a page tells it by.
_NOTES: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], Message]], ...] = (
    (
        re.compile(r"HTTP ([0-9]{3})", re.ASCII),
        lambda found: Message("the receiver answered HTTP {status}", status=found[1]),
    ),
    (
        re.compile(r"HTTP ([0-9]{3}) errcode (-?[0-9]+)", re.ASCII),
        lambda found: Message(
            "the receiver answered HTTP {status}, error code {errcode}", status=found[1], errcode=found[2]
        ),
    ),
    (
        re.compile(r"errcode (-?[0-9]+)", re.ASCII),
        lambda found: Message("the receiver answered error code {errcode}", errcode=found[1]),
    ),
    (
        re.compile(rf"{_CLASS} while sending; it may have been posted", re.ASCII),
        lambda found: Message("the call broke off ({error}); it may have been posted", error=found[1]),
    ),
    (
        re.compile(rf"{_CLASS} while sending", re.ASCII),
        lambda found: Message("the call broke off ({error})", error=found[1]),
    ),
    (re.compile(_CLASS, re.ASCII), lambda found: Message("the call failed ({error})", error=found[1])),
    (re.compile(UNANSWERED), lambda _found: Message("nobody answered")),
    (re.compile(REFUSED), lambda _found: Message("the receiver refused it")),
    (
        re.compile(ADDRESS_NOT_ALLOWED),
        lambda _found: Message("not sent: the address is not a public Internet address"),
    ),
)


def refusal_note(summary: str) -> Text:
    """What a page shows, in its reader's language, of a stored summary (:func:`refusal`, a send that
    broke off): the status and the error code, or the error's class, told in a sentence; any other
    stored text (a fixed reason with a label of its own) as it is."""
    for shape, note in _NOTES:
        if (found := shape.fullmatch(summary)) is not None:
            return note(found)
    return summary
