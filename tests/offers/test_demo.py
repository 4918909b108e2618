"""The demo offers tell the field's story in exact fen."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from neigou.demo.offers import GARMENTS, SHAMPOO_SKU, seed_offers
from neigou.kit.db import transaction
from neigou.offers.quote_schemas import QuoteItem
from neigou.offers.quotes import price_quote
from tests.conftest import TEST_ACTOR

NOW = datetime(2026, 3, 24, 12, 0, tzinfo=UTC)


def test_demo_shampoo_and_ten_garments(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as session:
        demo = seed_offers(session, now=NOW, actor=TEST_ACTOR)
    shampoo = [QuoteItem(sku=SHAMPOO_SKU, quantity=1)]
    with factory() as session:
        app_price = price_quote(
            session, organization_id=None, items=shampoo, coupon_ids=[demo.hidden_coupon_id], at=NOW
        )
        group_price = price_quote(
            session, organization_id=None, items=shampoo, at=NOW, link_coupon_ids=[demo.hidden_coupon_id]
        )
        ten = price_quote(
            session, organization_id=None, items=[QuoteItem(sku=GARMENTS[0], quantity=10)], at=NOW
        )
    assert app_price.response.payable_fen == 4990
    assert [r.reason for r in app_price.response.refused] == ["link_required"]
    assert group_price.response.payable_fen == 2490
    assert (ten.response.list_total_fen, ten.response.payable_fen) == (59000, 6490)
    assert ten.response.applied[0].id == demo.quantity_promotion_id
