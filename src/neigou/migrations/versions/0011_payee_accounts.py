"""payee accounts: where each member is paid (WeChat, Alipay or bank card), sealed at rest

The payout file had no account to pay to. A member's account and the holder's name are stored
encrypted (Fernet, keys from NEIGOU_PAYEE_KEYS) beside their masked forms, which screens show.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 06:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "payee_accounts",
        sa.Column("member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("program_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("wechat", "alipay", "bank_card", name="payeekind", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("account_sealed", sa.Text(), nullable=False),
        sa.Column("account_masked", sa.String(length=40), nullable=False),
        sa.Column("holder_sealed", sa.Text(), nullable=False),
        sa.Column("holder_masked", sa.String(length=40), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_payee_accounts_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["program_id"],
            ["programs.id"],
            name=op.f("fk_payee_accounts_program_id_programs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("member_id", name=op.f("pk_payee_accounts")),
    )
    op.create_index(op.f("ix_payee_accounts_program_id"), "payee_accounts", ["program_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_payee_accounts_program_id"), table_name="payee_accounts")
    op.drop_table("payee_accounts")
