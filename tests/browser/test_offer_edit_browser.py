"""Editing a coupon and a promotion in the console, on a desktop and on a phone: each list row links to
its form, values read in yuan and percent, a refusal keeps the typed values, and the list shows the
saved change."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from neigou.demo.seed import DemoWorld
from tests.browser.conftest import ARTIFACTS, sign_in

pytestmark = pytest.mark.browser

WIDTHS = [pytest.param((1440, 900), id="desktop"), pytest.param((390, 844), id="phone")]


def _fits(page: Page, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def _new_coupon(page: Page, live_server: str, name: str) -> None:
    page.goto(f"{live_server}/console/coupons/new")
    form = page.get_by_test_id("coupon-form")
    form.locator("input[name=name]").fill(name)
    form.locator("input[name=value]").fill("15")
    form.locator("input[name=min_spend_yuan]").fill("99")
    form.locator("input[name=skus]").fill("LQ-SHAMPOO-500")
    form.locator("input[name=starts_at]").fill("2098-01-01T10:00")
    form.locator("input[name=ends_at]").fill("2098-02-01T10:00")
    form.get_by_role("button", name="保存").click()
    expect(page.get_by_test_id("coupons")).to_contain_text(name)


@pytest.mark.parametrize("size", WIDTHS)
def test_edit_a_coupon(browser: Browser, live_server: str, world: DemoWorld, size: tuple[int, int]) -> None:
    width, height = size
    page = browser.new_page(viewport={"width": width, "height": height})
    sign_in(page, live_server, world)
    _new_coupon(page, live_server, "春季洗发水券")
    page.get_by_test_id("coupons").get_by_role("link", name="春季洗发水券").click()
    form = page.get_by_test_id("coupon-edit-form")
    expect(form.locator("input[name=value]")).to_have_value("15.00")
    expect(form.locator("input[name=min_spend_yuan]")).to_have_value("99.00")
    expect(form.locator("input[name=ends_at]")).to_have_value("2098-02-01T10:00")
    _fits(page, width)
    form.locator("input[name=value]").fill("二十")
    form.locator("input[name=name]").fill("春季洗发水券 满99减20")
    form.get_by_role("button", name="保存").click()
    expect(page.get_by_test_id("error-value")).to_be_visible()
    expect(form.locator("input[name=name]")).to_have_value("春季洗发水券 满99减20")
    form.locator("input[name=value]").fill("20")
    form.locator("input[name=total_quantity]").fill("300")
    form.get_by_test_id("offer-status").select_option("paused")
    page.screenshot(path=str(ARTIFACTS / f"console-coupon-edit-{width}.png"), full_page=True)
    form.get_by_role("button", name="保存").click()
    row = page.get_by_test_id("coupons").locator("tr", has_text="春季洗发水券 满99减20")
    expect(row).to_contain_text("¥20.00")
    expect(row).to_contain_text("300 / 300")
    expect(row.get_by_test_id("paused")).to_have_text("已暂停")
    _fits(page, width)
    page.close()


@pytest.mark.parametrize("size", WIDTHS)
def test_edit_a_promotion(
    browser: Browser, live_server: str, world: DemoWorld, size: tuple[int, int]
) -> None:
    width, height = size
    page = browser.new_page(viewport={"width": width, "height": height})
    sign_in(page, live_server, world)
    page.goto(f"{live_server}/console/promotions/new")
    form = page.get_by_test_id("promotion-form")
    form.locator("input[name=name]").fill("夏季满3件8折")
    form.locator("input[name=min_quantity]").fill("3")
    form.locator("input[name=pay_rate_percent]").fill("80")
    form.locator("input[name=starts_at]").fill("2098-06-01T00:00")
    form.locator("input[name=ends_at]").fill("2098-07-01T00:00")
    form.get_by_role("button", name="保存").click()
    page.get_by_test_id("promotions").get_by_role("link", name="夏季满3件8折").click()
    edit = page.get_by_test_id("promotion-edit-form")
    expect(edit.locator("input[name=pay_rate_percent]")).to_have_value("80")
    _fits(page, width)
    edit.locator("input[name=name]").fill("夏季满3件75折")
    edit.locator("input[name=pay_rate_percent]").fill("75")
    edit.locator("input[name=ends_at]").fill("2098-05-01T00:00")  # before it starts: refused in place
    edit.get_by_role("button", name="保存").click()
    expect(page.get_by_test_id("form-errors")).to_be_visible()
    expect(edit.locator("input[name=pay_rate_percent]")).to_have_value("75")
    edit.locator("input[name=ends_at]").fill("2098-07-15T00:00")
    page.screenshot(path=str(ARTIFACTS / f"console-promotion-edit-{width}.png"), full_page=True)
    edit.get_by_role("button", name="保存").click()
    row = page.get_by_test_id("promotions").locator("tr", has_text="夏季满3件75折")
    expect(row).to_contain_text("75%")
    expect(row).to_contain_text("2098-07-15")
    _fits(page, width)
    page.close()


def test_a_stock_below_the_claims_is_refused_by_the_stock_field(
    browser: Browser, live_server: str, world: DemoWorld
) -> None:
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    sign_in(page, live_server, world)
    page.goto(f"{live_server}/console/coupons")
    page.get_by_test_id("coupons").get_by_role("link", name="新人立减5元").click()  # claimed in the demo
    form = page.get_by_test_id("coupon-edit-form")
    stock = form.locator("input[name=total_quantity]")
    stock.fill("1")
    form.get_by_role("button", name="保存").click()
    field = form.locator("label", has=page.locator("input[name=total_quantity]"))
    error = field.get_by_test_id("error-total_quantity")
    expect(error).to_have_attribute("data-code", "quantity_below_claimed")
    expect(error).to_contain_text("库存不能少于已领数量")
    expect(stock).to_have_value("1")
    page.close()
