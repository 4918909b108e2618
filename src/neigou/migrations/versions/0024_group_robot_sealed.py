"""feed: a group robot's URL (it carries the robot's key) is kept sealed at rest

``group_robots.webhook_url`` becomes ``webhook_url_sealed``: each existing URL is sealed with the
payee keys of the process that migrates (``NEIGOU_PAYEE_KEYS``, the first one seals; unset, the key
derived from ``NEIGOU_SECRET_KEY``), as the program's push target is, so run it with the deployment's
keys. Downgrading opens each URL again; a URL none of the keys opens stops the downgrade.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-04 23:40:00.000000
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op

from neigou.kit.sealed import Sealer
from neigou.kit.settings import get_settings

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _move(old: sa.ColumnClause[str], new: sa.ColumnClause[str], change: Callable[[str], str]) -> None:
    """Add ``new``, fill it with ``change`` of each row's ``old`` value, make it required, drop ``old``."""
    with op.batch_alter_table("group_robots") as batch:
        batch.add_column(sa.Column(new.name, new.type, nullable=True))
    robots = sa.table("group_robots", sa.column("group_id", sa.BigInteger()), old, new)
    conn = op.get_bind()
    for group_id, value in conn.execute(sa.select(robots.c.group_id, robots.c[old.name])).all():
        conn.execute(robots.update().where(robots.c.group_id == group_id).values({new.name: change(value)}))
    with op.batch_alter_table("group_robots") as batch:
        batch.alter_column(new.name, existing_type=new.type, nullable=False)
        batch.drop_column(old.name)


def upgrade() -> None:
    sealer = Sealer.from_settings(get_settings())
    _move(sa.column("webhook_url", sa.String(500)), sa.column("webhook_url_sealed", sa.Text()), sealer.seal)


def downgrade() -> None:
    sealer = Sealer.from_settings(get_settings())

    def unseal(token: str) -> str:
        url = sealer.unseal(token)
        if url is None:
            raise RuntimeError("a group robot's URL does not open with the configured keys")
        return url

    _move(sa.column("webhook_url_sealed", sa.Text()), sa.column("webhook_url", sa.String(500)), unseal)
