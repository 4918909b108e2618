"""merchants: a code is unique within its organization, no longer across all of them

A merchant's code was unique across every organization (``uq_merchants_code``, 0017): an operator who
created a merchant with a code another organization uses got 409 ``merchant_code_taken`` and so learned
that the other organization has it. Nothing looks a merchant up by its code (the portal signs in by
username, URLs and the CLI name merchants by id), so the key becomes ``organization_id, code``
(``uq_merchants_organization_id_code``).

Downgrading restores the global key when no code is used by two organizations; when one is, the
downgrade stops before changing anything (the global key cannot hold those rows) and says how many codes
are shared: an operator renames one of each pair first.

Revision ID: 0041
Revises: 0040
Create Date: 2026-12-06 19:45:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0041"
down_revision: str | None = "0040"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GLOBAL = "uq_merchants_code"
PER_ORGANIZATION = "uq_merchants_organization_id_code"


def upgrade() -> None:
    with op.batch_alter_table("merchants", schema=None) as batch_op:
        batch_op.drop_constraint(GLOBAL, type_="unique")
        batch_op.create_unique_constraint(PER_ORGANIZATION, ["organization_id", "code"])


def downgrade() -> None:
    merchants = sa.table("merchants", sa.column("code"))
    shared = sa.select(merchants.c.code).group_by(merchants.c.code).having(sa.func.count() > 1).subquery()
    count = op.get_bind().execute(sa.select(sa.func.count()).select_from(shared)).scalar_one()
    if count:
        raise RuntimeError(
            f"{count} merchant codes are used by more than one organization; rename them before downgrading"
        )
    with op.batch_alter_table("merchants", schema=None) as batch_op:
        batch_op.drop_constraint(PER_ORGANIZATION, type_="unique")
        batch_op.create_unique_constraint(GLOBAL, ["code"])
