"""The merchant portal in Chromium, on the demo's shop: its home, products, coupons and sales with
the chart, on a desktop and a phone; none of the operators' console, no shopper."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from neigou.demo.seed import DemoWorld
from tests.browser.conftest import ARTIFACTS, sign_in
from tests.demo_world import PASSWORD

pytestmark = pytest.mark.browser


def _merchant_sign_in(page: Page, live_server: str, world: DemoWorld) -> None:
    page.goto(f"{live_server}/console/login")
    page.get_by_label("用户名").fill(world.merchant_username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_test_id("merchant-title")).to_contain_text("我的店铺")


@pytest.mark.parametrize(("width", "height"), [(1280, 900), (390, 844)])
def test_the_shop_sees_its_own_portal(
    browser: Browser, live_server: str, world: DemoWorld, width: int, height: int
) -> None:
    page = browser.new_page(viewport={"width": width, "height": height})
    _merchant_sign_in(page, live_server, world)
    expect(page.get_by_test_id("count-products")).to_have_text("3")
    expect(page.get_by_test_id("count-live")).to_have_text("1")
    page.screenshot(path=str(ARTIFACTS / f"merchant-home-{width}.png"), full_page=True)

    page.get_by_test_id("m-nav-products").click()
    expect(page.get_by_test_id("m-products")).to_contain_text("LQ-SHAMPOO-500")
    expect(page.get_by_test_id("m-products")).not_to_contain_text("YD-TEE-CREW")
    expect(page.get_by_test_id("m-product-row")).to_have_count(3)

    page.get_by_test_id("m-nav-coupons").click()
    expect(page.get_by_test_id("m-coupons")).to_contain_text("澜泉群专享 满99减20")
    expect(page.get_by_test_id("m-coupon-row")).to_have_count(1)  # the platform's own coupons stay out

    page.get_by_test_id("m-nav-sales").click()
    expect(page.get_by_test_id("m-sales-chart")).to_be_visible()
    expect(page.get_by_test_id("m-sales-row").first).to_be_visible()
    page.get_by_role("link", name="按群").click()
    expect(page.get_by_test_id("m-sales-row").first).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / f"merchant-sales-{width}.png"), full_page=True)
    if width < 500:
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, overflow
    page.goto(f"{live_server}/console/orders")
    expect(page.locator("body")).not_to_contain_text("LQ-SHAMPOO-500")
    page.close()


def test_the_shop_adds_a_coupon_in_english(browser: Browser, live_server: str, world: DemoWorld) -> None:
    page = browser.new_page(viewport={"width": 390, "height": 844})
    _merchant_sign_in(page, live_server, world)
    page.get_by_test_id("lang-switch").click()
    expect(page.get_by_test_id("merchant-title")).to_contain_text("My shop")
    page.goto(f"{live_server}/console/merchant/coupons/new")
    page.locator("input[name=name]").fill("Group only ¥5")
    page.locator("input[name=value]").fill("5")
    page.locator("input[name=skus]").fill("LQ-BODYWASH-750")
    page.locator("input[name=total_quantity]").fill("50")
    page.locator("input[name=starts_at]").fill("2026-01-01T00:00")
    page.locator("input[name=ends_at]").fill("2027-01-01T00:00")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_test_id("m-coupons")).to_contain_text("Group only ¥5")
    page.goto(f"{live_server}/console/merchant/coupons/new")
    page.locator("input[name=name]").fill("Not mine")
    page.locator("input[name=value]").fill("5")
    page.locator("input[name=skus]").fill("YD-TEE-CREW")
    page.locator("input[name=total_quantity]").fill("50")
    page.locator("input[name=starts_at]").fill("2026-01-01T00:00")
    page.locator("input[name=ends_at]").fill("2027-01-01T00:00")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("[data-code=product_not_found]")).to_be_visible()
    page.close()


def test_the_operators_review_queue(browser: Browser, live_server: str, world: DemoWorld) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    sign_in(page, live_server, world, target="/console/reviews")
    expect(page.get_by_role("heading", name="店家审核")).to_be_visible()
    expect(page.get_by_test_id("reviews")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "console-reviews.png"), full_page=True)
    page.close()
