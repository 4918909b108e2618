"""groups: the program's alert robot URL (it carries the robot's key) is kept sealed at rest

``group_settings.webhook_url`` becomes ``webhook_url_sealed``, with ``webhook_url_masked`` (its host
and path, what pages and the API show) beside it: each existing URL is sealed with the payee keys of
the process that migrates (``NEIGOU_PAYEE_KEYS``, the first one seals; unset, the key derived from
``NEIGOU_SECRET_KEY``), as the group robots' URLs are (0024), so run it with the deployment's keys.
Downgrading opens each URL again; a URL none of the keys opens stops the downgrade.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-04 23:55:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

import sqlalchemy as sa
from alembic import op

from neigou.kit.sealed import Sealer
from neigou.kit.settings import get_settings

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _masked(url: str) -> str:
    # The rule pages and the API showed when this revision was written (``groups.service.masked_url``
    # then), frozen here: the URL's host and path, never its query. ``kit.urls.masked_url`` has replaced
    # it since, and 0029 masks these rows again by that rule.
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}" + ("?…" if parts.query else "")


def _table(*columns: sa.ColumnClause[str]) -> sa.TableClause:
    return sa.table("group_settings", sa.column("program_id", sa.BigInteger()), *columns)


def upgrade() -> None:
    sealer = Sealer.from_settings(get_settings())
    with op.batch_alter_table("group_settings") as batch:
        batch.add_column(sa.Column("webhook_url_sealed", sa.Text(), nullable=True))
        batch.add_column(sa.Column("webhook_url_masked", sa.String(500), nullable=True))
    rows = _table(
        sa.column("webhook_url", sa.String(500)),
        sa.column("webhook_url_sealed", sa.Text()),
        sa.column("webhook_url_masked", sa.String(500)),
    )
    conn = op.get_bind()
    stored = conn.execute(
        sa.select(rows.c.program_id, rows.c.webhook_url).where(rows.c.webhook_url.is_not(None))
    )
    for program_id, url in stored.all():
        conn.execute(
            rows.update()
            .where(rows.c.program_id == program_id)
            .values(webhook_url_sealed=sealer.seal(url), webhook_url_masked=_masked(url))
        )
    with op.batch_alter_table("group_settings") as batch:
        batch.drop_column("webhook_url")


def downgrade() -> None:
    sealer = Sealer.from_settings(get_settings())
    with op.batch_alter_table("group_settings") as batch:
        batch.add_column(sa.Column("webhook_url", sa.String(500), nullable=True))
    rows = _table(sa.column("webhook_url", sa.String(500)), sa.column("webhook_url_sealed", sa.Text()))
    conn = op.get_bind()
    stored = conn.execute(
        sa.select(rows.c.program_id, rows.c.webhook_url_sealed).where(rows.c.webhook_url_sealed.is_not(None))
    )
    for program_id, token in stored.all():
        url = sealer.unseal(token)
        if url is None:
            raise RuntimeError("a program's alert robot URL does not open with the configured keys")
        conn.execute(rows.update().where(rows.c.program_id == program_id).values(webhook_url=url))
    with op.batch_alter_table("group_settings") as batch:
        batch.drop_column("webhook_url_masked")
        batch.drop_column("webhook_url_sealed")
