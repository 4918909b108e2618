"""A share link is priced in its program's organization's catalog: the anonymous landing page (which
has no tenant scope) and a platform-wide caller's quote apply that organization's promotions and
coupons only, never another organization's."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.links.models import ShareLink
from neigou.links.offer_view import link_offer
from tests.conftest import TokenMaker
from tests.offers import factories as offers
from tests.organizations.builders import PRICE_FEN, all_sku_promotion, open_window, tenant


def _app_price(client: TestClient, code: str) -> str:
    page = client.get(f"/p/{code}")
    assert page.status_code == 200, page.text
    return page.text.split('data-testid="app-price">', 1)[1].split("<", 1)[0]


def test_the_landing_page_applies_only_its_programs_organizations_promotions(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, factory: sessionmaker[Session]
) -> None:
    a = tenant(client, operator, make_token, "brand-a")
    b = tenant(client, operator, make_token, "brand-b")
    assert _app_price(client, a.link) == "¥100.00"
    all_sku_promotion(client, b, off_fen=3000)
    assert _app_price(client, a.link) == "¥100.00"  # the other organization's promotion is not news here
    assert _app_price(client, b.link) == "¥70.00"  # but it prices its own organization's links
    all_sku_promotion(client, a, off_fen=1000)
    assert _app_price(client, a.link) == "¥90.00"
    with factory() as session:  # no scope, as on the landing page, the poster and a job
        link = session.scalars(select(ShareLink).where(ShareLink.code == a.link)).one()
        assert link_offer(session, link).app_price_fen == PRICE_FEN - 1000


def _quote(client: TestClient, headers: dict[str, str], body: dict[str, Any]) -> Any:
    return client.post("/api/v1/quotes", json=body, headers=headers)


def test_a_platform_wide_quote_is_priced_in_one_organizations_catalog(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker
) -> None:
    a = tenant(client, operator, make_token, "brand-a")
    b = tenant(client, operator, make_token, "brand-b")
    all_sku_promotion(client, b, off_fen=3000)
    foreign = offers.coupon(client, b.headers, 500, **open_window())
    admin = operator  # a platform administrator: no scope
    through_link = _quote(client, admin, {"link_code": a.link, "items": [{"sku": a.sku, "quantity": 1}]})
    assert through_link.status_code == 200, through_link.text
    assert (through_link.json()["payable_fen"], through_link.json()["applied"]) == (PRICE_FEN, [])
    # A link prices its own organization's skus only.
    other_sku = _quote(client, admin, {"link_code": a.link, "items": [{"sku": b.sku, "quantity": 1}]})
    assert (other_sku.status_code, other_sku.json()["code"]) == (422, "unknown_sku")
    # Without a link the basket's first sku names the catalog: another organization's sku or coupon
    # is unknown in it.
    mixed = _quote(client, admin, {"items": [{"sku": a.sku, "quantity": 1}, {"sku": b.sku, "quantity": 1}]})
    assert (mixed.status_code, mixed.json()["code"], mixed.json()["indexes"]) == (422, "unknown_sku", [1])
    assert b.sku not in mixed.text
    coupon = _quote(client, admin, {"items": [{"sku": a.sku, "quantity": 1}], "coupon_ids": [foreign["id"]]})
    assert (coupon.status_code, coupon.json()["code"]) == (422, "unknown_coupon")
    own = _quote(client, admin, {"items": [{"sku": b.sku, "quantity": 1}], "coupon_ids": [foreign["id"]]})
    assert own.status_code == 200, own.text
    assert own.json()["payable_fen"] == PRICE_FEN - 3000 - 500


def test_a_platform_administrators_link_takes_only_its_members_organizations_sku_and_coupon(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker
) -> None:
    a = tenant(client, operator, make_token, "brand-a")
    b = tenant(client, operator, make_token, "brand-b")
    foreign = offers.coupon(client, b.headers, 500, **open_window())
    admin = operator  # no scope: the sku alone would find the other organization's product
    sku = client.post("/api/v1/links", json={"member_id": a.member_id, "sku": b.sku}, headers=admin)
    assert (sku.status_code, sku.json()["code"]) == (422, "unknown_sku")
    coupon = client.post(
        "/api/v1/links",
        json={"member_id": a.member_id, "sku": a.sku, "coupon_id": foreign["id"]},
        headers=admin,
    )
    assert (coupon.status_code, coupon.json()["code"]) == (422, "unknown_coupon")
    own = client.post("/api/v1/links", json={"member_id": b.member_id, "sku": b.sku}, headers=admin)
    assert own.status_code == 201, own.text
