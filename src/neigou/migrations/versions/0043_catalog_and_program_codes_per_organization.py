"""programs, brands, categories: a code is unique within its organization, no longer across all of them

A program's, a brand's and a category's code were unique across every organization (``uq_programs_code``,
``uq_brands_code``, ``uq_categories_code``): an organization could not use a code another one had, and
its operator's 409 ``…_code_taken`` told it that the other organization has it. Each key becomes
``organization_id, code`` (``uq_<table>_organization_id_code``); every look-up by code names the
organization.

Downgrading restores the global keys when no code is used twice in a table; when one is, the downgrade
stops before changing anything (a global key cannot hold those rows) and says how many codes are shared
in which table: an operator renames one of each pair first.

Revision ID: 0043
Revises: 0041
Create Date: 2026-12-06 21:20:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0043"
down_revision: str | None = "0041"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Each table and the column that was unique across organizations.
KEYS = (("programs", "code"), ("brands", "code"), ("categories", "code"))


def upgrade() -> None:
    for name, column in KEYS:
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.drop_constraint(f"uq_{name}_{column}", type_="unique")
            batch_op.create_unique_constraint(f"uq_{name}_organization_id_{column}", ["organization_id", column])


def _shared(name: str, column: str) -> int:
    """How many values of ``column`` more than one row of ``name`` has (then in several organizations)."""
    rows = sa.table(name, sa.column(column))
    shared = sa.select(rows.c[column]).group_by(rows.c[column]).having(sa.func.count() > 1).subquery()
    return int(op.get_bind().execute(sa.select(sa.func.count()).select_from(shared)).scalar_one())


def downgrade() -> None:
    shared = {f"{name}.{column}": n for name, column in KEYS if (n := _shared(name, column))}
    if shared:
        listed = ", ".join(f"{n} in {where}" for where, n in shared.items())
        raise RuntimeError(
            f"codes used by more than one organization ({listed}); rename them before downgrading"
        )
    for name, column in reversed(KEYS):
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.drop_constraint(f"uq_{name}_organization_id_{column}", type_="unique")
            batch_op.create_unique_constraint(f"uq_{name}_{column}", [column])
