"""platform feeds, and bulk order tables without per-row foreign keys

Platform feeds: JD 联盟, 多多进宝 and 淘宝联盟 orders as the platforms report them, line by line, and the
pollers' watermarks.

The order import writes orders, order lines, commissions, ledger postings and ledger entries in bulk;
their per-row foreign-key checks cost the server more than the writes. The batch validates every
reference before it writes (programs, members and links are looked up once per batch; lines,
commissions and entries point at rows inserted in the same transaction) and those rows are never
deleted, so the keys go. What stays: primary keys, the unique keys that make writes idempotent
(orders per program and external id, commissions per order, member and level, posting keys), the
CHECK constraints on amounts, and ``orders.settlement_id`` (NULL when an order is written, set by a
settlement run).

Revision ID: 0016
Revises: 0010
Create Date: 2026-12-04 05:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import neigou.kit.db

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = neigou.kit.db.UTCDateTime(timezone=True)
STATUS = sa.Enum(
    "unpaid", "paid", "completed", "settled", "invalid", name="linestatus", native_enum=False, length=20
)


def upgrade() -> None:
    op.create_table(
        "platform_orders",
        sa.Column("id", ID, nullable=False),
        sa.Column("program_id", ID, nullable=False),
        sa.Column("integration_id", ID, nullable=False),
        sa.Column(
            "platform",
            sa.Enum("jd_union", "pdd", "taobao", name="platform", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("external_id", sa.String(length=64), nullable=False),
        sa.Column("order_id", ID, nullable=True),
        sa.Column("link_code", sa.String(length=64), nullable=True),
        sa.Column("status", STATUS, nullable=False),
        sa.Column("paid_at", TS, nullable=False),
        sa.Column("skip_code", sa.String(length=40), nullable=True),
        sa.Column("updated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["integration_id"],
            ["integrations.id"],
            name=op.f("fk_platform_orders_integration_id_integrations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_platform_orders_order_id_orders"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["program_id"],
            ["programs.id"],
            name=op.f("fk_platform_orders_program_id_programs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_platform_orders")),
        sa.UniqueConstraint(
            "program_id",
            "platform",
            "external_id",
            name=op.f("uq_platform_orders_program_id_platform_external_id"),
        ),
    )
    op.create_index(
        op.f("ix_platform_orders_integration_id"), "platform_orders", ["integration_id"], unique=False
    )
    op.create_index("ix_platform_orders_month", "platform_orders", ["program_id", "platform", "paid_at"])
    op.create_table(
        "platform_order_lines",
        sa.Column("id", ID, nullable=False),
        sa.Column("platform_order_id", ID, nullable=False),
        sa.Column("line_key", sa.String(length=64), nullable=False),
        sa.Column("status", STATUS, nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("returned", sa.Integer(), nullable=False),
        sa.Column("paid_fen", sa.BigInteger(), nullable=False),
        sa.Column("estimate_fee_fen", sa.BigInteger(), nullable=False),
        sa.Column("actual_fee_fen", sa.BigInteger(), nullable=True),
        sa.Column("taken_fen", sa.BigInteger(), nullable=True),
        sa.Column("refunded_fen", sa.BigInteger(), nullable=False),
        sa.Column("completed_at", TS, nullable=True),
        sa.Column("settled_at", TS, nullable=True),
        sa.Column("modified_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["platform_order_id"],
            ["platform_orders.id"],
            name=op.f("fk_platform_order_lines_platform_order_id_platform_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_platform_order_lines")),
        sa.UniqueConstraint(
            "platform_order_id", "line_key", name=op.f("uq_platform_order_lines_platform_order_id_line_key")
        ),
    )
    op.create_table(
        "platform_watermarks",
        sa.Column("integration_id", ID, nullable=False),
        sa.Column(
            "platform",
            sa.Enum("jd_union", "pdd", "taobao", name="platform", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("synced_until", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["integration_id"],
            ["integrations.id"],
            name=op.f("fk_platform_watermarks_integration_id_integrations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("integration_id", "platform", name=op.f("pk_platform_watermarks")),
    )
    _drop_bulk_keys()


# (table, column, referenced table.column, on delete) of the keys dropped.
BULK_KEYS = (
    ("orders", "program_id", "programs.id", "CASCADE"),
    ("orders", "member_id", "members.id", None),
    ("order_lines", "order_id", "orders.id", "CASCADE"),
    ("commissions", "order_id", "orders.id", "CASCADE"),
    ("commissions", "program_id", "programs.id", "CASCADE"),
    ("commissions", "member_id", "members.id", None),
    ("ledger_postings", "program_id", "programs.id", "CASCADE"),
    ("ledger_entries", "posting_id", "ledger_postings.id", "CASCADE"),
    ("ledger_entries", "program_id", "programs.id", "CASCADE"),
    ("ledger_entries", "member_id", "members.id", None),
)


def _key_name(table: str, column: str, target: str) -> str:
    return op.f(f"fk_{table}_{column}_{target.split('.', maxsplit=1)[0]}")


def _drop_bulk_keys() -> None:
    for table in dict.fromkeys(t for t, *_ in BULK_KEYS):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name, column, target, _ondelete in BULK_KEYS:
                if name == table:
                    batch_op.drop_constraint(_key_name(table, column, target), type_="foreignkey")


def _restore_bulk_keys() -> None:
    for table in dict.fromkeys(t for t, *_ in BULK_KEYS):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name, column, target, ondelete in BULK_KEYS:
                if name == table:
                    referent, remote = target.split(".")
                    batch_op.create_foreign_key(
                        _key_name(table, column, target), referent, [column], [remote], ondelete=ondelete
                    )


def downgrade() -> None:
    _restore_bulk_keys()
    op.drop_table("platform_watermarks")
    op.drop_table("platform_order_lines")
    op.drop_index("ix_platform_orders_month", table_name="platform_orders")
    op.drop_index(op.f("ix_platform_orders_integration_id"), table_name="platform_orders")
    op.drop_table("platform_orders")
