"""Console create flows in Chromium at desktop and phone sizes: coupons, promotions, share links and
campaigns. Each form is opened from the console's navigation, refuses one bad input in place (in
Chinese, with what was typed kept), then saves, and the new row shows in its list with the total
grown by one. Screenshots are kept as artifacts."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, expect

from neigou.demo.seed import DemoWorld
from tests.browser.conftest import ARTIFACTS, sign_in
from tests.browser.flows import SIZES, assert_fits, assert_refusal, local_time, open_page, total

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("size", SIZES)
def test_create_a_coupon(browser: Browser, live_server: str, world: DemoWorld, size: str) -> None:
    page = open_page(browser, size)
    sign_in(page, live_server, world)
    page.get_by_test_id("nav-offers").click()
    page.get_by_test_id("offers-tabs").get_by_role("link", name="优惠券").click()
    before = total(page)
    page.get_by_test_id("new-coupon").click()
    form = page.get_by_test_id("coupon-form")
    name = f"围巾专享券 {size}"
    form.locator("input[name=name]").fill(name)
    form.locator("input[name=value]").fill("五元")
    form.locator("input[name=min_spend_yuan]").fill("59")
    form.locator("input[name=starts_at]").fill(local_time(-1))
    form.locator("input[name=ends_at]").fill(local_time(30))
    form.get_by_role("button", name="保存").click()
    assert_refusal(page.get_by_test_id("error-value"))
    expect(form.locator("input[name=name]")).to_have_value(name)
    expect(form.locator("input[name=value]")).to_have_value("五元")
    assert_fits(page)
    page.screenshot(path=str(ARTIFACTS / f"create-coupon-refused-{size}.png"), full_page=True)
    form.locator("input[name=value]").fill("5")
    form.get_by_role("button", name="保存").click()
    expect(page).to_have_url(f"{live_server}/console/coupons")
    assert total(page) == before + 1
    row = page.get_by_test_id("coupons").locator("tr", has_text=name)
    expect(row).to_contain_text("¥5.00")
    expect(row).to_contain_text("¥59.00")
    expect(row).to_contain_text("1000 / 1000")
    assert_fits(page)
    page.screenshot(path=str(ARTIFACTS / f"create-coupon-{size}.png"), full_page=True)
    page.context.close()


@pytest.mark.parametrize("size", SIZES)
def test_create_a_promotion(browser: Browser, live_server: str, world: DemoWorld, size: str) -> None:
    page = open_page(browser, size)
    sign_in(page, live_server, world)
    page.get_by_test_id("nav-offers").click()
    page.get_by_test_id("offers-tabs").get_by_role("link", name="促销活动").click()
    before = total(page)
    page.get_by_test_id("new-promotion").click()
    form = page.get_by_test_id("promotion-form")
    name = f"满5件8折 {size}"
    form.locator("input[name=name]").fill(name)
    form.locator("input[name=min_quantity]").fill("5")
    form.locator("input[name=pay_rate_percent]").fill("八十")
    form.locator("input[name=starts_at]").fill(local_time(-1))
    form.locator("input[name=ends_at]").fill(local_time(14))
    form.get_by_role("button", name="保存").click()
    assert_refusal(page.get_by_test_id("error-pay_rate_percent"))
    expect(form.locator("input[name=name]")).to_have_value(name)
    expect(form.locator("input[name=min_quantity]")).to_have_value("5")
    assert_fits(page)
    page.screenshot(path=str(ARTIFACTS / f"create-promotion-refused-{size}.png"), full_page=True)
    form.locator("input[name=pay_rate_percent]").fill("80")
    form.get_by_role("button", name="保存").click()
    expect(page).to_have_url(f"{live_server}/console/promotions")
    assert total(page) == before + 1
    row = page.get_by_test_id("promotions").locator("tr", has_text=name)
    expect(row).to_contain_text("满5件，付80%")  # a rate reads as a percentage, never basis points
    assert_fits(page)
    page.screenshot(path=str(ARTIFACTS / f"create-promotion-{size}.png"), full_page=True)
    page.context.close()


@pytest.mark.parametrize("size", SIZES)
def test_make_a_share_link(browser: Browser, live_server: str, world: DemoWorld, size: str) -> None:
    page = open_page(browser, size)
    sign_in(page, live_server, world)
    page.get_by_test_id("nav-links").click()
    before = total(page)
    page.get_by_test_id("new-link-box").locator("summary").click()
    page.get_by_test_id("link-member").fill("张三")
    page.get_by_test_id("link-submit").click()
    assert_refusal(page.get_by_test_id("form-errors"))
    expect(page.get_by_test_id("link-member")).to_have_value("张三")
    page.screenshot(path=str(ARTIFACTS / f"create-link-refused-{size}.png"), full_page=True)
    page.get_by_test_id("link-member").fill(str(world.sample_member_id))
    page.get_by_test_id("link-submit").click()
    made = page.get_by_test_id("link-created")
    expect(made).to_contain_text("/l/")
    code = made.locator("a").inner_text().rsplit("/l/", 1)[1]
    assert total(page) == before + 1
    expect(page.get_by_test_id("link-row").first).to_have_attribute("data-code", code)  # newest first
    assert_fits(page)
    page.screenshot(path=str(ARTIFACTS / f"create-link-{size}.png"), full_page=True)
    page.context.close()


@pytest.mark.parametrize("size", SIZES)
def test_publish_a_campaign(browser: Browser, live_server: str, world: DemoWorld, size: str) -> None:
    page = open_page(browser, size)
    sign_in(page, live_server, world)
    page.get_by_test_id("nav-campaigns").click()
    before = total(page)
    page.get_by_test_id("new-campaign").click()
    form = page.get_by_test_id("campaign-edit-form")
    name = f"冬季围巾节 {size}"
    form.get_by_test_id("campaign-edit-program").select_option(str(world.partner_program_id))
    # Typing in the coupon field asks the server for the picked program's coupons that match.
    coupons = page.locator("#coupon-options option")
    expect(coupons.first).to_be_attached()
    page.get_by_test_id("campaign-edit-coupon").fill("没有这张券")
    expect(coupons).to_have_count(0)
    page.get_by_test_id("campaign-edit-coupon").fill("")
    expect(coupons.first).to_be_attached()
    page.get_by_test_id("campaign-edit-name").fill(name)
    page.get_by_test_id("campaign-edit-skus").fill("LQ-SHAMPOO-500")
    page.get_by_test_id("campaign-edit-boost").fill("五")
    page.get_by_test_id("campaign-edit-starts").fill(local_time(0))
    page.get_by_test_id("campaign-edit-ends").fill(local_time(7))
    page.get_by_test_id("campaign-edit-save").click()
    assert_refusal(page.get_by_test_id("error-boost_percent"))
    expect(page.get_by_test_id("form-errors")).to_be_visible()
    expect(page.get_by_test_id("campaign-edit-name")).to_have_value(name)
    expect(page.get_by_test_id("campaign-edit-boost")).to_have_value("五")
    expect(page.get_by_test_id("campaign-edit-boost")).to_be_focused()
    assert_fits(page)
    page.screenshot(path=str(ARTIFACTS / f"create-campaign-refused-{size}.png"), full_page=True)
    page.get_by_test_id("campaign-edit-boost").fill("5")
    page.get_by_test_id("campaign-edit-save").click()
    expect(page).to_have_url(f"{live_server}/console/campaigns?program={world.partner_program_id}")
    row = page.get_by_test_id("campaign-row").filter(has_text=name)
    expect(row).to_contain_text("5%")
    expect(row.get_by_test_id("campaign-live")).to_be_visible()
    page.get_by_role("link", name="全部计划").click()
    expect(page).to_have_url(re.compile(r"/console/campaigns(\?|$)(?!.*program=\d)"))
    assert total(page) == before + 1
    assert_fits(page)
    page.screenshot(path=str(ARTIFACTS / f"create-campaign-{size}.png"), full_page=True)
    page.context.close()
