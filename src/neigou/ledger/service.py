"""Writing postings: one at a time or a whole batch in a few statements."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from neigou.kit.bulk import chunks, insert_rows, next_ids, table_of
from neigou.ledger.legs import Leg, balanced
from neigou.ledger.models import Account, Entry, Posting, PostingKind


@dataclass(frozen=True)
class Draft:
    """A posting to write: balanced legs and the idempotency key."""

    program_id: int
    kind: PostingKind
    key: str
    source: str
    source_id: int
    at: datetime
    legs: tuple[Leg, ...]
    memo: str = ""


def draft(
    *,
    program_id: int,
    kind: PostingKind,
    key: str,
    source: str,
    source_id: int,
    at: datetime,
    legs: Sequence[Leg],
    memo: str = "",
) -> Draft:
    """A checked draft (raises when the legs do not balance)."""
    return Draft(program_id, kind, key, source, source_id, at, balanced(legs), memo)


def post_many(session: Session, drafts: Sequence[Draft], *, known_new: bool = False) -> int:
    """Write postings whose keys are new, with their entries; returns how many were written.

    Empty postings (every leg zero) are skipped. Keys already posted are skipped too, so a
    retried batch posts nothing twice; the unique key is the guard under concurrency.
    """
    todo = [d for d in drafts if d.legs]
    if not todo:
        return 0
    existing: set[str] = set()
    # ``known_new``: the caller just created what the keys name (fresh orders), so no key can exist.
    for part in [] if known_new else chunks([d.key for d in todo]):
        existing.update(session.scalars(select(Posting.key).where(Posting.key.in_(part))))
    todo = [d for d in todo if d.key not in existing]
    if not todo:
        return 0
    values = [
        {
            "program_id": d.program_id,
            "kind": d.kind,
            "key": d.key,
            "source": d.source,
            "source_id": d.source_id,
            "at": d.at,
            "memo": d.memo,
        }
        for d in todo
    ]
    ids = next_ids(session, Posting, len(values))
    if ids is None:
        # One executemany, then the ids by key: an INSERT … RETURNING bound to keep the rows' order
        # would be sent row by row on SQLite.
        session.execute(insert(table_of(Posting)), values)
        by_key: dict[str, int] = {}
        for part in chunks([d.key for d in todo]):
            rows = session.execute(select(Posting.key, Posting.id).where(Posting.key.in_(part)))
            by_key.update((str(key), int(posting_id)) for key, posting_id in rows)
        ids = [by_key[d.key] for d in todo]
    else:
        insert_rows(session, Posting, [{"id": i, **v} for i, v in zip(ids, values, strict=True)])
    entries = [
        {
            "posting_id": posting_id,
            "program_id": d.program_id,
            "member_id": leg.member_id,
            "account": Account(leg.account),
            "amount_fen": leg.amount_fen,
            "at": d.at,
        }
        for posting_id, d in zip(ids, todo, strict=True)
        for leg in d.legs
    ]
    if entries:
        insert_rows(session, Entry, entries)
    return len(todo)


def post(session: Session, posting: Draft) -> bool:
    """Write one posting; False when its key was posted before (or it moves nothing)."""
    return post_many(session, [posting]) == 1
