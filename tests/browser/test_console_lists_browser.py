"""Console lists in Chromium: searching swaps the list in place (htmx), a header sorts, the pager pages,
and every list's table fits its card at 1440 px and on a phone. Screenshots are kept as artifacts."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from neigou.demo.seed import DemoWorld
from tests.browser.conftest import ARTIFACTS, sign_in

pytestmark = pytest.mark.browser

LISTS = [
    "/console/products",
    "/console/coupons",
    "/console/promotions",
    "/console/links",
    "/console/campaigns",
    "/console/events",
    "/console/risk",
]
SIZES = {"desktop": (1440, 900), "phone": (390, 844)}


def _overflow(page: Page) -> int:
    """How many pixels the list's table sticks out of its card (0 when it fits)."""
    width: int = page.evaluate(
        "() => { const box = document.querySelector('#list .scroll');"
        " return box ? box.scrollWidth - box.clientWidth : 0; }"
    )
    return width


def _cut_placeholders(page: Page) -> list[str]:
    """The shown fields whose placeholder (the search box's hint) is wider than the field."""
    cut: list[str] = page.evaluate(
        "() => [...document.querySelectorAll('input[placeholder]')].filter(i => i.offsetParent).filter(i => {"
        " const s = getComputedStyle(i); const c = document.createElement('canvas').getContext('2d');"
        " c.font = s.font; const need = c.measureText(i.placeholder).width + parseFloat(s.paddingLeft)"
        " + parseFloat(s.paddingRight); return need > i.clientWidth; }).map(i => i.placeholder)"
    )
    return cut


@pytest.mark.parametrize("size", SIZES)
def test_every_list_fits_and_shows_its_total(
    browser: Browser, live_server: str, world: DemoWorld, size: str
) -> None:
    width, height = SIZES[size]
    page = browser.new_page(viewport={"width": width, "height": height})
    sign_in(page, live_server, world)
    for path in LISTS:
        response = page.goto(f"{live_server}{path}")
        assert response is not None
        assert response.status == 200, path
        expect(page.get_by_test_id("list-total")).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / f"list-{size}{path.replace('/', '_')}.png"), full_page=True)
        if size == "desktop":
            assert _overflow(page) == 0, path
        for lang in ("zh-CN", "en"):
            page.goto(f"{live_server}{path}?lang={lang}")
            assert not _cut_placeholders(page), (path, lang, _cut_placeholders(page))
    page.close()


def test_search_sort_and_page_the_products(browser: Browser, live_server: str, world: DemoWorld) -> None:
    page = browser.new_page(
        viewport={"width": 1440, "height": 900}, locale="en-US"
    )  # an English page, an English reader
    sign_in(page, live_server, world, target="/console/products?lang=en")
    total = page.get_by_test_id("list-total")
    everything = re.findall(r"\d+", total.inner_text())[0]
    page.get_by_test_id("list-q").fill("LQ-")  # htmx swaps the list as the reader types
    expect(total).to_contain_text("Matching “LQ-”")
    expect(page).to_have_url(re.compile(r"q=LQ-"))
    rows = page.get_by_test_id("product-row")
    for sku in rows.evaluate_all("rows => rows.map(r => r.dataset.sku)"):
        assert "LQ-" in sku
    page.get_by_test_id("sort-price").click()
    expect(page).to_have_url(re.compile(r"sort=price"))
    prices = rows.evaluate_all("rows => rows.map(r => r.children[2].innerText)")
    fen = [int(p.replace("¥", "").replace(",", "").replace(".", "")) for p in prices]
    assert fen == sorted(fen)
    page.get_by_test_id("sort-price").click()  # again: the other way round
    expect(page).to_have_url(re.compile(r"sort=-price"))
    # the sort's swap lands before the search is cleared: two requests in flight to one list may
    # answer in either order, and the sorted one would leave the filtered list standing
    page.wait_for_load_state("networkidle")
    page.get_by_test_id("list-q").fill("")
    expect(total).to_contain_text(everything)
    expect(total).not_to_contain_text("“")
    page.screenshot(path=str(ARTIFACTS / "list-products-sorted.png"), full_page=True)
    page.close()


def test_page_through_the_share_links_on_a_phone(
    browser: Browser, live_server: str, world: DemoWorld
) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    sign_in(page, live_server, world, target="/console/links")
    first = page.get_by_test_id("link-row").first.get_attribute("data-code")
    expect(page.get_by_test_id("pager")).to_contain_text("第 1 /")
    page.get_by_test_id("pager-next").click()
    expect(page.get_by_test_id("pager")).to_contain_text("第 2 /")
    expect(page).to_have_url(re.compile(r"page=2"))
    assert page.get_by_test_id("link-row").first.get_attribute("data-code") != first
    page.screenshot(path=str(ARTIFACTS / "list-links-page-2-phone.png"), full_page=True)
    page.get_by_test_id("link-detail").first.click()
    expect(page.get_by_test_id("link-title")).to_be_visible()
    expect(page.get_by_test_id("link-stats")).to_contain_text("点击")
    page.screenshot(path=str(ARTIFACTS / "link-detail-phone.png"), full_page=True)
    context.close()
