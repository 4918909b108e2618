"""The merchant portal's campaigns in Chromium, on the demo's shop at desktop and phone widths: the
page is reached through the portal's menu, a campaign is created (a sku of another shop refused
beside its field first) and then edited, and nothing is wider than the screen."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from neigou.demo.seed import DemoWorld
from tests.browser.conftest import ARTIFACTS
from tests.browser.flows import assert_fits, assert_refusal, open_page
from tests.demo_world import PASSWORD

pytestmark = pytest.mark.browser


def _merchant_sign_in(page: Page, live_server: str, world: DemoWorld) -> None:
    page.goto(f"{live_server}/console/login")
    page.get_by_label("用户名").fill(world.merchant_username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_test_id("merchant-title")).to_contain_text("我的店铺")


def _fits(page: Page) -> None:
    assert_fits(page)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, overflow


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_the_shop_creates_and_edits_a_campaign(
    browser: Browser, live_server: str, world: DemoWorld, size: str
) -> None:
    page = open_page(browser, size)
    _merchant_sign_in(page, live_server, world)
    page.get_by_test_id("m-nav-campaigns").click()
    expect(page.get_by_test_id("m-campaigns-title")).to_have_text("选品活动")
    _fits(page)
    page.get_by_test_id("m-new-campaign").click()
    form = page.get_by_test_id("campaign-edit-form")
    name = f"澜泉换季囤货 {size}"
    form.get_by_test_id("campaign-edit-name").fill(name)
    form.get_by_test_id("campaign-edit-skus").fill("LQ-SHAMPOO-500\nYD-TEE-CREW")
    form.get_by_test_id("campaign-edit-boost").fill("2")
    form.get_by_test_id("campaign-edit-starts").fill("2098-03-01T10:00")
    form.get_by_test_id("campaign-edit-ends").fill("2098-03-08T10:00")
    form.get_by_test_id("campaign-edit-copy").fill("换季囤货，两瓶更划算")
    _fits(page)
    form.get_by_test_id("campaign-edit-save").click()
    assert_refusal(page.get_by_test_id("form-errors"))
    expect(page.get_by_test_id("error-skus")).to_be_visible()
    expect(form.get_by_test_id("campaign-edit-name")).to_have_value(name)  # what was typed stays
    form.get_by_test_id("campaign-edit-skus").fill("LQ-SHAMPOO-500\nLQ-BODYWASH-750")
    form.get_by_test_id("campaign-edit-save").click()
    listing = page.get_by_test_id("m-campaigns")
    expect(listing).to_contain_text(name)
    expect(listing).not_to_contain_text("YD-TEE-CREW")
    page.screenshot(path=str(ARTIFACTS / f"merchant-campaigns-{size}.png"), full_page=True)
    _fits(page)

    listing.get_by_role("link", name=name).click()
    form = page.get_by_test_id("campaign-edit-form")
    expect(form.get_by_test_id("campaign-edit-boost")).to_have_value("2")
    expect(form.get_by_test_id("campaign-edit-starts")).to_have_value("2098-03-01T10:00")
    _fits(page)
    form.get_by_test_id("campaign-edit-ends").fill("2098-02-01T10:00")  # before it starts
    form.get_by_test_id("campaign-edit-save").click()
    # the first field to fix is focused, so on a phone the page answers scrolled to it and its error
    expect(page.get_by_test_id("form-errors")).to_be_visible()
    assert_refusal(page.get_by_test_id("error-ends_at"))
    expect(form.get_by_test_id("campaign-edit-ends")).to_be_focused()
    form.get_by_test_id("campaign-edit-ends").fill("2098-03-15T10:00")
    form.get_by_test_id("campaign-edit-name").fill(f"{name} 加长版")
    form.get_by_test_id("campaign-edit-boost").fill("3.5")
    page.screenshot(path=str(ARTIFACTS / f"merchant-campaign-edit-{size}.png"), full_page=True)
    form.get_by_test_id("campaign-edit-save").click()
    row = page.get_by_test_id("m-campaign-row").filter(has_text=f"{name} 加长版")
    expect(row).to_contain_text("3.5%")
    _fits(page)
    page.context.close()
