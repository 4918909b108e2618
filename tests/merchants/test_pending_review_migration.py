"""Migration 0037 adds the partial unique index that keeps one pending rate review per product. A database
that already holds several pending reviews of one product migrates: the newest stays pending, each older
one is rejected by ``migration 0037`` at the newest one's request time with a note naming it (logged by
id); decided reviews, coupon reviews and products with one pending review are left alone; a second
pending review of a product is refused afterwards; on SQLite and PostgreSQL."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from neigou.kit.db import make_engine
from neigou.migrations.runner import upgrade
from tests.migrating import CREATED, insert_id
from tests.migration_templates import ScratchAt

LATER = "2026-01-02 00:00:00"


def test_migration_0037_keeps_the_newest_pending_review_of_a_product(
    scratch_at: ScratchAt, caplog: pytest.LogCaptureFixture
) -> None:
    scratch_url = scratch_at("0036")
    engine = make_engine(scratch_url)
    try:
        with engine.begin() as conn:
            org = insert_id(conn, "organizations", code="org-m", name="品牌", created_at=CREATED)
            merchant = insert_id(
                conn, "merchants", organization_id=org, code="shop", name="店家", created_at=CREATED
            )
            products = [
                insert_id(
                    conn,
                    "products",
                    organization_id=org,
                    merchant_id=merchant,
                    sku=f"S{n}",
                    title=f"S{n}",
                    price_fen=1000,
                    commission_rate_bp=1000,
                    active=True,
                    created_at=CREATED,
                    updated_at=CREATED,
                )
                for n in range(2)
            ]

            def review(
                product: int | None, status: str, at: str = CREATED, kind: str = "commission_rate"
            ) -> int:
                return insert_id(
                    conn,
                    "merchant_reviews",
                    organization_id=org,
                    merchant_id=merchant,
                    kind=kind,
                    product_id=product,
                    rate_before_bp=1000 if product else None,
                    rate_after_bp=1200 if product else None,
                    status=status,
                    requested_by="shop",
                    requested_at=at,
                )

            older = [review(products[0], "pending"), review(products[0], "pending")]
            decided = review(products[0], "approved")
            newest = review(products[0], "pending", at=LATER)
            alone = review(products[1], "pending")
            coupons = [review(None, "pending", kind="coupon"), review(None, "pending", kind="coupon")]
        with caplog.at_level(logging.WARNING, logger="alembic.runtime.migration"):
            upgrade(scratch_url, "0037")
        with engine.connect() as conn:
            rows = {
                int(i): (s, by, note)
                for i, s, by, note in conn.execute(
                    text("SELECT id, status, decided_by, note FROM merchant_reviews")
                )
            }
            decided_at = (
                conn.execute(
                    text(
                        "SELECT DISTINCT decided_at FROM merchant_reviews WHERE decided_by = 'migration 0037'"
                    )
                )
                .scalars()
                .all()
            )
        note = f"被同一商品的申请 {newest} 取代（迁移 0037）/ Superseded by request {newest} of the same product (migration 0037)"
        assert {i: rows[i] for i in older} == dict.fromkeys(older, ("rejected", "migration 0037", note))
        (when,) = decided_at
        assert str(when).startswith("2026-01-02 00:00:00")
        assert rows[decided] == ("approved", None, None)
        assert {i: rows[i][0] for i in (newest, alone, *coupons)} == dict.fromkeys(
            (newest, alone, *coupons), "pending"
        )
        assert (
            f"merchant review {newest} kept pending; older pending reviews {older} marked rejected"
            in caplog.text
        )
        with pytest.raises(IntegrityError), engine.begin() as conn:
            review(products[1], "pending")
    finally:
        engine.dispose()
