"""A member's wallet row: the lock a member's withdrawal requests and payee changes take in turn."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from neigou.kit.bulk import insert_ignoring_duplicates
from neigou.ledger.models import Wallet
from neigou.programs.models import Member


def lock_wallet(session: Session, member: Member) -> None:
    """Hold the member's wallet row until commit, so withdrawals of one member run one at a time, and a
    change of the member's payee account runs before or after a request, never beside it: the request
    copies the account it reads after the lock (a change committed before it), and the change gives its
    account to the requests it finds after the lock (a request committed before it) still without one."""
    insert_ignoring_duplicates(
        session,
        Wallet,
        [{"member_id": member.id, "program_id": member.program_id, "withdrawals": 0}],
        index_elements=["member_id"],
    )
    # An UPDATE takes the row lock on PostgreSQL and the write lock on SQLite before we read.
    session.execute(
        update(Wallet).where(Wallet.member_id == member.id).values(withdrawals=Wallet.withdrawals + 0)
    )
    session.execute(select(Wallet.member_id).where(Wallet.member_id == member.id).with_for_update())
