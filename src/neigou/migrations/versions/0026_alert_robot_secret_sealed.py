"""groups: the signing secret of the program's alert robot is kept sealed at rest

``group_settings.webhook_secret`` becomes ``webhook_secret_sealed``: each existing secret is sealed with
the payee keys of the process that migrates (``NEIGOU_PAYEE_KEYS``, the first one seals; unset, the key
derived from ``NEIGOU_SECRET_KEY``), as the alert robot's URL beside it is (0025), so run it with the
deployment's keys. Pages and the API only say whether a secret is set. Downgrading opens each secret
again; a secret none of the keys opens stops the downgrade.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-05 02:30:00.000000
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op

from neigou.kit.sealed import Sealer
from neigou.kit.settings import get_settings

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _move(old: sa.ColumnClause[str], new: sa.ColumnClause[str], change: Callable[[str], str]) -> None:
    """Add ``new``, fill it with ``change`` of each row's ``old`` value where there is one, drop ``old``."""
    with op.batch_alter_table("group_settings") as batch:
        batch.add_column(sa.Column(new.name, new.type, nullable=True))
    rows = sa.table("group_settings", sa.column("program_id", sa.BigInteger()), old, new)
    conn = op.get_bind()
    stored = conn.execute(sa.select(rows.c.program_id, rows.c[old.name]).where(rows.c[old.name].is_not(None)))
    for program_id, value in stored.all():
        conn.execute(rows.update().where(rows.c.program_id == program_id).values({new.name: change(value)}))
    with op.batch_alter_table("group_settings") as batch:
        batch.drop_column(old.name)


def upgrade() -> None:
    sealer = Sealer.from_settings(get_settings())
    _move(
        sa.column("webhook_secret", sa.String(200)),
        sa.column("webhook_secret_sealed", sa.Text()),
        sealer.seal,
    )


def downgrade() -> None:
    sealer = Sealer.from_settings(get_settings())

    def unseal(token: str) -> str:
        secret = sealer.unseal(token)
        if secret is None:
            raise RuntimeError(
                "a program's alert robot signing secret does not open with the configured keys"
            )
        return secret

    _move(sa.column("webhook_secret_sealed", sa.Text()), sa.column("webhook_secret", sa.String(200)), unseal)
