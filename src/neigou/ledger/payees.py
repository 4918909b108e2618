"""A member's payee account: set by the member (or an operator), sealed at rest, shown masked."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from neigou.audit import service as audit
from neigou.kit.actor import Actor
from neigou.kit.db import row_to_put
from neigou.kit.errors import Invalid, NotFound
from neigou.kit.i18n import Message
from neigou.kit.sealed import Sealer
from neigou.ledger.models import PayeeAccount, Withdrawal, WithdrawalStatus
from neigou.ledger.payee_rules import Payee, PayeeKind, check_payee
from neigou.ledger.wallets import lock_wallet
from neigou.programs.models import Member


def put_payee(
    session: Session,
    *,
    member: Member,
    kind: PayeeKind,
    account: str,
    holder: str,
    sealer: Sealer,
    actor: Actor,
    at: datetime,
) -> PayeeAccount:
    """Store (or replace) where ``member`` is paid; a malformed account is 422 and stores nothing.

    A withdrawal keeps the account it was asked with (:func:`copied`): a change reaches none already
    requested, approved or paid. Only the member's requests still waiting for review that were asked
    with no account at all take this one, so the operator approves them with it in view. The change
    takes the member's wallet lock first, as a request does before it copies the account: a request at
    the same moment either copies this account or is filled with it, never neither."""
    checked = check_payee(kind, account, holder)
    if not isinstance(checked, Payee):
        code, message = checked
        raise Invalid(message, code=code)
    stored = {
        "kind": checked.kind,
        "account_sealed": sealer.seal(checked.account),
        "account_masked": checked.account_masked,
        "holder_sealed": sealer.seal(checked.holder),
        "holder_masked": checked.holder_masked,
        "updated_at": at,
    }
    # The wallet's lock a withdrawal request takes before it copies the account: a request committed
    # before this change is filled below, one made after it copies this account, none misses it.
    lock_wallet(session, member)
    fresh = {"member_id": member.id, "program_id": member.program_id, **stored}
    row, created = row_to_put(session, PayeeAccount, fresh, key=["member_id"])
    before = None if created else {"kind": row.kind.value, "account": row.account_masked}
    for name, value in stored.items():
        setattr(row, name, value)
    session.flush()
    filled = _fill_waiting_requests(session, row)
    after: dict[str, object] = {"kind": checked.kind.value, "account": checked.account_masked}
    if filled:
        after["withdrawals"] = filled
    audit.record(
        session,
        actor=actor,
        action="payee.put",
        entity="member",
        entity_id=member.id,
        before=before,
        after=after,
        at=at,
    )
    return row


def copied(payee: PayeeAccount | None) -> dict[str, object]:
    """A withdrawal's ``payee_*`` columns from the member's account (all None without one): the sealed
    tokens as they are, sealed by the same keys, so they open, rotate and stay encrypted as the
    member's do."""
    return {
        "payee_kind": payee.kind if payee else None,
        "payee_account_sealed": payee.account_sealed if payee else None,
        "payee_account_masked": payee.account_masked if payee else None,
        "payee_holder_sealed": payee.holder_sealed if payee else None,
        "payee_holder_masked": payee.holder_masked if payee else None,
    }


def _fill_waiting_requests(session: Session, payee: PayeeAccount) -> list[int]:
    """Give ``payee`` to the member's withdrawals still requested (not yet reviewed) that carry no
    account; their ids. An approval that locked one first keeps it as approved, without an account: the
    ``UPDATE`` reads the status again once the approval's lock is released."""
    waiting = (
        Withdrawal.member_id == payee.member_id,
        Withdrawal.status == WithdrawalStatus.REQUESTED,
        Withdrawal.payee_account_sealed.is_(None),
    )
    done = session.execute(
        update(Withdrawal).where(*waiting).values(**copied(payee)).returning(Withdrawal.id)
    )
    return sorted(int(i) for i in done.scalars())


def require_payee(session: Session, member_id: int) -> PayeeAccount:
    """The member's payee account or a 404 ``payee_not_set``."""
    row = session.get(PayeeAccount, member_id)
    if row is None:
        raise NotFound(
            Message("The member has not said where to be paid."),
            code="payee_not_set",
        )
    return row
