"""Payout batches: approved withdrawals handed to finance as CSV or Excel, then marked paid."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from neigou.audit import service as audit
from neigou.kit import exports
from neigou.kit.actor import Actor
from neigou.kit.db import get_or_404, row_to_put
from neigou.kit.errors import Conflict, Invalid
from neigou.kit.i18n import N_, Message, translations
from neigou.kit.sealed import Sealer
from neigou.ledger import withdrawals
from neigou.ledger.models import PayoutBatch, PayoutSettings, Withdrawal, WithdrawalStatus
from neigou.ledger.payout_rules import PayoutRules
from neigou.programs.models import Member
from neigou.risk import holds

EXPORT_PAGE_ROWS = 1000  # withdrawals read per statement while a payout file is written
MAX_EXPORT_ROWS = 200_000  # withdrawals one payout file holds
COLUMNS = (
    "withdrawal_id",
    "member_id",
    "member_name",
    "amount_fen",
    "fee_fen",
    "net_fen",
    "net_yuan",
    "requested_at",
    "request_id",
    "payee_kind",
    "payee_account",
    "payee_name",
    "hold",
)
# The ``hold`` column: why a withdrawal's member is held now (the console's words), empty when not.
HOLDS = {
    "member_suspended": N_("Suspended after a confirmed risk case"),
    "withdrawals_held": N_("Held while a risk case is under review"),
}


def create_batch(session: Session, *, program_id: int, actor: Actor, at: datetime) -> PayoutBatch:
    """Gather every approved withdrawal of a program not yet batched; refuses an empty batch."""
    ids = withdrawals.ids_approved_unbatched(session, program_id)
    if not ids:
        raise Conflict(Message("No approved withdrawals are waiting."), code="nothing_to_pay")
    rows = list(session.scalars(select(Withdrawal).where(Withdrawal.id.in_(ids))))
    batch = PayoutBatch(
        program_id=program_id, created_at=at, count=len(rows), total_net_fen=sum(w.net_fen for w in rows)
    )
    session.add(batch)
    session.flush()
    for w in rows:
        w.batch_id = batch.id
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="payout_batch.create",
        entity="payout_batch",
        entity_id=batch.id,
        after={"withdrawals": ids, "total_net_fen": batch.total_net_fen},
        at=at,
    )
    return batch


def require_batch(session: Session, batch_id: int, *, lock: bool = False) -> PayoutBatch:
    """The batch or a 404."""
    detail = Message("This payout batch does not exist.")
    return get_or_404(session, PayoutBatch, batch_id, code="batch_not_found", detail=detail, lock=lock)


@dataclass(frozen=True)
class PaidBatch:
    """A batch marked paid, and the withdrawals taken out of it unpaid because their member is held."""

    batch: PayoutBatch
    held: tuple[int, ...] = ()


def pay_batch(session: Session, *, batch_id: int, actor: Actor, at: datetime) -> PaidBatch:
    """Mark a batch paid: each withdrawal paid, its net withdrawn (idempotent).

    A withdrawal whose member a risk case holds or suspended since the batch was made is not paid: it
    leaves the batch, still approved and in ``withdrawing`` (nothing is posted for it), and waits with
    the other approved ones until the hold lifts or an operator rejects it; the batch's count and net
    total become what was paid. Refused, with nothing written, when ``at`` precedes a withdrawal's
    request (``payout_before_request``) or approval (``payout_before_approval``) or the batch itself
    (``payout_before_batch``). A batch whose every withdrawal is held is closed with nothing paid
    (count 0): refusing it would leave it unpayable for good once a member is suspended, since a
    batched withdrawal cannot be rejected."""
    batch = require_batch(session, batch_id, lock=True)
    if batch.paid_at is not None:
        return PaidBatch(batch)
    rows = list(
        session.scalars(
            select(Withdrawal)
            .where(Withdrawal.batch_id == batch.id)
            .order_by(Withdrawal.id)
            .with_for_update()
        )
    )
    _check_paid_at(batch, rows, at)
    held_ids = set(
        session.scalars(
            select(Withdrawal.id).where(
                Withdrawal.batch_id == batch.id, ~holds.withdrawals_allowed(Withdrawal.member_id)
            )
        )
    )
    held = [w for w in rows if w.id in held_ids and w.status is WithdrawalStatus.APPROVED]
    for w in held:
        w.batch_id = None
    if held:
        batch.count -= len(held)
        batch.total_net_fen -= sum(w.net_fen for w in held)
    paying = [w for w in rows if w not in held]
    withdrawals.mark_paid(session, [w for w in paying if w.status is WithdrawalStatus.APPROVED], at)
    batch.paid_at = at
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="payout_batch.pay",
        entity="payout_batch",
        entity_id=batch.id,
        after={"paid_at": at.isoformat(), "count": len(paying), "held": [w.id for w in held]},
        at=at,
    )
    return PaidBatch(batch, tuple(w.id for w in held))


def _known_requested_at(w: Withdrawal, batch: PayoutBatch) -> datetime:
    """When the withdrawal is known to have been requested: its ``requested_at``, but never later than
    its approval or its batch, instants the server dated. A request is dated no later than now, yet one
    stored dated ahead (up to the clock skew, a day at most, before that rule) must not hold up the
    whole batch until that moment passes: a batched withdrawal cannot be rejected."""
    known = min(w.requested_at, batch.created_at)
    return known if w.decided_at is None else min(known, w.decided_at)


def _check_paid_at(batch: PayoutBatch, rows: list[Withdrawal], at: datetime) -> None:
    """Refuse a payment dated before a withdrawal of the batch was requested (:func:`_known_requested_at`)
    or approved, or before the batch was made."""
    if any(at < _known_requested_at(w, batch) for w in rows):
        raise Invalid(
            Message("A batch cannot be paid before its withdrawals were requested."),
            code="payout_before_request",
        )
    if any(w.decided_at is not None and at < w.decided_at for w in rows):
        raise Invalid(
            Message("A batch cannot be paid before its withdrawals were approved."),
            code="payout_before_approval",
        )
    if at < batch.created_at:
        raise Invalid(
            Message("A batch cannot be paid before it was made."),
            code="payout_before_batch",
        )


BatchRow = tuple[Withdrawal, str, str | None]


def _batch_page(session: Session, batch_id: int, after: int) -> list[BatchRow]:
    """Up to :data:`EXPORT_PAGE_ROWS` of the batch's withdrawals after id ``after``, in id order, with
    their member's name and hold. The payee is the withdrawal's own copy (``Withdrawal.payee_*``), never
    the member's account now: one changed after the approval does not redirect the money approved."""
    found = session.execute(
        select(Withdrawal, Member.name, holds.withdrawal_hold(Withdrawal.member_id))
        .join(Member, Member.id == Withdrawal.member_id)
        .where(Withdrawal.batch_id == batch_id, Withdrawal.id > after)
        .order_by(Withdrawal.id)
        .limit(EXPORT_PAGE_ROWS)
    ).all()
    return [(w, name, hold) for w, name, hold in found]


def _batch_pages(session: Session, batch_id: int) -> Iterator[BatchRow]:
    """The batch's withdrawals in id order, read :data:`EXPORT_PAGE_ROWS` at a time after the last id
    read (keyset paging: each statement starts where the previous one stopped, never one statement for
    the whole batch)."""
    after = 0
    while True:
        found = _batch_page(session, batch_id, after)
        yield from found
        if len(found) < EXPORT_PAGE_ROWS:
            return
        after = found[-1][0].id


def batch_rows(session: Session, batch_id: int, sealer: Sealer, locale: str) -> Iterator[tuple[object, ...]]:
    """The finance file's rows, one per withdrawal of the batch, read in pages as they are written, with
    the account to pay in full (the withdrawal's copy, unsealed here only; empty when the member had not
    said where to be paid while the request waited for review)
    and, in ``locale``, whether a risk case holds the member now (marking the batch paid would give the
    withdrawal back)."""
    gettext = translations(locale).gettext
    return (_file_row(row, sealer, gettext) for row in _batch_pages(session, batch_id))


def _file_row(row: BatchRow, sealer: Sealer, gettext: Callable[[str], str]) -> tuple[object, ...]:
    w, name, hold = row
    return (
        w.id,
        w.member_id,
        name,
        w.amount_fen,
        w.fee_fen,
        w.net_fen,
        f"{w.net_fen // 100}.{w.net_fen % 100:02d}",
        w.requested_at.isoformat(),
        w.request_id,
        *_payee_cells(w, sealer),
        gettext(HOLDS[hold]) if hold else "",
    )


def _payee_cells(w: Withdrawal, sealer: Sealer) -> tuple[str, str, str]:
    """The kind, account and holder the withdrawal is paid to, from its own sealed copy."""
    if w.payee_kind is None or w.payee_account_sealed is None or w.payee_holder_sealed is None:
        return "", "", ""
    return (
        w.payee_kind.value,
        sealer.unseal(w.payee_account_sealed) or "",
        sealer.unseal(w.payee_holder_sealed) or "",
    )


def _exportable(session: Session, batch_id: int) -> PayoutBatch:
    """The batch, if one file may hold it: else 404, or 422 ``export_too_large`` past
    :data:`MAX_EXPORT_ROWS` withdrawals (counted, not read)."""
    batch = require_batch(session, batch_id)
    count = session.scalar(select(func.count(Withdrawal.id)).where(Withdrawal.batch_id == batch_id)) or 0
    if count > MAX_EXPORT_ROWS:
        raise Invalid(
            Message("A payout file holds at most {max_rows} withdrawals.", max_rows=MAX_EXPORT_ROWS),
            code="export_too_large",
            extra={"max_rows": MAX_EXPORT_ROWS},
        )
    return batch


def csv_chunks(
    session: Session,
    reads: Callable[[], AbstractContextManager[Session]],
    batch_id: int,
    sealer: Sealer,
    locale: str,
) -> Iterator[bytes]:
    """The batch as UTF-8 CSV with a BOM (Excel opens it with the Chinese names intact), in pieces for
    a streamed response: 404 or 422 ``export_too_large`` now, in ``session`` (the request's), before
    the first byte; then the header, then one piece per :data:`EXPORT_PAGE_ROWS` withdrawals, each page
    read after the last id of the one before in a short session of its own (``reads()``, as
    ``kit.deps.LaterReads.session`` opens one) given back before the piece is sent. Memory holds one
    page, and no connection waits on the reader. Like the Excel file's pages (read committed), each
    page sees the batch as it is when it is read."""
    _exportable(session, batch_id)
    gettext = translations(locale).gettext

    def pages() -> Iterator[list[tuple[object, ...]]]:
        after = 0
        while True:
            with reads() as read:
                found = _batch_page(read, batch_id, after)
                rows = [_file_row(row, sealer, gettext) for row in found]
                last = found[-1][0].id if found else after
            yield rows
            if len(found) < EXPORT_PAGE_ROWS:
                return
            after = last

    return exports.csv_chunks(COLUMNS, pages())


def export_sheets(session: Session, batch_id: int, sealer: Sealer, locale: str) -> list[exports.Sheet]:
    """The batch as one Excel sheet whose rows are read in pages while it is written
    (``kit.exports.workbook_response``); 422 ``export_too_large`` before anything is read."""
    batch = _exportable(session, batch_id)
    return [(f"payout-{batch.id}", COLUMNS, batch_rows(session, batch_id, sealer, locale))]


def set_payout_rules(
    session: Session, *, program_id: int, rules: PayoutRules, actor: Actor, at: datetime
) -> PayoutRules:
    """Put a program's withdrawal terms (minimum, fixed fee, fee rate); audited with before and after."""
    row, created = row_to_put(
        session,
        PayoutSettings,
        {"program_id": program_id, **_terms(rules), "updated_at": at},
        key=["program_id"],
    )
    before = rules_of(None if created else row)
    row.min_withdrawal_fen, row.fee_fixed_fen, row.fee_bp = (
        rules.min_withdrawal_fen,
        rules.fee_fixed_fen,
        rules.fee_bp,
    )
    row.updated_at = at
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="payout_settings.put",
        entity="program",
        entity_id=program_id,
        before=_terms(before),
        after=_terms(rules),
        at=at,
    )
    return rules


def rules_of(row: PayoutSettings | None) -> PayoutRules:
    """The terms a settings row sets (the defaults when a program has none)."""
    return (
        PayoutRules() if row is None else PayoutRules(row.min_withdrawal_fen, row.fee_fixed_fen, row.fee_bp)
    )


def _terms(rules: PayoutRules) -> dict[str, int]:
    return {
        "min_withdrawal_fen": rules.min_withdrawal_fen,
        "fee_fixed_fen": rules.fee_fixed_fen,
        "fee_bp": rules.fee_bp,
    }
