"""organizations and merchants: every program, catalog row, account and token belongs to a tenant

A deployment hosts several organizations (a platform, a brand) that never see each other's
programs, members, orders or money. Programs and the catalog (brands, categories, products,
coupons, promotions) carry their organization; everything else belongs through its program.
Console accounts, tokens, audit entries and opt-outs carry an optional organization: none means a
platform administrator (every organization), as every existing account and token stays.
Existing rows move into the organization ``default``; downgrading drops the columns again.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04 06:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
OWNED = ("programs", "brands", "categories", "products", "coupon_templates", "promotions")
OPTIONAL = ("users", "api_tokens", "audit_entries", "opt_outs")
MERCHANT_OWNED = ("products", "coupon_templates", "promotions", "users", "api_tokens")


def _organization_column(batch_op: Any, table: str, *, nullable: bool) -> None:
    batch_op.add_column(sa.Column("organization_id", ID, nullable=nullable))
    batch_op.create_foreign_key(
        f"fk_{table}_organization_id_organizations", "organizations", ["organization_id"], ["id"]
    )
    batch_op.create_index(f"ix_{table}_organization_id", ["organization_id"], unique=False)


def upgrade() -> None:
    organizations = op.create_table(
        "organizations",
        sa.Column("id", ID, nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organizations")),
        sa.UniqueConstraint("code", name=op.f("uq_organizations_code")),
    )
    now = datetime.now(UTC)
    if op.get_bind().dialect.name == "sqlite":
        now = now.replace(tzinfo=None)  # stored naive UTC, as UTCDateTime writes it
    op.bulk_insert(organizations, [{"code": "default", "name": "Default", "created_at": now}])
    default = sa.select(organizations.c.id).where(organizations.c.code == "default").scalar_subquery()
    for table in OWNED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            _organization_column(batch_op, table, nullable=True)
        op.execute(sa.table(table, sa.column("organization_id")).update().values(organization_id=default))
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column("organization_id", existing_type=ID, nullable=False)
    for table in OPTIONAL:
        with op.batch_alter_table(table, schema=None) as batch_op:
            _organization_column(batch_op, table, nullable=True)
    op.create_table(
        "merchants",
        sa.Column("id", ID, nullable=False),
        sa.Column("organization_id", ID, nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["organization_id"], ["organizations.id"], name=op.f("fk_merchants_organization_id_organizations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_merchants")),
        sa.UniqueConstraint("code", name=op.f("uq_merchants_code")),
    )
    op.create_index("ix_merchants_organization_id", "merchants", ["organization_id"], unique=False)
    for table in MERCHANT_OWNED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("merchant_id", ID, nullable=True))
            batch_op.create_foreign_key(
                f"fk_{table}_merchant_id_merchants", "merchants", ["merchant_id"], ["id"]
            )
            batch_op.create_index(f"ix_{table}_merchant_id", ["merchant_id"], unique=False)


def downgrade() -> None:
    for table in MERCHANT_OWNED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(f"ix_{table}_merchant_id")
            batch_op.drop_constraint(f"fk_{table}_merchant_id_merchants", type_="foreignkey")
            batch_op.drop_column("merchant_id")
    op.drop_index("ix_merchants_organization_id", table_name="merchants")
    op.drop_table("merchants")
    for table in (*OPTIONAL, *OWNED):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(f"ix_{table}_organization_id")
            batch_op.drop_constraint(f"fk_{table}_organization_id_organizations", type_="foreignkey")
            batch_op.drop_column("organization_id")
    op.drop_table("organizations")
