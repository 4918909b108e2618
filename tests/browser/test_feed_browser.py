"""The group owner's day in a real browser: today's selection on a phone, one post per group with the
coupon price, the live code that sends a visitor to a group with room; the console's campaigns."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Route, ViewportSize, expect

from neigou.demo.seed import DemoWorld
from tests.browser.conftest import ARTIFACTS, member_sign_in, sign_in
from tests.browser.flows import local_time

pytestmark = pytest.mark.browser
PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1440, "height": 900}


def _local_only(route: Route) -> None:
    """Tests never reach the internet: product images on other hosts fail fast."""
    if urlsplit(route.request.url).hostname == "127.0.0.1":
        route.continue_()
    else:
        route.abort()


def test_owner_posts_todays_selection_to_several_groups_on_a_phone(
    browser: Browser, live_server: str, world: DemoWorld
) -> None:
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    context.route("**/*", _local_only)
    page = context.new_page()
    member_sign_in(page, live_server, world)
    page.get_by_test_id("feed-shortcut").click()
    expect(page.get_by_test_id("feed-title")).to_have_text("今日选品")
    items = page.get_by_test_id("feed-item")
    expect(items).to_have_count(6)  # the ended campaign's products are gone
    shampoo = items.filter(has_text="澜泉 氨基酸控油蓬松洗发水")
    expect(shampoo.get_by_test_id("group-price")).to_have_text("¥24.90")
    expect(shampoo.get_by_test_id("est-commission")).to_have_text("¥1.24")
    page.wait_for_load_state("networkidle")  # images and fonts in place before the width is read
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=str(ARTIFACTS / "feed-phone.png"), full_page=True)
    shampoo.get_by_test_id("pick").check()
    items.filter(has_text="衣朵 高腰直筒牛仔裤").get_by_test_id("pick").check()
    page.get_by_test_id("build-post").click()
    builder = page.get_by_test_id("post-builder")
    expect(builder).to_contain_text("澜泉 氨基酸控油蓬松洗发水")
    groups = builder.get_by_test_id("group-pick").count()
    assert groups >= 2
    page.get_by_test_id("make-posts").click()
    expect(page.get_by_test_id("posts-made")).to_be_visible()
    posts = page.get_by_test_id("post")
    expect(posts).to_have_count(groups)
    first = posts.first.get_by_test_id("post-text")
    expect(first).to_have_value(re.compile("券后 ¥24.90"))
    expect(first).to_have_value(re.compile(r"/l/\w+"))
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=str(ARTIFACTS / "posts-phone.png"), full_page=True)
    posts.first.get_by_test_id("mark-copied").click()
    expect(page.get_by_test_id("post").first.get_by_test_id("post-status")).to_have_text("已发群")
    context.close()


def test_the_live_code_sends_visitors_to_a_group_with_room(
    browser: Browser, live_server: str, world: DemoWorld
) -> None:
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    context.route("**/*", _local_only)
    page = context.new_page()
    member_sign_in(page, live_server, world)
    page.goto(f"{live_server}/m/live-codes")
    code = page.get_by_test_id("live-code").first
    expect(code.get_by_test_id("live-code-group")).to_have_count(4)
    url = code.get_by_test_id("live-code-url").input_value()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=str(ARTIFACTS / "live-codes-phone.png"), full_page=True)
    visitor = context.new_page()
    visitor.goto(url)
    joined = visitor.locator("[data-group-id]")
    expect(joined).to_have_count(1)
    group_id = joined.get_attribute("data-group-id")
    visitor.screenshot(path=str(ARTIFACTS / "live-code-join-phone.png"), full_page=True)
    page.reload()
    scanned = page.locator(f'[data-testid="live-code-group"][data-group-id="{group_id}"]').get_by_test_id(
        "scans"
    )
    expect(scanned).to_have_text("1")
    context.close()


def test_operator_publishes_a_campaign_on_a_wide_screen(
    browser: Browser, live_server: str, world: DemoWorld
) -> None:
    page = browser.new_page(viewport=DESKTOP)
    sign_in(page, live_server, world, "/console/campaigns")
    expect(page.get_by_test_id("campaigns-title")).to_have_text("选品活动")
    rows = page.get_by_test_id("campaign-row")
    expect(rows).to_have_count(3)
    expect(page.get_by_test_id("campaign-live")).to_have_count(2)
    page.get_by_test_id("new-campaign").click()
    form = page.get_by_test_id("campaign-edit-form")
    program = form.get_by_test_id("campaign-edit-program").input_value()
    form.get_by_test_id("campaign-edit-name").fill("棉棉母婴周")
    form.get_by_test_id("campaign-edit-skus").fill("MM-WIPES-80\nMM-DIAPER-L")
    form.get_by_test_id("campaign-edit-boost").fill("3")
    form.get_by_test_id("campaign-edit-starts").fill(local_time(0))  # a new campaign starts now or later
    form.get_by_test_id("campaign-edit-ends").fill("2027-01-31T23:59")
    page.get_by_test_id("campaign-edit-save").click()
    expect(page).to_have_url(f"{live_server}/console/campaigns?program={program}")
    expect(rows.filter(has_text="棉棉母婴周")).to_have_count(1)
    page.goto(f"{live_server}/console/campaigns")
    expect(rows).to_have_count(4)
    expect(rows.filter(has_text="棉棉母婴周")).to_contain_text("3%")
    page.screenshot(path=str(ARTIFACTS / "console-campaigns-wide.png"), full_page=True)
    page.get_by_test_id("lang-switch").click()
    expect(page.get_by_test_id("campaigns-title")).to_have_text("Campaigns")
    page.close()
