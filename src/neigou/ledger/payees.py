"""A member's payee account: set by the member (or an operator), sealed at rest, shown masked."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from neigou.audit import service as audit
from neigou.kit.actor import Actor
from neigou.kit.bulk import chunks
from neigou.kit.db import row_to_put
from neigou.kit.errors import Invalid, NotFound
from neigou.kit.i18n import Message
from neigou.kit.sealed import Sealer
from neigou.ledger.models import PayeeAccount
from neigou.ledger.payee_rules import Payee, PayeeKind, check_payee
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
    """Store (or replace) where ``member`` is paid; a malformed account is 422 and stores nothing."""
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
    fresh = {"member_id": member.id, "program_id": member.program_id, **stored}
    row, created = row_to_put(session, PayeeAccount, fresh, key=["member_id"])
    before = None if created else {"kind": row.kind.value, "account": row.account_masked}
    for name, value in stored.items():
        setattr(row, name, value)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="payee.put",
        entity="member",
        entity_id=member.id,
        before=before,
        after={"kind": checked.kind.value, "account": checked.account_masked},
        at=at,
    )
    return row


def masked_payees(session: Session, member_ids: Iterable[int]) -> dict[int, PayeeAccount]:
    """The payee accounts of these members (their masked forms are what pages show)."""
    found: dict[int, PayeeAccount] = {}
    for part in chunks(sorted(set(member_ids))):
        found.update(
            {
                p.member_id: p
                for p in session.scalars(select(PayeeAccount).where(PayeeAccount.member_id.in_(part)))
            }
        )
    return found


def require_payee(session: Session, member_id: int) -> PayeeAccount:
    """The member's payee account or a 404 ``payee_not_set``."""
    row = session.get(PayeeAccount, member_id)
    if row is None:
        raise NotFound(
            Message("The member has not said where to be paid."),
            code="payee_not_set",
        )
    return row
