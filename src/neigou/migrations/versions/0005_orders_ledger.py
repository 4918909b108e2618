"""orders and ledger: orders, commissions, refunds, settlements, webhooks, imports; postings, payouts

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 11:28:51.157411
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import neigou.kit.db

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = neigou.kit.db.UTCDateTime(timezone=True)


def enum(name: str, values: str, length: int | None = None) -> sa.Enum:
    """A non-native enum column type (values stored as strings, checked by a constraint)."""
    return sa.Enum(*values.split(), name=name, native_enum=False, length=length)


def fk(table: str, column: str, target: str, ondelete: str | None = None) -> sa.ForeignKeyConstraint:
    """A foreign key named by the metadata's naming convention."""
    name = op.f(f"fk_{table}_{column}_{target.split('.', maxsplit=1)[0]}")
    return sa.ForeignKeyConstraint([column], [target], name=name, ondelete=ondelete)


# In creation order (referenced tables first).
TABLES = (
    "order_import_checkpoints",
    "integrations",
    "ledger_postings",
    "payout_batches",
    "program_payout_settings",
    "settlements",
    "ledger_entries",
    "ledger_wallets",
    "orders",
    "sku_commissions",
    "webhook_deliveries",
    "webhook_receipts",
    "withdrawals",
    "commissions",
    "order_lines",
    "refunds",
    "webhook_attempts",
)


def upgrade() -> None:
    op.create_table(
        "order_import_checkpoints",
        sa.Column("file_digest", sa.String(length=64), nullable=False),
        sa.Column("file_name", sa.String(length=300), nullable=False),
        sa.Column("rows_done", sa.BigInteger(), nullable=False),
        sa.Column("imported", sa.BigInteger(), nullable=False),
        sa.Column("duplicates", sa.BigInteger(), nullable=False),
        sa.Column("errors", sa.BigInteger(), nullable=False),
        sa.Column("finished", sa.Boolean(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("file_digest", name=op.f("pk_order_import_checkpoints")),
    )
    op.create_table(
        "integrations",
        sa.Column("id", ID, nullable=False),
        sa.Column("program_id", ID, nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("inbound_secret", sa.String(length=100), nullable=False),
        sa.Column("outbound_url", sa.String(length=500), nullable=True),
        sa.Column("outbound_secret", sa.String(length=100), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        fk("integrations", "program_id", "programs.id", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_integrations")),
    )
    op.create_index(op.f("ix_integrations_program_id"), "integrations", ["program_id"], unique=False)

    op.create_table(
        "ledger_postings",
        sa.Column("id", ID, nullable=False),
        sa.Column("program_id", ID, nullable=False),
        sa.Column(
            "kind",
            enum(
                "postingkind",
                "commission_earned commission_frozen commission_released commission_reversed withdrawal_requested withdrawal_rejected withdrawal_paid",
            ),
            nullable=False,
        ),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("source_id", sa.BigInteger(), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("memo", sa.String(length=200), nullable=False),
        fk("ledger_postings", "program_id", "programs.id", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_postings")),
        sa.UniqueConstraint("key", name=op.f("uq_ledger_postings_key")),
    )
    op.create_index(op.f("ix_ledger_postings_program_id"), "ledger_postings", ["program_id"], unique=False)
    op.create_index(
        op.f("ix_ledger_postings_source"), "ledger_postings", ["source", "source_id"], unique=False
    )

    op.create_table(
        "payout_batches",
        sa.Column("id", ID, nullable=False),
        sa.Column("program_id", ID, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("paid_at", TS, nullable=True),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("total_net_fen", sa.BigInteger(), nullable=False),
        fk("payout_batches", "program_id", "programs.id", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payout_batches")),
    )
    op.create_index(op.f("ix_payout_batches_program_id"), "payout_batches", ["program_id"], unique=False)

    op.create_table(
        "program_payout_settings",
        sa.Column("program_id", ID, nullable=False),
        sa.Column("min_withdrawal_fen", sa.BigInteger(), nullable=False),
        sa.Column("fee_fixed_fen", sa.BigInteger(), nullable=False),
        sa.Column("fee_bp", sa.Integer(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.CheckConstraint(
            "fee_bp >= 0 AND fee_bp <= 10000", name=op.f("ck_program_payout_settings_fee_bp_range")
        ),
        sa.CheckConstraint(
            "min_withdrawal_fen >= 0 AND fee_fixed_fen >= 0",
            name=op.f("ck_program_payout_settings_not_negative"),
        ),
        fk("program_payout_settings", "program_id", "programs.id", "CASCADE"),
        sa.PrimaryKeyConstraint("program_id", name=op.f("pk_program_payout_settings")),
    )
    op.create_table(
        "settlements",
        sa.Column("id", ID, nullable=False),
        sa.Column("program_id", ID, nullable=False),
        sa.Column("as_of", TS, nullable=False),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.Column("released_fen", sa.BigInteger(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        fk("settlements", "program_id", "programs.id", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settlements")),
    )
    op.create_index(op.f("ix_settlements_program_id"), "settlements", ["program_id"], unique=False)

    op.create_table(
        "ledger_entries",
        sa.Column("id", ID, nullable=False),
        sa.Column("posting_id", ID, nullable=False),
        sa.Column("program_id", ID, nullable=False),
        sa.Column("member_id", ID, nullable=True),
        sa.Column(
            "account",
            enum(
                "account",
                "pending frozen available withdrawing withdrawn commission_expense payout_fees",
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.CheckConstraint("amount_fen <> 0", name=op.f("ck_ledger_entries_not_zero")),
        fk("ledger_entries", "member_id", "members.id"),
        fk("ledger_entries", "posting_id", "ledger_postings.id", "CASCADE"),
        fk("ledger_entries", "program_id", "programs.id", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entries")),
    )
    op.create_index(
        op.f("ix_ledger_entries_member_account"), "ledger_entries", ["member_id", "account"], unique=False
    )
    op.create_index(op.f("ix_ledger_entries_posting_id"), "ledger_entries", ["posting_id"], unique=False)

    op.create_table(
        "ledger_wallets",
        sa.Column("member_id", ID, nullable=False),
        sa.Column("program_id", ID, nullable=False),
        sa.Column("withdrawals", sa.Integer(), nullable=False),
        fk("ledger_wallets", "member_id", "members.id", "CASCADE"),
        fk("ledger_wallets", "program_id", "programs.id", "CASCADE"),
        sa.PrimaryKeyConstraint("member_id", name=op.f("pk_ledger_wallets")),
    )
    op.create_table(
        "orders",
        sa.Column("id", ID, nullable=False),
        sa.Column("program_id", ID, nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=False),
        sa.Column("customer_ref_hash", sa.String(length=64), nullable=False),
        sa.Column("link_code", sa.String(length=64), nullable=True),
        sa.Column("member_id", ID, nullable=True),
        sa.Column("group_id", sa.BigInteger(), nullable=True),
        sa.Column("attribution_basis", sa.String(length=20), nullable=False),
        sa.Column("self_purchase", sa.Boolean(), nullable=False),
        sa.Column("paid_fen", sa.BigInteger(), nullable=False),
        sa.Column("refunded_fen", sa.BigInteger(), nullable=False),
        sa.Column("commission_fen", sa.BigInteger(), nullable=False),
        sa.Column("paid_at", TS, nullable=False),
        sa.Column("completed_at", TS, nullable=True),
        sa.Column(
            "commission_state", enum("commissionstate", "pending frozen available", length=20), nullable=False
        ),
        sa.Column("settlement_id", ID, nullable=True),
        sa.Column(
            "pricing",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("source", enum("ordersource", "api webhook import", length=20), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.CheckConstraint(
            "paid_fen >= 0 AND refunded_fen >= 0 AND refunded_fen <= paid_fen", name=op.f("ck_orders_amounts")
        ),
        fk("orders", "member_id", "members.id"),
        fk("orders", "program_id", "programs.id", "CASCADE"),
        fk("orders", "settlement_id", "settlements.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
        sa.UniqueConstraint("program_id", "external_id", name=op.f("uq_orders_program_id_external_id")),
    )
    op.create_index(op.f("ix_orders_member_paid"), "orders", ["member_id", "paid_at"], unique=False)
    op.create_index(
        op.f("ix_orders_state_completed"),
        "orders",
        ["commission_state", "completed_at", "program_id"],
        unique=False,
    )

    op.create_table(
        "sku_commissions",
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("fixed_commission_fen", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.CheckConstraint("fixed_commission_fen >= 0", name=op.f("ck_sku_commissions_not_negative")),
        fk("sku_commissions", "sku", "products.sku", "CASCADE"),
        sa.PrimaryKeyConstraint("sku", name=op.f("pk_sku_commissions")),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", ID, nullable=False),
        sa.Column("integration_id", ID, nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("event_type", sa.String(length=40), nullable=False),
        sa.Column(
            "payload",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("status", enum("deliverystatus", "pending delivered failed", length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TS, nullable=True),
        sa.Column("last_http_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("delivered_at", TS, nullable=True),
        fk("webhook_deliveries", "integration_id", "integrations.id", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
        sa.UniqueConstraint("event_id", name=op.f("uq_webhook_deliveries_event_id")),
    )
    op.create_index(
        op.f("ix_webhook_deliveries_due"), "webhook_deliveries", ["status", "next_attempt_at"], unique=False
    )
    op.create_index(
        op.f("ix_webhook_deliveries_integration_id"), "webhook_deliveries", ["integration_id"], unique=False
    )

    op.create_table(
        "webhook_receipts",
        sa.Column("id", ID, nullable=False),
        sa.Column("integration_id", ID, nullable=False),
        sa.Column("signature", sa.String(length=64), nullable=False),
        sa.Column("received_at", TS, nullable=False),
        fk("webhook_receipts", "integration_id", "integrations.id", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_receipts")),
        sa.UniqueConstraint(
            "integration_id", "signature", name=op.f("uq_webhook_receipts_integration_id_signature")
        ),
    )
    op.create_index(
        op.f("ix_webhook_receipts_received_at"), "webhook_receipts", ["received_at"], unique=False
    )

    op.create_table(
        "withdrawals",
        sa.Column("id", ID, nullable=False),
        sa.Column("program_id", ID, nullable=False),
        sa.Column("member_id", ID, nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("fee_fen", sa.BigInteger(), nullable=False),
        sa.Column("net_fen", sa.BigInteger(), nullable=False),
        sa.Column(
            "status", enum("withdrawalstatus", "requested approved paid rejected", length=20), nullable=False
        ),
        sa.Column("requested_at", TS, nullable=False),
        sa.Column("decided_at", TS, nullable=True),
        sa.Column("paid_at", TS, nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("batch_id", ID, nullable=True),
        sa.CheckConstraint(
            "amount_fen > 0 AND fee_fen >= 0 AND net_fen > 0", name=op.f("ck_withdrawals_amounts")
        ),
        fk("withdrawals", "batch_id", "payout_batches.id"),
        fk("withdrawals", "member_id", "members.id", "CASCADE"),
        fk("withdrawals", "program_id", "programs.id", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_withdrawals")),
        sa.UniqueConstraint("member_id", "request_id", name=op.f("uq_withdrawals_member_id_request_id")),
    )
    op.create_index(op.f("ix_withdrawals_batch_id"), "withdrawals", ["batch_id"], unique=False)
    op.create_index(
        op.f("ix_withdrawals_program_status"), "withdrawals", ["program_id", "status"], unique=False
    )

    op.create_table(
        "commissions",
        sa.Column("id", ID, nullable=False),
        sa.Column("order_id", ID, nullable=False),
        sa.Column("program_id", ID, nullable=False),
        sa.Column("member_id", ID, nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("tier_code", sa.String(length=40), nullable=True),
        sa.Column("bp", sa.Integer(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("reversed_fen", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "reversed_fen >= 0 AND reversed_fen <= amount_fen", name=op.f("ck_commissions_reversed_range")
        ),
        fk("commissions", "member_id", "members.id"),
        fk("commissions", "order_id", "orders.id", "CASCADE"),
        fk("commissions", "program_id", "programs.id", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commissions")),
        sa.UniqueConstraint(
            "order_id", "member_id", "level", name=op.f("uq_commissions_order_id_member_id_level")
        ),
    )
    op.create_index(op.f("ix_commissions_member_id"), "commissions", ["member_id"], unique=False)

    op.create_table(
        "order_lines",
        sa.Column("id", ID, nullable=False),
        sa.Column("order_id", ID, nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("list_fen", sa.BigInteger(), nullable=False),
        sa.Column("paid_fen", sa.BigInteger(), nullable=False),
        sa.Column("commission_rate_bp", sa.Integer(), nullable=False),
        sa.Column("fixed_commission_fen", sa.BigInteger(), nullable=True),
        sa.Column("pool_fen", sa.BigInteger(), nullable=False),
        fk("order_lines", "order_id", "orders.id", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_lines")),
        sa.UniqueConstraint("order_id", "line_no", name=op.f("uq_order_lines_order_id_line_no")),
    )
    op.create_table(
        "refunds",
        sa.Column("id", ID, nullable=False),
        sa.Column("program_id", ID, nullable=False),
        sa.Column("order_id", ID, nullable=False),
        sa.Column("refund_id", sa.String(length=64), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("reversed_fen", sa.BigInteger(), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.CheckConstraint("amount_fen > 0", name=op.f("ck_refunds_positive")),
        fk("refunds", "order_id", "orders.id", "CASCADE"),
        fk("refunds", "program_id", "programs.id", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refunds")),
        sa.UniqueConstraint("program_id", "refund_id", name=op.f("uq_refunds_program_id_refund_id")),
    )
    op.create_index(op.f("ix_refunds_order_id"), "refunds", ["order_id"], unique=False)

    op.create_table(
        "webhook_attempts",
        sa.Column("id", ID, nullable=False),
        sa.Column("delivery_id", ID, nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("detail", sa.String(length=500), nullable=False),
        fk("webhook_attempts", "delivery_id", "webhook_deliveries.id", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_attempts")),
    )
    op.create_index(
        op.f("ix_webhook_attempts_delivery_id"), "webhook_attempts", ["delivery_id"], unique=False
    )


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)  # its indexes go with it
