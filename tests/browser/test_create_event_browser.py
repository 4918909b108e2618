"""Creating a live event from the console in Chromium at desktop and phone sizes: the form opened
from the events list refuses a bad price in place (in Chinese, what was typed kept), takes one more
price-list row without scripts, saves onto the event's page, and the whitelist form there reports a bad
pasted line before adding the employees. Screenshots are kept as artifacts."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, expect

from neigou.demo.offers import SHAMPOO_SKU
from neigou.demo.seed import DemoWorld
from tests.browser.conftest import ARTIFACTS, sign_in
from tests.browser.flows import SIZES, assert_fits, assert_refusal, local_time, open_page

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("size", SIZES)
def test_create_an_event_and_add_employees(
    browser: Browser, live_server: str, world: DemoWorld, size: str
) -> None:
    page = open_page(browser, size)
    sign_in(page, live_server, world, "/console/events")
    page.get_by_test_id("new-event").click()
    form = page.get_by_test_id("event-form")
    name = f"年终员工内购会 {size}"
    form.locator("select[name=program_id]").select_option(str(world.partner_program_id))
    form.locator("input[name=name]").fill(name)
    form.locator("input[name=starts_at]").fill(local_time(1))
    form.locator("input[name=ends_at]").fill(local_time(2))
    form.locator("input[name=guests_per_employee]").fill("3")
    form.locator("input[name=sku_0]").fill(SHAMPOO_SKU)
    form.locator("input[name=price_yuan_0]").fill("二十九")
    form.locator("input[name=stock_0]").fill("200")
    form.locator("input[name=per_person_limit_0]").fill("2")
    form.get_by_role("button", name="创建活动").click()
    assert_refusal(page.get_by_test_id("form-errors"))  # on top, without scrolling, at either size
    expect(page.get_by_test_id("error-price_yuan_0")).to_contain_text(
        "请填写以元为单位的金额"
    )  # and beside the field
    expect(form.locator("input[name=name]")).to_have_value(name)
    expect(form.locator("input[name=price_yuan_0]")).to_have_value("二十九")
    assert_fits(page)
    page.screenshot(path=str(ARTIFACTS / f"create-event-refused-{size}.png"), full_page=True)
    form.locator("input[name=price_yuan_0]").fill("29.90")
    expect(page.get_by_test_id("item-row")).to_have_count(5)
    page.get_by_test_id("add-row").click()
    expect(page.get_by_test_id("item-row")).to_have_count(6)
    expect(form.locator("input[name=price_yuan_0]")).to_have_value("29.90")
    form.locator("input[name=sku_5]").fill("EV-GIFT")
    form.locator("input[name=price_yuan_5]").fill("9.9")
    form.locator("input[name=stock_5]").fill("50")
    form.locator("input[name=per_person_limit_5]").fill("1")
    page.screenshot(path=str(ARTIFACTS / f"create-event-form-{size}.png"), full_page=True)
    form.get_by_role("button", name="创建活动").click()
    expect(page).to_have_url(re.compile(rf"{live_server}/console/events/\d+$"))
    expect(page.get_by_test_id("event-title")).to_have_text(name)
    items = page.get_by_test_id("event-items")
    expect(items.locator("tbody tr")).to_have_count(2)
    expect(items).to_contain_text("¥29.90")
    expect(items).to_contain_text("¥9.90")

    lines = page.locator("textarea[name=lines]")
    lines.fill("E001,张三\nE002\nE003,王五")
    page.get_by_test_id("add-employees").click()
    assert_refusal(page.get_by_test_id("form-errors"))
    expect(page.get_by_test_id("error-lines")).to_contain_text("第 2 行")
    expect(page.locator("textarea[name=lines]")).to_have_value("E001,张三\nE002\nE003,王五")
    expect(page.get_by_test_id("employee-count")).to_contain_text("0")
    page.screenshot(path=str(ARTIFACTS / f"event-employees-refused-{size}.png"), full_page=True)
    page.locator("textarea[name=lines]").fill("E001,张三\nE002,李四\nE003,王五")
    page.get_by_test_id("add-employees").click()
    expect(page.get_by_test_id("employees-added")).to_contain_text("3")
    expect(page.get_by_test_id("employee-count")).to_contain_text("3")
    assert_fits(page)
    page.screenshot(path=str(ARTIFACTS / f"event-employees-{size}.png"), full_page=True)
    page.context.close()
