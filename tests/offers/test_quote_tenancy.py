"""``price_quote`` prices a basket in one organization's catalog, named or the first sku's, in a session
without a scope (the landing page's, a job's): another organization's skus and coupons are unknown to
it and its promotions never apply."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.errors import Invalid
from neigou.offers.quote_schemas import QuoteItem
from neigou.offers.quotes import price_quote
from tests.conftest import TokenMaker
from tests.offers import factories as offers
from tests.organizations.builders import PRICE_FEN, all_sku_promotion, open_window, tenant


def test_a_quote_reads_one_organizations_catalog_and_offers(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, factory: sessionmaker[Session]
) -> None:
    a = tenant(client, operator, make_token, "brand-a")
    b = tenant(client, operator, make_token, "brand-b")
    promoted = all_sku_promotion(client, b, off_fen=3000)
    foreign = offers.coupon(client, b.headers, 500, **open_window())
    with factory() as session:
        for named in (a.organization_id, None):
            own = price_quote(session, organization_id=named, items=[QuoteItem(sku=a.sku, quantity=1)])
            assert (own.response.payable_fen, own.response.applied) == (PRICE_FEN, [])
            with pytest.raises(Invalid) as sku:
                price_quote(
                    session,
                    organization_id=named,
                    items=[QuoteItem(sku=a.sku, quantity=1), QuoteItem(sku=b.sku, quantity=1)],
                )
            assert (sku.value.code, sku.value.extra) == ("unknown_sku", {"field": "items", "indexes": [1]})
            with pytest.raises(Invalid) as coupon:
                price_quote(
                    session,
                    organization_id=named,
                    items=[QuoteItem(sku=a.sku, quantity=1)],
                    coupon_ids=[foreign["id"]],
                )
            assert coupon.value.code == "unknown_coupon"
        with pytest.raises(Invalid) as named_elsewhere:
            price_quote(session, organization_id=a.organization_id, items=[QuoteItem(sku=b.sku, quantity=1)])
        assert named_elsewhere.value.code == "unknown_sku"
        theirs = price_quote(session, organization_id=None, items=[QuoteItem(sku=b.sku, quantity=1)])
    assert [offer.id for offer in theirs.response.applied] == [promoted["id"]]
