"""merchant_reviews: at most one pending review per product

A merchant's commission-rate request waits as a pending review of its product, one at a time
(``offers.review.hold_rate``, 409 ``review_pending``). The check read the pending reviews without a lock,
so a burst of requests could each find none and each insert one. The new partial unique index
``uq_merchant_reviews_pending_product`` (``product_id`` ``WHERE status = 'pending'``) keeps a second pending
review of a product out whatever the interleaving; coupon reviews name no product and are not affected.

A database that already holds several pending reviews of one product keeps the newest (highest id) of
them pending, the merchant's latest request; each older one is marked ``rejected``, decided by
``migration 0037`` at the time the newest was requested, with a note naming the review that superseded
it, and is logged by id. No product's rate changes (a pending review never changed it). Downgrading drops
the index; the reviews marked rejected stay so.

Revision ID: 0037
Revises: 0036
Create Date: 2026-12-06 12:00:00.000000
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0037"
down_revision: str | None = "0036"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")

INDEX = "uq_merchant_reviews_pending_product"
PENDING = "status = 'pending'"
NOTE = "被同一商品的申请 {kept} 取代（迁移 0037）/ Superseded by request {kept} of the same product (migration 0037)"


def superseded(rows: Sequence[tuple[int, int]]) -> dict[int, list[int]]:
    """For pending ``(product_id, review_id)`` rows: each kept review's id (the newest of its product's)
    with the ids of the older pending reviews of its product it supersedes, for products with several."""
    by_product: dict[int, list[int]] = {}
    for product_id, review_id in rows:
        by_product.setdefault(product_id, []).append(review_id)
    return {max(ids): sorted(set(ids) - {max(ids)}) for ids in by_product.values() if len(ids) > 1}


def upgrade() -> None:
    conn = op.get_bind()
    rows = conn.execute(
        sa.text(
            "SELECT product_id, id FROM merchant_reviews WHERE status = 'pending' AND product_id IS NOT NULL"
        )
    ).all()
    for kept, older in sorted(superseded([(int(p), int(i)) for p, i in rows]).items()):
        conn.execute(
            sa.text(
                "UPDATE merchant_reviews SET status = 'rejected', decided_by = 'migration 0037',"
                " decided_at = (SELECT k.requested_at FROM merchant_reviews k WHERE k.id = :kept),"
                " note = :note WHERE id IN :older"
            ).bindparams(sa.bindparam("older", expanding=True)),
            {"kept": kept, "note": NOTE.format(kept=kept), "older": older},
        )
        log.warning("merchant review %s kept pending; older pending reviews %s marked rejected", kept, older)
    op.create_index(
        INDEX,
        "merchant_reviews",
        ["product_id"],
        unique=True,
        postgresql_where=sa.text(PENDING),
        sqlite_where=sa.text(PENDING),
    )


def downgrade() -> None:
    op.drop_index(INDEX, table_name="merchant_reviews")
