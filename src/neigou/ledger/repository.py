"""Queries of the ledger: balances derived from entries, statements, withdrawals, batches."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session

from neigou.kit.bulk import chunks
from neigou.kit.paging import Cursor, CursorPaged, Page, Paged, count_rows, paginate, paginate_before
from neigou.ledger.models import (
    MEMBER_ACCOUNTS,
    Account,
    Entry,
    PayoutBatch,
    PayoutSettings,
    Posting,
    PostingKind,
    Withdrawal,
    WithdrawalStatus,
)


@dataclass(frozen=True)
class Balance:
    """A member's money by state, in fen (available may be negative after a clawback)."""

    pending_fen: int = 0
    frozen_fen: int = 0
    available_fen: int = 0
    withdrawing_fen: int = 0
    withdrawn_fen: int = 0

    @property
    def total_fen(self) -> int:
        """Everything the member earned and kept, whatever its state."""
        return (
            self.pending_fen
            + self.frozen_fen
            + self.available_fen
            + self.withdrawing_fen
            + self.withdrawn_fen
        )


def _balance(sums: dict[Account, int]) -> Balance:
    return Balance(**{f"{account.value}_fen": sums.get(account, 0) for account in MEMBER_ACCOUNTS})


def balance(session: Session, member_id: int) -> Balance:
    """One member's balance, summed from the ledger."""
    rows = session.execute(
        select(Entry.account, func.sum(Entry.amount_fen))
        .where(Entry.member_id == member_id)
        .group_by(Entry.account)
    )
    return _balance({account: int(total) for account, total in rows})


def balances(session: Session, member_ids: Iterable[int]) -> dict[int, Balance]:
    """Balances of many members in one grouped query per chunk."""
    sums: dict[int, dict[Account, int]] = {}
    for part in chunks(sorted(set(member_ids))):
        rows = session.execute(
            select(Entry.member_id, Entry.account, func.sum(Entry.amount_fen))
            .where(Entry.member_id.in_(part))
            .group_by(Entry.member_id, Entry.account)
        )
        for member_id, account, total in rows:
            sums.setdefault(int(member_id or 0), {})[account] = int(total)
    return {member: _balance(sums.get(member, {})) for member in member_ids}


def account_total(session: Session, member_id: int, account: Account) -> int:
    """The balance of one account of a member."""
    total = session.scalar(
        select(func.sum(Entry.amount_fen)).where(Entry.member_id == member_id, Entry.account == account)
    )
    return int(total or 0)


def last_credit_at(session: Session, member_id: int, account: Account) -> datetime | None:
    """When money last came into one account of a member (None when it never did)."""
    return session.scalar(
        select(func.max(Entry.at)).where(
            Entry.member_id == member_id, Entry.account == account, Entry.amount_fen > 0
        )
    )


def ledger_sums(session: Session, program_id: int | None = None) -> dict[str, int]:
    """Totals per account over every entry (a balanced ledger's totals sum to zero)."""
    query = select(Entry.account, func.sum(Entry.amount_fen)).group_by(Entry.account)
    if program_id is not None:
        query = query.where(Entry.program_id == program_id)
    return {account.value: int(total) for account, total in session.execute(query)}


def unbalanced_postings(session: Session) -> list[int]:
    """Ids of postings whose entries do not sum to zero (always empty, checked by the tests)."""
    query = select(Entry.posting_id).group_by(Entry.posting_id).having(func.sum(Entry.amount_fen) != 0)
    return [int(i) for i in session.scalars(query)]


@dataclass(frozen=True)
class StatementLine:
    """One entry on a member's statement, with the posting that made it."""

    entry_id: int
    at: datetime
    kind: PostingKind
    account: Account
    amount_fen: int
    source: str
    source_id: int
    memo: str


def _statement(member_id: int) -> Select[Entry, Posting]:
    return (
        select(Entry, Posting)
        .join(Posting, Posting.id == Entry.posting_id)
        .where(Entry.member_id == member_id)
        .order_by(Entry.at.desc(), Entry.id.desc())
    )


def _line(e: Entry, p: Posting) -> StatementLine:
    return StatementLine(e.id, e.at, p.kind, e.account, e.amount_fen, p.source, p.source_id, p.memo)


def statement(
    session: Session, member_id: int, *, limit: int = 100, before_id: int | None = None
) -> list[StatementLine]:
    """A member's entries, newest first (page with ``before_id``)."""
    query = _statement(member_id).limit(limit)
    if before_id is not None:
        query = query.where(Entry.id < before_id)
    return [_line(e, p) for e, p in session.execute(query)]


def page_statement(session: Session, member_id: int, cursor: Cursor) -> CursorPaged:
    """A page of :func:`statement` (``items`` are lines), the member's number of entries and the next cursor."""
    page = paginate_before(session, _statement(member_id), Entry.id, cursor)
    return CursorPaged([_line(e, p) for e, p in page.items], page.total, page.next_before_id)


def page_statement_lines(session: Session, member_id: int, page: Page) -> Paged[StatementLine]:
    """Page ``page`` of :func:`statement` and the member's number of entries (numbered pages)."""
    stmt = _statement(member_id)
    rows = session.execute(stmt.limit(page.limit).offset(page.offset))
    return Paged([_line(e, p) for e, p in rows], count_rows(session, stmt))


@dataclass(frozen=True)
class Movement:
    """One posting as the member sees it: what happened and how much, both sides merged.

    ``net_fen`` is what it changed in the member's total (commission earned +, clawed back or a
    fee −, 0 when money only changed state); ``moved_fen`` is how much changed state.
    """

    posting_id: int
    at: datetime
    kind: PostingKind
    net_fen: int
    moved_fen: int
    source: str
    source_id: int


MEMBER_EARNING_KINDS = (PostingKind.COMMISSION_EARNED, PostingKind.COMMISSION_REVERSED)


def _movements(member_id: int) -> Select[int, datetime, PostingKind, int, int, str, int]:
    positive = func.sum(case((Entry.amount_fen > 0, Entry.amount_fen), else_=0))
    return (
        select(
            Posting.id,
            Posting.at,
            Posting.kind,
            func.sum(Entry.amount_fen),
            positive,
            Posting.source,
            Posting.source_id,
        )
        .join(Entry, Entry.posting_id == Posting.id)
        .where(Entry.member_id == member_id)
        .group_by(Posting.id, Posting.at, Posting.kind, Posting.source, Posting.source_id)
        .order_by(Posting.at.desc(), Posting.id.desc())
    )


def page_movements(session: Session, member_id: int, page: Page) -> Paged[Movement]:
    """A member's movements, newest first: one line per posting, never both sides of it."""
    stmt = _movements(member_id)
    rows = session.execute(stmt.limit(page.limit).offset(page.offset))
    items = [
        Movement(int(pid), at, kind, int(net), int(moved), source, int(source_id))
        for pid, at, kind, net, moved, source, source_id in rows
    ]
    return Paged(items, count_rows(session, stmt))


def earned_since(session: Session, member_id: int, starts: Sequence[datetime]) -> list[int]:
    """Commission a member earned from each of ``starts`` on, net of what refunds took back (today's
    and this month's, say), in one statement."""
    if not starts:
        return []
    totals = session.execute(
        select(*(func.sum(case((Posting.at >= start, Entry.amount_fen), else_=0)) for start in starts))
        .join(Posting, Posting.id == Entry.posting_id)
        .where(
            Entry.member_id == member_id, Posting.kind.in_(MEMBER_EARNING_KINDS), Posting.at >= min(starts)
        )
    ).one()
    return [int(total or 0) for total in totals]


def payout_settings(session: Session, program_id: int) -> PayoutSettings | None:
    """A program's withdrawal rules, if set."""
    return session.get(PayoutSettings, program_id)


def find_withdrawal(session: Session, member_id: int, request_id: str) -> Withdrawal | None:
    """The withdrawal a member requested under ``request_id``."""
    return session.scalar(
        select(Withdrawal).where(Withdrawal.member_id == member_id, Withdrawal.request_id == request_id)
    )


def list_withdrawals(
    session: Session,
    *,
    program_id: int | None = None,
    member_id: int | None = None,
    status: WithdrawalStatus | None = None,
    batch_id: int | None = None,
    limit: int = 200,
) -> list[Withdrawal]:
    """Withdrawals, newest first."""
    query = _withdrawals(program_id=program_id, member_id=member_id, status=status, batch_id=batch_id)
    return list(session.scalars(query.limit(limit)))


def page_withdrawals(
    session: Session,
    page: Page,
    *,
    program_id: int | None = None,
    member_id: int | None = None,
    status: WithdrawalStatus | None = None,
    unbatched: bool = False,
) -> Paged[Withdrawal]:
    """A page of :func:`list_withdrawals` and how many withdrawals match; ``unbatched`` keeps those in no
    payout batch yet, in the statement (never dropped after a page was cut: they would go missing)."""
    query = _withdrawals(program_id=program_id, member_id=member_id, status=status)
    if unbatched:
        query = query.where(Withdrawal.batch_id.is_(None))
    return paginate(session, query, page)


def programs_to_batch(session: Session, program_id: int | None = None) -> list[int]:
    """The programs with an approved withdrawal in no payout batch yet (what a new batch would take)."""
    query = select(Withdrawal.program_id).where(
        Withdrawal.status == WithdrawalStatus.APPROVED, Withdrawal.batch_id.is_(None)
    )
    if program_id is not None:
        query = query.where(Withdrawal.program_id == program_id)
    return list(session.scalars(query.distinct().order_by(Withdrawal.program_id)))


def waiting_withdrawals(session: Session, program_id: int) -> dict[WithdrawalStatus, tuple[int, int]]:
    """How many of a program's withdrawals wait for an operator, and their amount, by status: requested
    (to approve or reject) and approved but not yet in a payout batch (to pay: a batched one waits for
    the bank, and the withdrawals page lists only the unbatched); one grouped statement."""
    rows = session.execute(
        select(Withdrawal.status, func.count(Withdrawal.id), func.sum(Withdrawal.amount_fen))
        .where(
            Withdrawal.program_id == program_id,
            Withdrawal.status.in_((WithdrawalStatus.REQUESTED, WithdrawalStatus.APPROVED)),
            Withdrawal.batch_id.is_(None),
        )
        .group_by(Withdrawal.status)
    )
    return {WithdrawalStatus(s): (int(n), int(fen or 0)) for s, n, fen in rows}


def _withdrawals(
    *,
    program_id: int | None,
    member_id: int | None,
    status: WithdrawalStatus | None,
    batch_id: int | None = None,
) -> Select[Withdrawal]:
    query = select(Withdrawal).order_by(Withdrawal.id.desc())
    if program_id is not None:
        query = query.where(Withdrawal.program_id == program_id)
    if member_id is not None:
        query = query.where(Withdrawal.member_id == member_id)
    if status is not None:
        query = query.where(Withdrawal.status == status)
    if batch_id is not None:
        query = query.where(Withdrawal.batch_id == batch_id)
    return query


def page_batches(session: Session, page: Page, program_id: int | None = None) -> Paged[PayoutBatch]:
    """A page of payout batches, newest first, and how many there are."""
    query = select(PayoutBatch).order_by(PayoutBatch.id.desc())
    if program_id is not None:
        query = query.where(PayoutBatch.program_id == program_id)
    return paginate(session, query, page)
