"""Console screens of the offers: products, coupons, promotions and a quote preview."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from neigou.demo.seed import DemoWorld
from tests.browser.conftest import ARTIFACTS, sign_in

pytestmark = pytest.mark.browser


def test_offer_screens_and_the_shampoo_quote(browser: Browser, live_server: str, world: DemoWorld) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    sign_in(page, live_server, world)
    page.goto(f"{live_server}/console/products")
    expect(page.get_by_test_id("products")).to_contain_text("LQ-SHAMPOO-500")
    expect(page.get_by_test_id("products")).to_contain_text("¥49.90")
    page.goto(f"{live_server}/console/coupons")
    expect(page.get_by_test_id("coupons")).to_contain_text("隐藏")
    page.goto(f"{live_server}/console/promotions")
    expect(page.get_by_test_id("promotions")).to_contain_text("满10件1.1折")

    page.goto(f"{live_server}/console/quote")
    page.get_by_test_id("quote-sku").first.fill("LQ-SHAMPOO-500")
    page.get_by_label("澜泉洗发水 群内专享券 ¥25").check()
    page.get_by_role("button", name="计算价格").click()
    # Without the link the hidden coupon is refused and the shopper pays the app price.
    expect(page.get_by_test_id("quote-payable")).to_have_attribute("data-fen", "4990")
    expect(page.get_by_test_id("quote-refused")).to_contain_text("link_required")
    page.get_by_label("按分享链接计价", exact=False).check()
    page.get_by_role("button", name="计算价格").click()
    expect(page.get_by_test_id("quote-payable")).to_have_attribute("data-fen", "2490")
    expect(page.get_by_test_id("quote-payable")).to_have_text("¥24.90")
    page.screenshot(path=str(ARTIFACTS / "console-quote.png"), full_page=True)
    page.close()


def test_create_a_product_through_the_form(browser: Browser, live_server: str, world: DemoWorld) -> None:
    page = browser.new_page(viewport={"width": 390, "height": 844})
    sign_in(page, live_server, world)
    page.goto(f"{live_server}/console/products/new")
    page.locator("input[name=sku]").fill("YD-SCARF")
    page.locator("input[name=title]").fill("衣朵 羊毛围巾")
    page.locator("input[name=price_yuan]").fill("79.90")
    page.locator("input[name=commission_percent]").fill("25")
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_test_id("products")).to_contain_text("YD-SCARF")
    expect(page.get_by_test_id("products")).to_contain_text("¥79.90")
    page.close()
