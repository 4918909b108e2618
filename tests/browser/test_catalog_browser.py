"""The console's brands and categories page in Chromium at desktop and phone sizes: opened from the
catalog's tabs, it lists the demo brands and categories with their product counts, refuses a taken
category code beside the field (in Chinese, with what was typed kept), then adds the category and a
brand. Screenshots are kept as artifacts."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, expect

from neigou.demo.seed import DemoWorld
from tests.browser.conftest import ARTIFACTS, sign_in
from tests.browser.flows import SIZES, assert_fits, assert_refusal, open_page

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("size", SIZES)
def test_add_a_category_and_a_brand(browser: Browser, live_server: str, world: DemoWorld, size: str) -> None:
    page = open_page(browser, size)
    sign_in(page, live_server, world)
    page.get_by_test_id("nav-offers").click()
    page.get_by_test_id("offers-tabs").get_by_role("link", name="品牌与分类").click()
    expect(page).to_have_url(f"{live_server}/console/catalog")
    brands, categories = page.get_by_test_id("brands"), page.get_by_test_id("categories")
    counted = int(brands.locator("tr[data-code=lanquan] [data-testid=count]").inner_text())
    assert counted > 0
    form = page.get_by_test_id("category-form")
    name = f"宠物用品 {size}"
    form.locator("input[name=code]").fill("food")  # the demo's 食品生鲜 has it
    form.locator("input[name=name]").fill(name)
    form.get_by_role("button", name="添加分类").click()
    assert_refusal(form.get_by_test_id("error-code"))
    expect(form.locator("input[name=code]")).to_have_value("food")
    expect(form.locator("input[name=name]")).to_have_value(name)
    expect(page.get_by_test_id("brand-form").locator(".error")).to_have_count(0)
    assert_fits(page)
    page.screenshot(path=str(ARTIFACTS / f"catalog-refused-{size}.png"), full_page=True)
    form.locator("input[name=code]").fill(f"pets-{size}")
    form.get_by_role("button", name="添加分类").click()
    expect(page.get_by_test_id("added")).to_have_text("分类已添加。")
    row = categories.locator(f"tr[data-code=pets-{size}]")
    expect(row).to_contain_text(name)
    expect(row.get_by_test_id("count")).to_have_text("0")
    brand = page.get_by_test_id("brand-form")
    brand.locator("input[name=code]").fill(f"nova-{size}")
    brand.locator("input[name=name]").fill("新星 Nova")
    brand.get_by_role("button", name="添加品牌").click()
    expect(page.get_by_test_id("added")).to_have_text("品牌已添加。")
    expect(brands.locator(f"tr[data-code=nova-{size}]")).to_contain_text("新星 Nova")
    brands.locator("tr[data-code=lanquan] [data-testid=count]").click()  # the count opens its products
    expect(page).to_have_url(re.compile(r"/console/products\?brand=\d+$"))
    assert_fits(page)
    page.goto(f"{live_server}/console/catalog")
    page.screenshot(path=str(ARTIFACTS / f"catalog-{size}.png"), full_page=True)
    page.context.close()
