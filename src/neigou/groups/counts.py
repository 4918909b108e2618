"""Member-count observations: one at a time (API, workspace) or a whole file (CSV or .xlsx) at once.

Both paths share one evaluation: the same (group, time) is stored once (a repeat with the same
count is a no-op, with another count a conflict), and implausible counts are stored but held for
review (``groups.plausibility``). An import checks every row before writing any, then inserts
in set-based batches: a file with one bad row imports nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from neigou.audit import service as audit
from neigou.groups import csv_rows
from neigou.groups import repository as repo
from neigou.groups.models import CountReview, Group, GroupCount, GroupStatus
from neigou.groups.plausibility import review_reason
from neigou.groups.settings import EffectiveSettings, settings_of
from neigou.kit.actor import Actor
from neigou.kit.bulk import chunks
from neigou.kit.clock import ensure_aware, utcnow
from neigou.kit.columns import ErrorReport, FileRefused, ImportRefused, RowError
from neigou.kit.dates import in_range, range_message
from neigou.kit.errors import Conflict, Invalid
from neigou.kit.i18n import Message
from neigou.kit.tabular import Source, read_table

# Clocks drift; a count "from the future" beyond this is a mistake (wrong zone, wrong date).
FUTURE_TOLERANCE = timedelta(minutes=5)
BATCH = 1000
MAX_REPORTED_ERRORS = 1000


@dataclass(frozen=True)
class Pending:
    """An observation about to be stored."""

    group: Group
    member_count: int
    observed_at: datetime
    line: int = 0


@dataclass(frozen=True)
class ImportResult:
    """What an import stored."""

    imported: int
    needs_review: int
    duplicates: int


def _recorder(actor: Actor) -> str:
    return f"{actor.kind}:{actor.ref}"[:80]


def _refusal(group: Group, observed_at: datetime, at: datetime) -> tuple[str, Message] | None:
    if group.status is GroupStatus.ARCHIVED:
        return "group_archived", Message("Group {group_id} is archived.", group_id=group.id)
    if not in_range(observed_at.date()):
        return "date_out_of_range", range_message(observed_at.date(), "observed_at")
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
    refusal = _refusal(group, observed_at, now)
    if refusal is not None:
        code, message = refusal
        raise (Conflict if code == "group_archived" else Invalid)(message, code=code)
    stored = _existing(session, group.id, observed_at)
    if stored is not None:
        return _same_or_conflict(stored, member_count), False
    reasons = _reasons(
        session, [Pending(group, member_count, observed_at)], settings_of(session, group.program_id)
    )
    count = GroupCount(
        group_id=group.id,
        program_id=group.program_id,
        member_count=member_count,
        observed_at=observed_at,
        recorded_at=now,
        source=source,
        recorded_by=_recorder(actor),
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


def _reasons(session: Session, pending: Sequence[Pending], settings: EffectiveSettings) -> list[str | None]:
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


def review_count(
    session: Session, *, count: GroupCount, accept: bool, actor: Actor, at: datetime | None = None
) -> GroupCount:
    """Accept a held count (it then counts) or reject it (it never will)."""
    if count.review is not CountReview.NEEDS_REVIEW:
        raise Conflict(
            Message("This count is {review}, not awaiting review.", review=count.review.value),
            code="not_awaiting_review",
        )
    now = at or utcnow()
    count.review = CountReview.ACCEPTED if accept else CountReview.REJECTED
    count.reviewed_at = now
    count.reviewed_by = _recorder(actor)
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


def parse_file(content: Source) -> tuple[list[csv_rows.CountRow], list[RowError]]:
    """The rows of a member-count file, or why it (or each bad row) cannot be read."""
    try:
        return csv_rows.parse(
            read_table(content, csv_rows.LAYOUT, nul_rows="report", max_rows=csv_rows.MAX_ROWS)
        )
    except FileRefused as exc:
        return [], csv_rows.file_errors(exc)


def error_view(error: RowError) -> dict[str, Any]:
    """A refused row as the API, the console and the CLI show it."""
    return {"line": error.row, "code": error.code, "message": error.message}


def _refused(report: ErrorReport) -> ImportRefused:
    first, total = report.listed(1)[0], len(report)
    return ImportRefused(
        Message(
            "{count} row(s) cannot be imported, so nothing was imported; first: line {line}: {message}",
            count=total,
            line=first.row,
            message=first.message,
        ),
        code="import_rejected",
        report=report,
        limit=MAX_REPORTED_ERRORS,
        render=error_view,
    )


def import_counts(
    session: Session,
    *,
    content: Source,
    actor: Actor,
    program_id: int | None = None,
    source: str = "csv",
    at: datetime | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Import a member-count file (CSV text or bytes, or .xlsx) whole, or refuse it whole with
    every row's error."""
    now = at or utcnow()
    rows, errors = parse_file(content)
    report = ErrorReport(errors)
    pending, resolve_errors = _resolve(session, rows, program_id=program_id, at=now)
    report.extend(resolve_errors)
    fresh, duplicates, dup_errors = _split_repeats(session, pending)
    report.extend(dup_errors)
    if len(report):
        raise _refused(report)
    by_program: dict[int, list[Pending]] = {}
    for item in fresh:
        by_program.setdefault(item.group.program_id, []).append(item)
    held = 0
    for pid, items in sorted(by_program.items()):
        reasons = _reasons(session, items, settings_of(session, pid))
        held += sum(1 for r in reasons if r)
        values = [
            _values(item, reason, source=source, actor=actor, at=now)
            for item, reason in zip(items, reasons, strict=True)
        ]
        for part in chunks(values, BATCH):
            session.execute(insert(GroupCount), part)
            if progress is not None:
                progress(len(part))
        audit.record(
            session,
            actor=actor,
            action="group.counts.import",
            entity="program",
            entity_id=pid,
            after={"imported": len(items), "needs_review": sum(1 for r in reasons if r), "source": source},
            at=now,
        )
    session.flush()
    return ImportResult(imported=len(fresh), needs_review=held, duplicates=duplicates)


def _values(item: Pending, reason: str | None, *, source: str, actor: Actor, at: datetime) -> dict[str, Any]:
    return {
        "group_id": item.group.id,
        "program_id": item.group.program_id,
        "member_count": item.member_count,
        "observed_at": item.observed_at,
        "recorded_at": at,
        "source": source,
        "recorded_by": _recorder(actor),
        "review": CountReview.NEEDS_REVIEW if reason else CountReview.OK,
        "review_reason": reason,
    }


def _resolve(
    session: Session, rows: list[csv_rows.CountRow], *, program_id: int | None, at: datetime
) -> tuple[list[Pending], list[RowError]]:
    owners = repo.members_by_id(session, {r.owner_member_id for r in rows})
    by_external: dict[tuple[int, str], Group] = {}
    by_name: dict[tuple[int, str], Group] = {}
    for group in repo.groups_of_owners(session, owners.keys()):
        by_name[(group.owner_member_id, group.name)] = group
        if group.external_id is not None:
            by_external[(group.owner_member_id, group.external_id)] = group
    pending: list[Pending] = []
    errors: list[RowError] = []
    for row in rows:
        owner = owners.get(row.owner_member_id)
        if owner is None or (program_id is not None and owner.program_id != program_id):
            errors.append(
                RowError(
                    row.line,
                    None,
                    "unknown_owner",
                    Message(
                        "No member {owner_member_id} in this program.", owner_member_id=row.owner_member_id
                    ),
                )
            )
            continue
        key = (owner.id, row.group)
        found = by_external.get(key) or by_name.get(key)
        if found is None:
            errors.append(
                RowError(
                    row.line,
                    None,
                    "unknown_group",
                    Message("Member {owner_id} has no group {group!r}.", owner_id=owner.id, group=row.group),
                )
            )
            continue
        observed_at = ensure_aware(row.observed_at)
        refusal = _refusal(found, observed_at, at)
        if refusal is not None:
            errors.append(RowError(row.line, None, *refusal))
            continue
        pending.append(Pending(found, row.member_count, observed_at, row.line))
    return pending, errors


def _split_repeats(session: Session, pending: list[Pending]) -> tuple[list[Pending], int, list[RowError]]:
    """New observations; repeats of stored (or earlier-row) ones are skipped, clashes refused."""
    if not pending:
        return [], 0, []
    stored = {
        (c.group_id, c.observed_at): c.member_count
        for c in repo.counts_in_range(
            session,
            {p.group.id for p in pending},
            min(p.observed_at for p in pending),
            max(p.observed_at for p in pending),
        )
    }
    seen: dict[tuple[int, datetime], int] = {}
    fresh: list[Pending] = []
    duplicates = 0
    errors: list[RowError] = []
    for item in pending:
        key = (item.group.id, item.observed_at)
        known = stored.get(key, seen.get(key))
        if known is None:
            seen[key] = item.member_count
            fresh.append(item)
        elif known == item.member_count:
            duplicates += 1
        else:
            errors.append(
                RowError(
                    item.line,
                    None,
                    "observation_conflict",
                    Message(
                        "Group {group_id} already has {known} members recorded at this time.",
                        group_id=item.group.id,
                        known=known,
                    ),
                )
            )
    return fresh, duplicates, errors
