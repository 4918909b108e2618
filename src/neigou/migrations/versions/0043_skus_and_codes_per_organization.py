"""skus and codes: unique within their organization, no longer across all of them

A product's sku and a program's, a brand's and a category's code were unique across every organization
(``uq_products_sku``, ``uq_programs_code``, ``uq_brands_code``, ``uq_categories_code``): an organization
could not add a sku or code another one had (two platforms distributing the same product both need its
sku), and its operator's 409 ``sku_taken`` / ``…_code_taken`` told it that the other organization has it.
Each key becomes ``organization_id, sku|code`` (``uq_<table>_organization_id_<column>``); every look-up
by sku or code names the organization.

A fixed commission per sku (``sku_commissions``) referred to ``products.sku``, which is no longer a key:
it gets its product's organization (``organization_id``, filled from the product), its key becomes
``organization_id, sku`` and it refers to the organization's product of that sku (``ON DELETE CASCADE``
as before).

Downgrading restores the global keys when no sku or code is used twice in a table; when one is, the
downgrade stops before changing anything (a global key cannot hold those rows) and says how many are
shared in which table: an operator renames one of each pair first.

Revision ID: 0043
Revises: 0042
Create Date: 2026-12-06 21:20:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0043"
down_revision: str | None = "0042"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
# Each table and the column that was unique across organizations.
KEYS = (("programs", "code"), ("brands", "code"), ("categories", "code"), ("products", "sku"))
OLD_FK = "fk_sku_commissions_sku_products"
NEW_FK = "fk_sku_commissions_organization_id_products"
PK = "pk_sku_commissions"


def upgrade() -> None:
    with op.batch_alter_table("sku_commissions", schema=None) as batch_op:
        batch_op.drop_constraint(OLD_FK, type_="foreignkey")  # it needs products.sku to be a key
    for name, column in KEYS:
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.drop_constraint(f"uq_{name}_{column}", type_="unique")
            batch_op.create_unique_constraint(
                f"uq_{name}_organization_id_{column}", ["organization_id", column]
            )
    with op.batch_alter_table("sku_commissions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("organization_id", ID, nullable=True))
    products = sa.table("products", sa.column("organization_id"), sa.column("sku"))
    fixed = sa.table("sku_commissions", sa.column("organization_id"), sa.column("sku"))
    owner = sa.select(products.c.organization_id).where(products.c.sku == fixed.c.sku).scalar_subquery()
    op.execute(fixed.update().values(organization_id=owner))
    with op.batch_alter_table("sku_commissions", schema=None) as batch_op:
        batch_op.alter_column("organization_id", existing_type=ID, nullable=False)
        batch_op.drop_constraint(PK, type_="primary")
        batch_op.create_primary_key(PK, ["organization_id", "sku"])
        batch_op.create_foreign_key(
            NEW_FK, "products", ["organization_id", "sku"], ["organization_id", "sku"], ondelete="CASCADE"
        )


def _shared(name: str, column: str) -> int:
    """How many values of ``column`` more than one row of ``name`` has (so in several organizations)."""
    rows = sa.table(name, sa.column(column))
    shared = sa.select(rows.c[column]).group_by(rows.c[column]).having(sa.func.count() > 1).subquery()
    return int(op.get_bind().execute(sa.select(sa.func.count()).select_from(shared)).scalar_one())


def downgrade() -> None:
    shared = {f"{name}.{column}": n for name, column in KEYS if (n := _shared(name, column))}
    if shared:
        listed = ", ".join(f"{n} in {where}" for where, n in shared.items())
        raise RuntimeError(
            f"skus or codes used by more than one organization ({listed}); rename them before downgrading"
        )
    with op.batch_alter_table("sku_commissions", schema=None) as batch_op:
        batch_op.drop_constraint(NEW_FK, type_="foreignkey")
        batch_op.drop_constraint(PK, type_="primary")
        batch_op.create_primary_key(PK, ["sku"])
        batch_op.drop_column("organization_id")
    for name, column in reversed(KEYS):
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.drop_constraint(f"uq_{name}_organization_id_{column}", type_="unique")
            batch_op.create_unique_constraint(f"uq_{name}_{column}", [column])
    with op.batch_alter_table("sku_commissions", schema=None) as batch_op:
        batch_op.create_foreign_key(OLD_FK, "products", ["sku"], ["sku"], ondelete="CASCADE")
