"""privacy: a platform administrator's opt-out of one program belongs to that program's organization

Opt-outs recorded by a platform administrator had no organization, so an organization's operators
did not find those naming one of their programs. Each such row now takes its program's organization;
an opt-out of every program keeps none (it applies to every organization). Downgrading leaves the
rows as they are: the organization was right for them before too.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-04 22:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    opt_outs = sa.table(
        "opt_outs", sa.column("organization_id", sa.BigInteger()), sa.column("program_id", sa.BigInteger())
    )
    programs = sa.table(
        "programs", sa.column("id", sa.BigInteger()), sa.column("organization_id", sa.BigInteger())
    )
    owner = (
        sa.select(programs.c.organization_id).where(programs.c.id == opt_outs.c.program_id).scalar_subquery()
    )
    op.execute(
        opt_outs.update()
        .where(opt_outs.c.organization_id.is_(None), opt_outs.c.program_id.is_not(None))
        .values(organization_id=owner)
    )


def downgrade() -> None:
    return None
