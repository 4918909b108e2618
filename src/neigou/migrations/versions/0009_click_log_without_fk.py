"""click log: link_clicks loses its foreign key to share_links

The click writer checks once per batch that the batch's links exist, and links are deactivated,
never deleted. Checked per row, the key cost PostgreSQL a share lock on the link's row for every
stored click, about a quarter of the insert's work on the busiest table we have.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 13:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FK = "fk_link_clicks_link_id_share_links"


def upgrade() -> None:
    with op.batch_alter_table("link_clicks", schema=None) as batch_op:
        batch_op.drop_constraint(FK, type_="foreignkey")


def downgrade() -> None:
    # Clicks of links deleted meanwhile would block the key: they go first.
    op.execute("DELETE FROM link_clicks WHERE link_id NOT IN (SELECT id FROM share_links)")
    with op.batch_alter_table("link_clicks", schema=None) as batch_op:
        batch_op.create_foreign_key(FK, "share_links", ["link_id"], ["id"], ondelete="CASCADE")
