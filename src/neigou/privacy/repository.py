"""Queries of opt-outs, including the suppression check the links domain runs once per batch of touches.

This module and ``models`` sit below ``links`` in the layers (see pyproject.toml), so touches can
honour an opt-out; the erasure itself (``service``) sits above ``orders``.

Two readings, on purpose not the tenant scope's plain ``organization_id`` rule:

- suppression honours every opt-out of the customer, whoever recorded it (a platform
  administrator's has no organization, another organization's is not the caller's): the answer
  names only pairs the caller asked about, so it shows nothing of the rows themselves;
- an organization's operators see their organization's opt-outs and those recorded platform-wide
  that apply to them (every program, or one of theirs); never another organization's.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable
from datetime import datetime
from typing import TypeVar

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import Session

from neigou.kit.db import hold_write_lock
from neigou.kit.paging import Cursor, CursorPaged, paginate_before
from neigou.kit.scoping import unscoped
from neigou.privacy.models import OptOut
from neigou.programs.models import Program
from neigou.programs.scope import organization_of_caller

# A (program, customer hash) pair; a program of None is covered by opt-outs of every program only.
Pair = TypeVar("Pair", tuple[int, str], tuple[int | None, str])
# One statement per batch: the keys come sorted, and the ORDER BY in the subquery (never flattened by
# the planner) makes the locks taken in that order, so two batches cannot wait on each other.
_LOCK_PG = (
    "SELECT count(pg_advisory_xact_lock(k)) FROM "
    "(SELECT k FROM unnest(CAST(%s AS bigint[])) AS u(k) ORDER BY k) AS sorted_keys"
)
_LOCK_WIDE_PG = "SELECT pg_advisory_xact_lock_shared(%s)"
_LOCK_OPT_OUT_PG = "SELECT pg_advisory_xact_lock(%s)"
# A batch of more customers than this takes the one wide lock instead of theirs: every advisory lock
# held is an entry of the server's shared lock table (max_locks_per_transaction x max_connections,
# 6,400 by default), which a file's batch of thousands of customers would nearly fill.
WIDE_FROM = 200


def lock_key(customer_ref_hash: str) -> int:
    """The advisory lock key of a customer hash: a signed 64-bit number."""
    digest = hashlib.blake2b(customer_ref_hash.encode(), digest_size=8, person=b"neigou.optout").digest()
    return int.from_bytes(digest, "big", signed=True)


# The wide lock: held shared by the writers of large batches, exclusively by every opt-out.
WIDE_KEY = lock_key("neigou.optout:every-customer")


def lock_customers(session: Session, customer_ref_hashes: Iterable[str]) -> None:
    """Serialize with any opt-out of these customers until the transaction ends (PostgreSQL).

    The opt-out takes its customer's lock (:func:`lock_for_opt_out`) before it records the
    suppression row and erases; a writer that adds what the opt-out erases (touches, customer-book
    entries, orders, pushed messages) takes the lock of its customers before it asks
    :func:`suppressed` or writes them. Whichever comes second waits for the first to commit and then
    sees its rows (READ COMMITTED: every statement reads what was committed before it began): either
    the writer finds the opt-out, or the opt-out finds the written rows and erases them. One statement
    for a whole batch; a batch of more than :data:`WIDE_FROM` customers takes the wide lock, shared
    (batches do not wait for each other), which every opt-out takes exclusively. SQLite has no lock
    per customer: the transaction takes the database's write lock (``kit.db.hold_write_lock``), which
    the opt-out takes too, so the two wait for each other's commit the same way.
    """
    hashes = set(customer_ref_hashes)
    if not hashes:
        return
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        hold_write_lock(session)
        return
    if len(hashes) > WIDE_FROM:
        # The wide lock covers every customer: no key of theirs is needed (a file's batch of thousands
        # of customers would hash each one for nothing). Distinct hashes whose keys collide could only
        # make a batch take the wide lock where it might have taken theirs: as safe, never less.
        connection.exec_driver_sql(_LOCK_WIDE_PG, (WIDE_KEY,))
        return
    connection.exec_driver_sql(_LOCK_PG, (sorted({lock_key(h) for h in hashes}),))


def lock_for_opt_out(session: Session, customer_ref_hash: str) -> None:
    """The opt-out's locks: the wide lock exclusively, then its customer's. Always in that order; a
    writer takes either its customers' locks or the wide one, so none waits in a circle. On SQLite the
    database's write lock (``kit.db.hold_write_lock``), as every writer of its customers takes it."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(_LOCK_OPT_OUT_PG, (WIDE_KEY,))
        connection.exec_driver_sql(_LOCK_PG, ([lock_key(customer_ref_hash)],))
    else:
        hold_write_lock(session)


def suppressed(session: Session, pairs: Collection[Pair]) -> set[Pair]:
    """Those (program, customer hash) pairs whose customer opted out of that program or of all of
    them, whichever organization (or platform administrator) recorded the opt-out."""
    hashes = {customer for _, customer in pairs}
    if not hashes:
        return set()
    with unscoped(session):
        rows = session.execute(
            select(OptOut.program_id, OptOut.customer_ref_hash)
            .where(OptOut.customer_ref_hash.in_(sorted(hashes)))
            .distinct()
        ).all()
    everywhere = {customer for program, customer in rows if program is None}
    scoped = {(program, customer) for program, customer in rows if program is not None}
    return {(p, c) for p, c in pairs if c in everywhere or (p, c) in scoped}


def by_request(session: Session, request_id: str) -> OptOut | None:
    """The opt-out made under this idempotency key, whoever made it (the key is unique across the
    deployment; the service refuses another organization's)."""
    with unscoped(session):
        return session.scalars(select(OptOut).where(OptOut.request_id == request_id)).one_or_none()


def _visible_to(organization_id: int | None) -> ColumnElement[bool] | None:
    """The opt-outs an organization's operators see (None: a platform administrator sees all)."""
    if organization_id is None:
        return None
    theirs = select(Program.id).where(Program.organization_id == organization_id)
    return or_(
        OptOut.organization_id == organization_id,
        and_(
            OptOut.organization_id.is_(None),
            or_(OptOut.program_id.is_(None), OptOut.program_id.in_(theirs)),
        ),
    )


def _opt_outs(session: Session, program_id: int | None) -> Select[OptOut]:
    query = select(OptOut).order_by(OptOut.id.desc())
    if (visible := _visible_to(organization_of_caller(session))) is not None:
        query = query.where(visible)
    return query.where(OptOut.program_id == program_id) if program_id is not None else query


def visible_opt_out(session: Session, opt_out_id: int) -> OptOut | None:
    """One opt-out, if the caller sees it."""
    query = _opt_outs(session, None).where(OptOut.id == opt_out_id)
    with unscoped(session):
        return session.scalars(query).one_or_none()


def list_opt_outs(session: Session, *, program_id: int | None = None, limit: int = 100) -> list[OptOut]:
    """The opt-outs the caller sees, newest first, optionally those naming one program."""
    query = _opt_outs(session, program_id).limit(limit)
    with unscoped(session):
        return list(session.scalars(query))


def page_opt_outs(session: Session, cursor: Cursor, *, program_id: int | None = None) -> CursorPaged:
    """A page of :func:`list_opt_outs` older than the cursor, and how many opt-outs match."""
    query = _opt_outs(session, program_id)
    with unscoped(session):
        return paginate_before(session, query, OptOut.id, cursor)


def counts_shown(session: Session, row: OptOut) -> bool:
    """Whether the caller is shown what ``row`` erased: an opt-out recorded platform-wide erased
    rows of every organization, which an organization's operators do not see."""
    return row.organization_id is not None or organization_of_caller(session) is None


# What a claim or a reservation taken before an opt-out is, to :func:`opted_out_since`: (its
# organization, its program or None, the customer hash, when it was taken).
Taken = tuple[int | None, int | None, str, datetime]


def opted_out_since(session: Session, taken: Collection[Taken]) -> set[Taken]:
    """Those (organization, program, customer hash, instant) whose customer opted out at or after the
    instant (an opt-out's ``requested_at``: the later of its ``at`` and when it was recorded) of what the
    erasure reaches them by, whoever recorded it: what was taken before an opt-out
    and reaches the database only after it (a claim or reservation still in its stream, a dead letter
    replayed) is stored erased. An opt-out covers them as its erasure covered the stored rows:

    - an opt-out of one program, the rows of that program;
    - an organization's opt-out of every program, that organization's rows only (the erasure ran in
      its tenant scope): a claim's organization is its coupon's, a reservation's its event's
      program's, so a claim without a program (no link) is covered by its coupon's organization's;
    - a platform-wide opt-out of every program (no organization), every row.

    Another organization's opt-out of every program covers nothing here: it erased nothing of this
    organization's, and the shopper's later claims in it are theirs (their counters, their limits)."""
    hashes = {customer for _, _, customer, _ in taken}
    if not hashes:
        return set()
    of_program: dict[tuple[int, str], datetime] = {}
    of_all: dict[tuple[int | None, str], datetime] = {}
    with unscoped(session):
        rows = session.execute(
            select(
                OptOut.organization_id,
                OptOut.program_id,
                OptOut.customer_ref_hash,
                func.max(OptOut.requested_at),
            )
            .where(OptOut.customer_ref_hash.in_(sorted(hashes)))
            .group_by(OptOut.organization_id, OptOut.program_id, OptOut.customer_ref_hash)
        ).all()
    for organization, program, customer, requested_at in rows:
        if program is not None:
            key = (program, customer)
            of_program[key] = max(requested_at, of_program.get(key, requested_at))
        else:
            of_all[(organization, customer)] = requested_at
    if not rows:
        return set()

    def covered(organization: int | None, program: int | None, customer: str, at: datetime) -> bool:
        mine = [of_all.get((None, customer))]
        if organization is not None:
            mine.append(of_all.get((organization, customer)))
        if program is not None:
            mine.append(of_program.get((program, customer)))
        return any(when is not None and when >= at for when in mine)

    return {t for t in taken if covered(*t)}
