"""Console lists of the catalog, offers, campaigns, events and share links: search, sort, filters,
pages and the total, through web.listing; a share link's own page."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth.models import Role
from neigou.kit.clock import utcnow
from tests.conftest import TokenMaker
from tests.offers import factories as offers
from tests.orders.builders import SKU, build, order_body, post_order
from tests.sign_in import console_sign_in, member_sign_in

pytestmark = pytest.mark.world_per_module


@dataclass(frozen=True)
class Lists:
    program_id: int
    seller_id: int
    link: str


def _rows(page: str, attribute: str) -> list[str]:
    return re.findall(rf'<tr {attribute}="([^"]+)"', page)


def _total(page: str) -> str:
    match = re.search(r'data-testid="list-total">([^<]*)<', page)
    assert match is not None
    return match.group(1).strip()


@pytest.fixture(scope="module")
def world(
    module_client: TestClient, module_operator: dict[str, str], module_factory: sessionmaker[Session]
) -> Lists:
    w = build(module_client, module_operator, module_factory)
    brand = offers.post(module_client, module_operator, "brands", {"code": "luoqi", "name": "洛奇"})
    for n in range(50):
        offers.product(module_client, module_operator, f"PAGE-{n:02d}", 100 + n, brand_code=brand["code"])
    offers.product(module_client, module_operator, "OFF-1", 99_900, title="下架的商品", active=False)
    now = utcnow()
    window = {
        "starts_at": (now - timedelta(days=1)).isoformat(),
        "ends_at": (now + timedelta(days=9)).isoformat(),
    }
    offers.coupon(module_client, module_operator, 500, name="春季满减", **window)
    offers.coupon(module_client, module_operator, 300, name="老券", visibility="hidden")  # ended in March
    post_order(module_client, module_operator, order_body(w, "LINK-1", (SKU, 1, 4990), at=now))
    return Lists(w.program_id, w.seller, w.link)


def test_products_are_searched_sorted_filtered_and_paged(
    client: TestClient, factory: sessionmaker[Session], world: Lists
) -> None:
    console_sign_in(client, factory)
    first = client.get("/console/products?lang=en").text
    assert _total(first) == "53 in all"
    assert len(_rows(first, "data-sku")) == 50
    second = client.get("/console/products?page=2&lang=en").text
    assert _rows(second, "data-sku") == ["PAGE-48", "PAGE-49", "YD-TEE"]
    assert "洛奇" in first  # the brand by its name, not its code
    dearest = client.get("/console/products?sort=-price").text
    assert _rows(dearest, "data-sku")[0] == "OFF-1"
    off = client.get("/console/products?status=off&lang=en").text
    assert (_rows(off, "data-sku"), _total(off)) == (["OFF-1"], "1 in all")
    found = client.get("/console/products?q=page-0&lang=en").text
    assert _total(found) == "Matching “page-0”: 10"
    assert client.get("/console/products?sort=drop;table").status_code == 422


def test_coupons_by_window_and_visibility(
    client: TestClient, factory: sessionmaker[Session], world: Lists
) -> None:
    console_sign_in(client, factory)
    running = client.get("/console/coupons?state=running").text
    assert "春季满减" in running
    assert "老券" not in running
    hidden = client.get("/console/coupons?visibility=hidden&lang=en").text
    assert "老券" in hidden
    assert _total(hidden) == "1 in all"
    assert "春季满减" in client.get("/console/coupons?q=春季").text
    assert "老券" not in client.get("/console/coupons?q=春季").text


def test_links_are_searched_and_a_link_has_its_own_page(
    client: TestClient, factory: sessionmaker[Session], make_token: TokenMaker, world: Lists
) -> None:
    console_sign_in(client, factory)
    listed = client.get(f"/console/links?program={world.program_id}&q=seller&lang=en").text
    assert _rows(listed, "data-code") == [world.link]
    assert _rows(client.get("/console/links?status=off").text, "data-code") == []
    detail = client.get(f"/console/links/{world.link}?lang=en")
    assert detail.status_code == 200
    assert 'data-testid="link-orders-count">1<' in detail.text
    assert 'data-testid="link-gmv">¥49.90<' in detail.text
    assert "LINK-1" in detail.text
    # No refund reads as money, as on the order list, not as a dash.
    assert '<td class="num wide-only">¥0.00</td>' in detail.text
    assert client.get("/console/links/NOSUCH").status_code == 404
    typed = {"member_id": "abc", "sku": SKU, "coupon_id": "", "group_id": "x"}
    malformed = client.post("/console/links", data=typed)
    assert malformed.status_code == 422
    assert 'data-testid="error-member_id" data-code="invalid_integer"' in malformed.text
    assert 'data-testid="error-group_id" data-code="invalid_integer"' in malformed.text
    assert 'value="abc" data-testid="link-member"' in malformed.text  # what was typed stays
    unknown = client.post(
        "/console/links", data=typed | {"member_id": str(world.seller_id), "group_id": "999999"}
    )
    assert unknown.status_code in {404, 409, 422}
    assert 'data-testid="form-errors"' in unknown.text
    assert 'data-testid="error-group_id"' in unknown.text
    anonymous = TestClient(client.app).get(f"/console/links/{world.link}", follow_redirects=False)
    assert anonymous.status_code in {303, 401}
    member_sign_in(client, make_token(Role.MEMBER, world.seller_id))  # a member is not an operator
    assert client.get(f"/console/links/{world.link}").status_code == 403


def test_campaigns_and_events_lists_answer_with_filters(
    client: TestClient, factory: sessionmaker[Session], world: Lists
) -> None:
    console_sign_in(client, factory)
    for path in (
        f"/console/campaigns?program={world.program_id}&state=live&sort=-boost&q=x",
        f"/console/events?program={world.program_id}&state=upcoming&sort=starts_at&q=x",
        "/console/promotions?kind=quantity_discount&state=ended",
    ):
        page = client.get(f"{path}&lang=en")
        assert page.status_code == 200, path
        assert _total(page.text) == ("Matching “x”: 0" if "q=x" in path else "0 in all")
