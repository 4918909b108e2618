"""HTTP endpoints of balances, statements, withdrawals, payout settings and batches (``/api/v1``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response, status

from neigou.auth.dependencies import Operator, OperatorOrMember, require_member_access
from neigou.kit import exports
from neigou.kit.clock import utcnow
from neigou.kit.deps import LaterReadsDep, ReaderLocale, SessionDep
from neigou.kit.instants import MoneyClockDep
from neigou.kit.paging import CursorDep, PageDep
from neigou.kit.sealed import Sealer
from neigou.ledger import payees, payouts, withdrawals
from neigou.ledger import repository as repo
from neigou.ledger.models import PayoutSettings, WithdrawalStatus
from neigou.ledger.payout_rules import PayoutRules
from neigou.ledger.schemas import (
    BalanceOut,
    BatchOut,
    PaidBody,
    PayeeBody,
    PayeeOut,
    PayoutSettingsBody,
    PayoutSettingsOut,
    RejectBody,
    StatementLineOut,
    WithdrawalBody,
    WithdrawalOut,
)
from neigou.programs.service import require_member, require_program

router = APIRouter(tags=["ledger"])


def balance_out(member_id: int, b: repo.Balance) -> BalanceOut:
    """The API view of a balance."""
    return BalanceOut(
        member_id=member_id,
        pending_fen=b.pending_fen,
        frozen_fen=b.frozen_fen,
        available_fen=b.available_fen,
        withdrawing_fen=b.withdrawing_fen,
        withdrawn_fen=b.withdrawn_fen,
    )


@router.get("/members/{member_id}/balance", response_model=BalanceOut)
def get_balance(member_id: int, session: SessionDep, principal: OperatorOrMember) -> BalanceOut:
    """Pending, frozen, available (may be negative after a clawback), withdrawing and withdrawn."""
    require_member_access(principal, member_id)
    require_member(session, member_id)
    return balance_out(member_id, repo.balance(session, member_id))


@router.get("/members/{member_id}/statement", response_model=list[StatementLineOut])
def get_statement(
    member_id: int,
    session: SessionDep,
    principal: OperatorOrMember,
    cursor: CursorDep,
) -> list[StatementLineOut]:
    """The member's ledger entries, newest first."""
    require_member_access(principal, member_id)
    require_member(session, member_id)
    lines = repo.page_statement(session, member_id, cursor)
    cursor.answer(lines.total, lines.next_before_id)
    return [StatementLineOut.model_validate(line) for line in lines.items]


@router.post(
    "/members/{member_id}/withdrawals", status_code=status.HTTP_201_CREATED, response_model=WithdrawalOut
)
def request_withdrawal(
    *,
    member_id: int,
    body: WithdrawalBody,
    response: Response,
    session: SessionDep,
    principal: OperatorOrMember,
    clock: MoneyClockDep,
) -> WithdrawalOut:
    """Withdraw from available (409 insufficient_balance); a repeated request_id returns the first (200).
    The request is dated when it is made: an ``at`` within the clock skew ahead counts as now."""
    require_member_access(principal, member_id)
    at = clock.until_now(body.at)
    member = require_member(session, member_id)
    w, created = withdrawals.request(
        session,
        member=member,
        amount_fen=body.amount_fen,
        request_id=body.request_id,
        actor=principal.actor,
        at=at,
        catch_up=clock.skew if body.at is None else timedelta(0),
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return WithdrawalOut.model_validate(w)


@router.put("/members/{member_id}/payee", response_model=PayeeOut)
def put_payee(
    member_id: int, body: PayeeBody, request: Request, session: SessionDep, principal: OperatorOrMember
) -> PayeeOut:
    """Say where the member is paid (the member, or an operator); stored sealed, answered masked."""
    require_member_access(principal, member_id)
    member = require_member(session, member_id)
    row = payees.put_payee(
        session,
        member=member,
        kind=body.kind,
        account=body.account,
        holder=body.holder_name,
        sealer=Sealer.from_settings(request.app.state.settings),
        actor=principal.actor,
        at=utcnow(),
    )
    return PayeeOut.model_validate(row)


@router.get("/members/{member_id}/payee", response_model=PayeeOut)
def get_payee(member_id: int, session: SessionDep, principal: OperatorOrMember) -> PayeeOut:
    """Where the member is paid, masked (404 payee_not_set before the member says)."""
    require_member_access(principal, member_id)
    require_member(session, member_id)
    return PayeeOut.model_validate(payees.require_payee(session, member_id))


@router.get("/members/{member_id}/withdrawals", response_model=list[WithdrawalOut])
def member_withdrawals(
    member_id: int, session: SessionDep, principal: OperatorOrMember, page: PageDep
) -> list[WithdrawalOut]:
    """A member's withdrawals, newest first."""
    require_member_access(principal, member_id)
    require_member(session, member_id)
    rows = repo.page_withdrawals(session, page, member_id=member_id)
    page.answer(rows.total)
    return [WithdrawalOut.model_validate(w) for w in rows.items]


@router.get("/withdrawals", response_model=list[WithdrawalOut])
def list_withdrawals(
    session: SessionDep,
    _principal: Operator,
    page: PageDep,
    program_id: int | None = None,
    status_: Annotated[WithdrawalStatus | None, Query(alias="status")] = None,
) -> list[WithdrawalOut]:
    """Withdrawals to review, newest first."""
    rows = repo.page_withdrawals(session, page, program_id=program_id, status=status_)
    page.answer(rows.total)
    return [WithdrawalOut.model_validate(w) for w in rows.items]


@router.post("/withdrawals/{withdrawal_id}/approve", response_model=WithdrawalOut)
def approve_withdrawal(withdrawal_id: int, session: SessionDep, principal: Operator) -> WithdrawalOut:
    """Approve a requested withdrawal for the next payout batch."""
    return WithdrawalOut.model_validate(
        withdrawals.approve(session, withdrawal_id=withdrawal_id, actor=principal.actor, at=utcnow())
    )


@router.post("/withdrawals/{withdrawal_id}/reject", response_model=WithdrawalOut)
def reject_withdrawal(
    withdrawal_id: int, body: RejectBody, session: SessionDep, principal: Operator
) -> WithdrawalOut:
    """Reject a withdrawal: the amount returns to available."""
    return WithdrawalOut.model_validate(
        withdrawals.reject(
            session, withdrawal_id=withdrawal_id, reason=body.reason, actor=principal.actor, at=utcnow()
        )
    )


def _settings_out(program_id: int, row: PayoutSettings | None) -> PayoutSettingsOut:
    rules = payouts.rules_of(row)
    return PayoutSettingsOut(
        program_id=program_id,
        min_withdrawal_fen=rules.min_withdrawal_fen,
        fee_fixed_fen=rules.fee_fixed_fen,
        fee_bp=rules.fee_bp,
    )


@router.get("/programs/{program_id}/payout-settings", response_model=PayoutSettingsOut)
def get_payout_settings(program_id: int, session: SessionDep, _principal: Operator) -> PayoutSettingsOut:
    """The program's minimum withdrawal and fee."""
    require_program(session, program_id)
    return _settings_out(program_id, repo.payout_settings(session, program_id))


@router.put("/programs/{program_id}/payout-settings", response_model=PayoutSettingsOut)
def put_payout_settings(
    program_id: int, body: PayoutSettingsBody, session: SessionDep, principal: Operator
) -> PayoutSettingsOut:
    """Set the program's minimum withdrawal and fee (fixed fen plus basis points of the amount)."""
    require_program(session, program_id)
    rules = PayoutRules(body.min_withdrawal_fen, body.fee_fixed_fen, body.fee_bp)
    payouts.set_payout_rules(session, program_id=program_id, rules=rules, actor=principal.actor, at=utcnow())
    return _settings_out(program_id, repo.payout_settings(session, program_id))


@router.post(
    "/programs/{program_id}/payout-batches", status_code=status.HTTP_201_CREATED, response_model=BatchOut
)
def create_batch(program_id: int, session: SessionDep, principal: Operator) -> BatchOut:
    """Put every approved withdrawal of the program into a new batch for finance."""
    require_program(session, program_id)
    return BatchOut.model_validate(
        payouts.create_batch(session, program_id=program_id, actor=principal.actor, at=utcnow())
    )


@router.get("/payout-batches/{batch_id}/export")
def export_batch(
    *,
    batch_id: int,
    request: Request,
    session: SessionDep,
    reads: LaterReadsDep,
    _principal: Operator,
    locale: ReaderLocale,
    format: Literal["csv", "xlsx"] = "csv",
) -> Response:
    """The batch as a CSV or Excel file for the bank transfer, with each payee's account in full and
    a ``hold`` column (in the reader's language) marking the withdrawals of members held now. The CSV
    is streamed as its pages are read; a batch too large for one file is refused before the first byte."""
    sealer = Sealer.from_settings(request.app.state.settings)
    filename = f"payout-batch-{batch_id}.{format}"
    if format == "xlsx":  # read in pages into a temporary file, then streamed
        return exports.workbook_response(payouts.export_sheets(session, batch_id, sealer, locale), filename)
    return exports.csv_response(
        payouts.csv_chunks(session, reads.session, batch_id, sealer, locale), filename
    )


@router.post("/payout-batches/{batch_id}/paid", response_model=BatchOut)
def mark_batch_paid(
    batch_id: int,
    session: SessionDep,
    principal: Operator,
    clock: MoneyClockDep,
    body: PaidBody | None = None,
) -> BatchOut:
    """The bank paid the batch: every withdrawal in it is paid, but those of members a risk case now
    holds, which leave the batch unpaid (``held_withdrawal_ids``)."""
    at = clock.until_now(body.at if body else None)
    paid = payouts.pay_batch(session, batch_id=batch_id, actor=principal.actor, at=at)
    return BatchOut.model_validate(paid.batch).model_copy(update={"held_withdrawal_ids": list(paid.held)})
