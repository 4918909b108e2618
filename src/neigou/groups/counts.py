"""Member-count observations, one at a time (API, workspace); a whole file is `groups.count_files`.

Both paths (this one and the file import) share one evaluation: the same (group, time) is stored once (a repeat with the same
count is a no-op, with another count a conflict), and implausible counts are stored but held for
review (``groups.plausibility``). An import checks every row before writing any, then inserts
in set-based batches: a file with one bad row imports nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from neigou.audit import service as audit
from neigou.groups import repository as repo
from neigou.groups.models import CountReview, Group, GroupCount, GroupStatus
from neigou.groups.plausibility import review_reason
from neigou.groups.settings import EffectiveSettings, settings_of
from neigou.kit.actor import Actor
from neigou.kit.clock import ensure_aware, utcnow
from neigou.kit.dates import in_range, range_message
from neigou.kit.errors import Conflict, Invalid, NotFound
from neigou.kit.i18n import Message

# Clocks drift; a count "from the future" beyond this is a mistake (wrong zone, wrong date).
FUTURE_TOLERANCE = timedelta(minutes=5)
BATCH = 1000


@dataclass(frozen=True)
class Pending:
    """An observation about to be stored."""

    group: Group
    member_count: int
    observed_at: datetime
    line: int = 0


def recorder(actor: Actor) -> str:
    return f"{actor.kind}:{actor.ref}"[:80]


def refused_because(group: Group, observed_at: datetime, at: datetime) -> tuple[str, Message] | None:
    if group.status is GroupStatus.ARCHIVED:
        return "group_archived", Message("Group {group_id} is archived.", group_id=group.id)
    if not in_range(observed_at.date()):
        return "date_out_of_range", range_message("observed_at")
    if observed_at > at + FUTURE_TOLERANCE:
        return "observed_in_future", Message("observed_at is in the future; check its zone.")
    return None


def record_count(
    session: Session,
    *,
    group: Group,
    member_count: int,
    observed_at: datetime,
    actor: Actor,
    source: str = "api",
    at: datetime | None = None,
) -> tuple[GroupCount, bool]:
    """Store one observation; returns it and whether it is new (a repeat returns the stored one)."""
    now = at or utcnow()
    observed_at = ensure_aware(observed_at)
    refusal = refused_because(group, observed_at, now)
    if refusal is not None:
        code, message = refusal
        raise (Conflict if code == "group_archived" else Invalid)(message, code=code)
    stored = _existing(session, group.id, observed_at)
    if stored is not None:
        return _same_or_conflict(stored, member_count), False
    reasons = review_reasons(
        session, [Pending(group, member_count, observed_at)], settings_of(session, group.program_id)
    )
    count = GroupCount(
        group_id=group.id,
        program_id=group.program_id,
        member_count=member_count,
        observed_at=observed_at,
        recorded_at=now,
        source=source,
        recorded_by=recorder(actor),
        review=CountReview.NEEDS_REVIEW if reasons[0] else CountReview.OK,
        review_reason=reasons[0],
    )
    try:
        with session.begin_nested():
            session.add(count)
            session.flush()
    except IntegrityError:
        # A parallel request stored the same observation first.
        stored = _existing(session, group.id, observed_at)
        if stored is None:
            raise
        return _same_or_conflict(stored, member_count), False
    audit.record(
        session,
        actor=actor,
        action="group.count.record",
        entity="group",
        entity_id=group.id,
        after={
            "count_id": count.id,
            "member_count": member_count,
            "observed_at": observed_at.isoformat(),
            "review": count.review.value,
            "review_reason": count.review_reason,
        },
        at=now,
    )
    return count, True


def _existing(session: Session, group_id: int, observed_at: datetime) -> GroupCount | None:
    found = repo.counts_in_range(session, [group_id], observed_at, observed_at)
    return found[0] if found else None


def _same_or_conflict(stored: GroupCount, member_count: int) -> GroupCount:
    if stored.member_count != member_count:
        raise Conflict(
            Message(
                "A count of {stored_count} is recorded for this group at this time already.",
                stored_count=stored.member_count,
            ),
            code="observation_conflict",
            extra={"count_id": stored.id},
        )
    return stored


def review_reasons(
    session: Session, pending: Sequence[Pending], settings: EffectiveSettings
) -> list[str | None]:
    """Review reasons of new observations, each judged against the counted one before it in time.

    Two queries for any number of rows: the latest counted observation before the earliest new
    one, and the counted observations among the new ones' times.
    """
    if not pending:
        return []
    group_ids = {p.group.id for p in pending}
    earliest = min(p.observed_at for p in pending)
    latest = max(p.observed_at for p in pending)
    before = {
        gid: (at, count)
        for gid, (count, at) in repo.latest_counts(session, before=earliest, group_ids=group_ids).items()
    }
    events: dict[int, list[tuple[datetime, int, int | None]]] = {gid: [] for gid in group_ids}
    for stored in repo.counts_in_range(session, group_ids, earliest, latest):
        if stored.review in (CountReview.OK, CountReview.ACCEPTED):
            events[stored.group_id].append((stored.observed_at, stored.member_count, None))
    for index, item in enumerate(pending):
        events[item.group.id].append((item.observed_at, item.member_count, index))
    reasons: list[str | None] = [None] * len(pending)
    for gid, timeline in events.items():
        previous = before.get(gid)
        for observed_at, member_count, position in sorted(timeline, key=lambda e: (e[0], e[2] is not None)):
            if position is None:
                previous = (observed_at, member_count)
                continue
            rule = settings.rule_for(pending[position].group.platform.value)
            reasons[position] = review_reason(
                rule, member_count=member_count, observed_at=observed_at, previous=previous
            )
            if reasons[position] is None:
                previous = (observed_at, member_count)
    return reasons


# Why a count is not awaiting review, by what it is: a second reviewer finds the first one's decision.
_NOT_AWAITING = {
    CountReview.ACCEPTED: Message("This count was already accepted: it is no longer awaiting review."),
    CountReview.REJECTED: Message("This count was already rejected: it is no longer awaiting review."),
    CountReview.OK: Message("This count was never held for review: it counts as it is."),
}


def review_held(
    session: Session,
    *,
    group_id: int,
    count_id: int,
    accept: bool,
    actor: Actor,
    at: datetime | None = None,
) -> GroupCount:
    """Accept or reject the group's count held for review (the API's and the console's review). The
    count is read locked before its state is: of two reviews at once, the second waits for the first
    one's commit and finds the count decided (409 ``not_awaiting_review``), never both "needs_review →"."""
    count = repo.get_count(session, count_id, lock=True)
    if count is None or count.group_id != group_id:
        raise NotFound(Message("This count of the group does not exist."), code="count_not_found")
    return review_count(session, count=count, accept=accept, actor=actor, at=at)


def review_count(
    session: Session, *, count: GroupCount, accept: bool, actor: Actor, at: datetime | None = None
) -> GroupCount:
    """Accept a held count (it then counts) or reject it (it never will); ``count`` read locked
    (:func:`review_held`)."""
    if count.review is not CountReview.NEEDS_REVIEW:
        raise Conflict(_NOT_AWAITING[count.review], code="not_awaiting_review")
    now = at or utcnow()
    count.review = CountReview.ACCEPTED if accept else CountReview.REJECTED
    count.reviewed_at = now
    count.reviewed_by = recorder(actor)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="group.count.review",
        entity="group",
        entity_id=count.group_id,
        before={
            "count_id": count.id,
            "review": CountReview.NEEDS_REVIEW.value,
            "reason": count.review_reason,
        },
        after={"count_id": count.id, "review": count.review.value},
        at=now,
    )
    return count
