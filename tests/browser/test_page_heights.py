"""No page of the demo world is taller than three screens: long lists are paged, not cut or piled up."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page

from neigou.demo.seed import DemoWorld
from tests.browser.conftest import ARTIFACTS, member_sign_in, sign_in

pytestmark = pytest.mark.browser

SCREENS = 3


def _console_pages(world: DemoWorld) -> list[str]:
    partner, brand = world.partner_program_id, world.brand_program_id
    pages = ["/console", "/console/audit", "/console/coupons", "/console/promotions", "/console/products"]
    pages += ["/console/catalog"]
    pages += [
        "/console/groups",
        "/console/links",
        "/console/orders",
        "/console/withdrawals",
        "/console/privacy",
        "/console/campaigns",
        "/console/events",
        "/console/risk",
        "/console/access",
        "/console/quote",
        "/console/coupons/new",
        "/console/promotions/new",
        "/console/products/new",
        "/console/programs/new",
        "/console/events/new",
        "/console/campaigns/new",
    ]
    pages += [f"/console/members/{world.sample_member_id}/ledger"]
    for program in (partner, brand):
        pages += [f"/console/programs/{program}", f"/console/programs/{program}/groups"]
        pages += [
            f"/console/programs/{program}/groups/leaderboard",
            f"/console/programs/{program}/leaderboard",
        ]
        pages += [f"/console/programs/{program}/tiers", f"/console/programs/{program}/tier-evaluations"]
        pages += [
            f"/console/programs/{program}/analytics",
            f"/console/programs/{program}/reconciliation",
            f"/console/programs/{program}/settings",
            f"/console/programs/{program}/members/new",
        ]
    return pages


def _detail_pages(page: Page, live_server: str) -> list[str]:
    """The first row's page of the lists whose rows have one (a link, an order, an event, a member)."""
    found = []
    for path, selector in (
        ("/console/links", "[data-testid=link-detail]"),
        ("/console/orders", "a[href^='/console/orders/']"),
        ("/console/events", "[data-testid=event-link]"),
    ):
        page.goto(f"{live_server}{path}")
        first = page.locator(selector).first
        if first.count():
            found.append(str(first.get_attribute("href")))
    return found


WORKSPACE = [
    "/m/",
    "/m/links",
    "/m/groups",
    "/m/earnings",
    "/m/me",
    "/m/team",
    "/m/leaderboard",
    "/m/tier",
    "/m/feed",
    "/m/posts",
    "/m/recruit",
    "/m/live-codes",
    "/m/analytics",
    "/m/pushes",
    "/m/events",
]
# The salesperson's pages: the customer book, its tasks and form, pushes and the push composer.
SALESPERSON_WORKSPACE = [
    "/m/",
    "/m/customers",
    "/m/customers/today",
    "/m/customers/new",
    "/m/pushes",
    "/m/pushes/new",
    "/m/events",
    "/m/earnings",
    "/m/tier",
    "/m/me",
]


def _first_hrefs(page: Page, live_server: str, lists: tuple[str, ...]) -> list[str]:
    found = []
    for path in lists:
        page.goto(f"{live_server}{path}")
        first = page.locator(f"main a[href^='{path}/']:not([href$='/new']):not([href$='/today'])").first
        if first.count():
            found.append(str(first.get_attribute("href")))
    assert len(found) == len(lists), found
    return found


def _too_tall(page_heights: dict[str, int], screen: int) -> dict[str, int]:
    return {path: h for path, h in page_heights.items() if h > SCREENS * screen}


def test_console_pages_fit_three_screens(browser: Browser, live_server: str, world: DemoWorld) -> None:
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    sign_in(page, live_server, world)
    heights = {}
    for path in _console_pages(world) + _detail_pages(page, live_server):
        response = page.goto(f"{live_server}{path}")
        assert response is not None
        assert response.status == 200, path
        heights[path] = page.evaluate("document.documentElement.scrollHeight")
    tall = _too_tall(heights, 900)
    for path in tall:
        page.goto(f"{live_server}{path}")
        page.screenshot(path=str(ARTIFACTS / f"too-tall{path.replace('/', '_')}.png"), full_page=True)
    assert tall == {}
    page.close()


@pytest.mark.parametrize("who", ["owner", "salesperson"])
def test_workspace_pages_fit_three_phone_screens(
    browser: Browser, live_server: str, world: DemoWorld, who: str
) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    if who == "owner":
        member_sign_in(page, live_server, world)
    else:
        page.goto(f"{live_server}/m/login?code={world.salesperson_sign_in_code}")
        page.get_by_test_id("sign-in").click()  # the link asks first
        page.wait_for_url(f"{live_server}/m/")
    paths = WORKSPACE if who == "owner" else SALESPERSON_WORKSPACE
    if who == "salesperson":  # a customer's card: the first of the book
        paths = paths + _first_hrefs(page, live_server, ("/m/customers",))
    heights = {}
    for path in paths:
        response = page.goto(f"{live_server}{path}")
        assert response is not None
        assert response.status == 200, path
        heights[path] = page.evaluate("document.documentElement.scrollHeight")
    tall = _too_tall(heights, 844)
    for path in tall:
        page.goto(f"{live_server}{path}")
        page.screenshot(path=str(ARTIFACTS / f"too-tall-{who}{path.replace('/', '_')}.png"), full_page=True)
    assert tall == {}
    context.close()
