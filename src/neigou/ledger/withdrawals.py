"""Withdrawals: requested (out of available at once) → approved → paid in a batch, or rejected."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from neigou.audit import service as audit
from neigou.kit.actor import Actor
from neigou.kit.clock import utcnow
from neigou.kit.db import get_or_404
from neigou.kit.errors import Conflict, Invalid
from neigou.kit.i18n import Message
from neigou.ledger import legs, payees
from neigou.ledger import repository as repo
from neigou.ledger.models import Account, PayeeAccount, PostingKind, Withdrawal, WithdrawalStatus
from neigou.ledger.payout_rules import PayoutRules, fee, refusal
from neigou.ledger.service import draft, post
from neigou.ledger.wallets import lock_wallet
from neigou.programs.models import Member
from neigou.risk import holds


def rules_of(session: Session, program_id: int) -> PayoutRules:
    """The program's withdrawal terms (defaults when none were set)."""
    row = repo.payout_settings(session, program_id)
    if row is None:
        return PayoutRules()
    return PayoutRules(row.min_withdrawal_fen, row.fee_fixed_fen, row.fee_bp)


def _dump(w: Withdrawal) -> dict[str, object]:
    return {"status": w.status.value, "amount_fen": w.amount_fen, "fee_fen": w.fee_fen, "reason": w.reason}


def _record(
    session: Session,
    w: Withdrawal,
    *,
    action: str,
    before: dict[str, object] | None,
    actor: Actor,
    at: datetime,
) -> None:
    """Audit a withdrawal's step: its state before (none when it is new) and after."""
    audit.record(
        session,
        actor=actor,
        action=action,
        entity="withdrawal",
        entity_id=w.id,
        before=before,
        after=_dump(w),
        at=at,
    )


def request(
    session: Session,
    *,
    member: Member,
    amount_fen: int,
    request_id: str,
    actor: Actor,
    at: datetime,
    catch_up: timedelta = timedelta(0),
) -> tuple[Withdrawal, bool]:
    """Take ``amount_fen`` out of available; (withdrawal, created). Idempotent on ``request_id``.

    ``at`` is never later than now (``MoneyClock.until_now``). ``catch_up`` is for a time the server
    chose (the caller sent none): a settlement that committed between the request's reading of the
    clock and its lock on the wallet is dated a moment later, so the request is dated when its money
    became available when that is at most ``catch_up`` later and not ahead of the clock, instead of
    being refused. It is never dated ahead of the clock: a request dated ahead held up its payout batch.

    The withdrawal keeps a copy of the member's payee account as it is now (``payees.copied``, still
    sealed): the operator reviews that one and the payout file pays it, whatever the member sets later."""
    existing = repo.find_withdrawal(session, member.id, request_id)
    if existing is None:
        rules = rules_of(session, member.program_id)
        problem = refusal(rules, amount_fen)
        if problem is not None:
            raise Invalid(problem[1], code=problem[0])
        lock_wallet(session, member)
        existing = repo.find_withdrawal(session, member.id, request_id)
        if existing is None:
            holds.check_withdrawals_allowed(session, member.id)
    if existing is not None:
        if existing.amount_fen != amount_fen:
            raise Conflict(
                Message("{field} was used for another amount.", field="request_id"),
                code="request_id_reused",
                extra={"field": "request_id"},
            )
        return existing, False
    at = _dated_when_funded(session, member, at, catch_up)
    available = repo.account_total(session, member.id, Account.AVAILABLE)
    problem = refusal(rules, amount_fen, available)
    if problem is not None:
        raise Conflict(problem[1], code=problem[0], extra={"available_fen": available})
    charged = fee(rules, amount_fen)
    withdrawal = Withdrawal(
        program_id=member.program_id,
        member_id=member.id,
        request_id=request_id,
        amount_fen=amount_fen,
        fee_fen=charged,
        net_fen=amount_fen - charged,
        status=WithdrawalStatus.REQUESTED,
        requested_at=at,
        # Read after the wallet's lock: a change of the account committed before it (``payees.put_payee``
        # takes the same lock) is the one copied.
        **payees.copied(session.get(PayeeAccount, member.id, populate_existing=True)),
    )
    session.add(withdrawal)
    session.flush()
    _post(
        session,
        withdrawal,
        PostingKind.WITHDRAWAL_REQUESTED,
        at,
        legs.move({member.id: amount_fen}, source=Account.AVAILABLE, target=Account.WITHDRAWING),
    )
    _record(session, withdrawal, action="withdrawal.request", before=None, actor=actor, at=at)
    return withdrawal, True


def _dated_when_funded(session: Session, member: Member, at: datetime, catch_up: timedelta) -> datetime:
    """The request's date: refused when before the money it takes became available (the balance it is
    checked against holds every credit of ``available``, so it is dated no earlier than the last one, nor
    before the member joined, as a refund follows its order's payment and a payout its requests), or
    moved to that moment when it is at most ``catch_up`` later and not ahead of the clock (see
    ``request``)."""
    credited = repo.last_credit_at(session, member.id, Account.AVAILABLE)
    funded = max(member.joined_at, credited or member.joined_at)
    if at >= funded:
        return at
    if funded - at > catch_up or funded > utcnow():
        raise Invalid(
            Message("A withdrawal cannot be dated before the money it takes became available."),
            code="withdrawal_before_available",
        )
    return funded


def _post(
    session: Session, w: Withdrawal, kind: PostingKind, at: datetime, moved: tuple[legs.Leg, ...]
) -> None:
    post(
        session,
        draft(
            program_id=w.program_id,
            kind=kind,
            key=f"withdrawal:{w.id}:{kind.value}",
            source="withdrawal",
            source_id=w.id,
            at=at,
            legs=moved,
        ),
    )


def require(session: Session, withdrawal_id: int) -> Withdrawal:
    """The withdrawal, locked for a decision, or a 404."""
    detail = Message("This withdrawal does not exist.")
    return get_or_404(
        session, Withdrawal, withdrawal_id, code="withdrawal_not_found", detail=detail, lock=True
    )


def _wrong_state(w: Withdrawal, wanted: str) -> Conflict:
    return Conflict(
        Message(
            "Withdrawal {withdrawal_id} is {status}; it must be {wanted}.",
            withdrawal_id=w.id,
            status=w.status.value,
            wanted=wanted,
        ),
        code="invalid_state",
        extra={"current_status": w.status.value},
    )


def approve(session: Session, *, withdrawal_id: int, actor: Actor, at: datetime) -> Withdrawal:
    """Approve a request (approving twice is harmless); refused 409 ``member_suspended`` or
    ``withdrawals_held`` while the member is held, as the request was."""
    w = require(session, withdrawal_id)
    if w.status is WithdrawalStatus.APPROVED:
        return w
    if w.status is not WithdrawalStatus.REQUESTED:
        raise _wrong_state(w, "requested")
    holds.check_withdrawals_allowed(session, w.member_id)  # a hold placed since the request
    before = _dump(w)
    w.status, w.decided_at = WithdrawalStatus.APPROVED, at
    session.flush()
    _record(session, w, action="withdrawal.approve", before=before, actor=actor, at=at)
    return w


def reject(session: Session, *, withdrawal_id: int, reason: str, actor: Actor, at: datetime) -> Withdrawal:
    """Reject a request not yet in a payout batch: the amount goes back to available."""
    w = require(session, withdrawal_id)
    if w.status is WithdrawalStatus.REJECTED:
        return w
    if w.status not in (WithdrawalStatus.REQUESTED, WithdrawalStatus.APPROVED) or w.batch_id is not None:
        raise _wrong_state(w, "requested or approved, outside a payout batch")
    before = _dump(w)
    w.status, w.decided_at, w.reason = WithdrawalStatus.REJECTED, at, reason
    session.flush()
    _post(
        session,
        w,
        PostingKind.WITHDRAWAL_REJECTED,
        at,
        legs.move({w.member_id: w.amount_fen}, source=Account.WITHDRAWING, target=Account.AVAILABLE),
    )
    _record(session, w, action="withdrawal.reject", before=before, actor=actor, at=at)
    return w


def mark_paid(session: Session, withdrawals: list[Withdrawal], at: datetime) -> None:
    """Record that finance paid these approved withdrawals: net to withdrawn, the fee to the platform."""
    for w in withdrawals:
        if w.status is not WithdrawalStatus.APPROVED:
            raise _wrong_state(w, "approved")
        w.status, w.paid_at = WithdrawalStatus.PAID, at
        moved = legs.balanced(
            [
                legs.Leg(w.member_id, Account.WITHDRAWING, -w.amount_fen),
                legs.Leg(w.member_id, Account.WITHDRAWN, w.net_fen),
                legs.Leg(legs.PLATFORM, Account.PAYOUT_FEES, w.fee_fen),
            ]
        )
        _post(session, w, PostingKind.WITHDRAWAL_PAID, at, moved)
    session.flush()


def ids_approved_unbatched(session: Session, program_id: int) -> list[int]:
    """Approved withdrawals of a program waiting for a payout batch, but those of members held by a
    risk case or suspended (they wait, marked on the console, until the hold lifts or they are rejected)."""
    return list(
        session.scalars(
            select(Withdrawal.id)
            .where(
                Withdrawal.program_id == program_id,
                Withdrawal.status == WithdrawalStatus.APPROVED,
                Withdrawal.batch_id.is_(None),
                holds.withdrawals_allowed(Withdrawal.member_id),
            )
            .order_by(Withdrawal.id)
            .with_for_update()
        )
    )
