"""Member-count files (CSV or .xlsx): checked whole, then stored in set-based batches.

An import checks every row before writing any (a file with one bad row imports nothing) and judges
its observations as ``groups.counts`` judges one: repeats skipped, clashes refused, implausible
counts held for review. A repeat stored by a parallel import of the same file after this one read the
stored counts is still a repeat: the rows are inserted skipping a taken (group, time) key, and what was
skipped is judged again against what is stored then (on SQLite the import holds the database's write
lock from its read of the stored counts).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from neigou.audit import service as audit
from neigou.groups import csv_rows
from neigou.groups import repository as repo
from neigou.groups.counts import BATCH, Pending, recorder, refused_because, review_reasons
from neigou.groups.models import CountReview, Group, GroupCount
from neigou.groups.settings import settings_of
from neigou.kit.actor import Actor
from neigou.kit.bulk import chunks, insert_ignoring_duplicates
from neigou.kit.clock import as_utc, ensure_aware, utcnow
from neigou.kit.columns import ErrorReport, FileRefused, ImportRefused, RowError
from neigou.kit.db import hold_write_lock
from neigou.kit.i18n import Message
from neigou.kit.ids import canonical
from neigou.kit.tabular import Source, read_table

MAX_REPORTED_ERRORS = 1000


@dataclass(frozen=True)
class ImportResult:
    """What an import stored."""

    imported: int
    needs_review: int
    duplicates: int


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
    hold_write_lock(session)  # SQLite: the stored counts read next stay so until this import commits
    fresh, duplicates, dup_errors = _split_repeats(session, pending)
    report.extend(dup_errors)
    if len(report):
        raise _refused(report)
    by_program: dict[int, list[Pending]] = {}
    for item in fresh:
        by_program.setdefault(item.group.program_id, []).append(item)
    held = imported = 0
    for pid, items in sorted(by_program.items()):
        reasons = review_reasons(session, items, settings_of(session, pid))
        values = [
            _values(item, reason, source=source, actor=actor, at=now)
            for item, reason in zip(items, reasons, strict=True)
        ]
        stored: set[tuple[int, datetime]] = set()
        for part in chunks(values, BATCH):
            stored.update(_insert_new(session, part))
            if progress is not None:
                progress(len(part))
        # Rows a parallel import stored first (after this one read the stored counts): repeats, or clashes.
        taken = [item for item in items if (item.group.id, item.observed_at) not in stored]
        _, repeats, clashes = _split_repeats(session, taken)
        if clashes:
            raise _refused(ErrorReport(clashes))
        duplicates += repeats
        written = [
            r for item, r in zip(items, reasons, strict=True) if (item.group.id, item.observed_at) in stored
        ]
        imported += len(written)
        held += sum(1 for r in written if r)
        audit.record(
            session,
            actor=actor,
            action="group.counts.import",
            entity="program",
            entity_id=pid,
            after={"imported": len(written), "needs_review": sum(1 for r in written if r), "source": source},
            at=now,
        )
    session.flush()
    return ImportResult(imported=imported, needs_review=held, duplicates=duplicates)


def _insert_new(session: Session, rows: list[dict[str, Any]]) -> set[tuple[int, datetime]]:
    """Insert the rows whose (group, time) is still free; the keys of those inserted."""
    inserted = insert_ignoring_duplicates(
        session,
        GroupCount,
        rows,
        index_elements=["group_id", "observed_at"],
        returning=("group_id", "observed_at"),
    )
    return {(int(group_id), as_utc(observed_at)) for group_id, observed_at in inserted}


def _values(item: Pending, reason: str | None, *, source: str, actor: Actor, at: datetime) -> dict[str, Any]:
    return {
        "group_id": item.group.id,
        "program_id": item.group.program_id,
        "member_count": item.member_count,
        "observed_at": item.observed_at,
        "recorded_at": at,
        "source": source,
        "recorded_by": recorder(actor),
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
        if group.external_id is not None:  # one form however it was stored or is written in the file
            by_external[(group.owner_member_id, canonical(group.external_id))] = group
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
                    Message("owner_member_id names no member of this program."),
                )
            )
            continue
        found = by_external.get((owner.id, canonical(row.group))) or by_name.get((owner.id, row.group))
        if found is None:
            errors.append(
                RowError(
                    row.line,
                    None,
                    "unknown_group",
                    Message("Member {owner_id} has no group by this name or external id.", owner_id=owner.id),
                )
            )
            continue
        observed_at = ensure_aware(row.observed_at)
        refusal = refused_because(found, observed_at, at)
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
