"""withdrawals: the payee account each withdrawal is paid to, copied when it is requested

The payout file read the member's payee account at download time, not the one in force (and shown to
the operator) when the withdrawal was requested and approved: a member who changed it between the
approval and the download sent money already approved to an account nobody reviewed. Each withdrawal
now keeps its own copy (``payee_kind``, ``payee_account_sealed``, ``payee_account_masked``,
``payee_holder_sealed``, ``payee_holder_masked``, all nullable), taken when it is requested
(``ledger.withdrawals.request``; ``ledger.payees.put_payee`` fills a request still waiting for review that
had none), and the file and the console read that copy.

Withdrawals stored before: those still to be paid (``requested`` and ``approved``, batched or not) get
their member's account as it is now, the sealed tokens copied as they are (no key is needed here, and
they stay encrypted under the key that sealed them): the account the old code would have paid at this
moment, and none a later change can redirect. ``paid`` and ``rejected`` ones stay without a copy (the
account they were paid to was never kept; guessing it from today's would put a wrong one in the
record), so a payout file of a batch paid before this revision has empty payee cells. There is no
fall-back at read time to the member's current account: that would keep the hole open for every row
without a copy. One set-based ``UPDATE`` on both databases.

Downgrading drops the columns: the payout file reads the member's current account again.

Revision ID: 0061
Revises: 0060
Create Date: 2026-12-07 12:10:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0061"
down_revision: str | None = "0060"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (the withdrawal's column, the payee account's column it is copied from)
COPIED = (
    ("payee_kind", "kind"),
    ("payee_account_sealed", "account_sealed"),
    ("payee_account_masked", "account_masked"),
    ("payee_holder_sealed", "holder_sealed"),
    ("payee_holder_masked", "holder_masked"),
)
UNPAID = ("requested", "approved")

_WITHDRAWALS = sa.table(
    "withdrawals",
    sa.column("member_id", sa.BigInteger),
    sa.column("status", sa.String),
    *(sa.column(column, sa.Text) for column, _ in COPIED),
)
_PAYEES = sa.table(
    "payee_accounts",
    sa.column("member_id", sa.BigInteger),
    *(sa.column(source, sa.Text) for _, source in COPIED),
)


def upgrade() -> None:
    with op.batch_alter_table("withdrawals") as batch:
        batch.add_column(
            sa.Column(
                "payee_kind",
                sa.Enum("wechat", "alipay", "bank_card", name="payeekind", native_enum=False, length=20),
                nullable=True,
            )
        )
        batch.add_column(sa.Column("payee_account_sealed", sa.Text(), nullable=True))
        batch.add_column(sa.Column("payee_account_masked", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("payee_holder_sealed", sa.Text(), nullable=True))
        batch.add_column(sa.Column("payee_holder_masked", sa.String(length=40), nullable=True))
    backfill(op.get_bind())


def backfill(conn: sa.Connection) -> int:
    """Each withdrawal still to be paid gets its member's payee account as it is now (the sealed tokens
    as they are); how many."""
    w, p = _WITHDRAWALS, _PAYEES
    of_member = p.c.member_id == w.c.member_id
    done = conn.execute(
        w.update()
        .where(w.c.status.in_(UNPAID), sa.exists().where(of_member))
        .values(
            {
                w.c[column]: sa.select(p.c[source]).where(of_member).scalar_subquery()
                for column, source in COPIED
            }
        )
    )
    return int(done.rowcount or 0)


def downgrade() -> None:
    with op.batch_alter_table("withdrawals") as batch:
        for column, _ in reversed(COPIED):
            batch.drop_column(column)
