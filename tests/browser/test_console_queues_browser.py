"""The console's queues, thresholds and language in a real browser: the home page counts each queue
and links to it; risk thresholds read in yuan and percent and are changed in yuan with the error in
place; switching a share link off reloads the whole page (counts follow) in the reader's language."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, expect

from neigou.demo.seed import DemoWorld
from tests.browser.conftest import ARTIFACTS, sign_in

pytestmark = pytest.mark.browser


def test_home_queues_link_to_their_queues(browser: Browser, live_server: str, world: DemoWorld) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    sign_in(page, live_server, world)
    page.goto(f"{live_server}/console?program={world.partner_program_id}")
    for queue in ("queue-reviews", "queue-held", "queue-approve", "queue-pay", "queue-risk"):
        expect(page.get_by_test_id(queue)).to_have_text(re.compile(r"^\d+"))
    page.screenshot(path=str(ARTIFACTS / "console-home-queues-zh.png"), full_page=False)
    page.get_by_test_id("queue-reviews-link").click()
    expect(page.get_by_test_id("review-tab-pending")).to_contain_text("(")
    page.go_back()
    page.get_by_test_id("queue-risk-link").click()
    expect(page.get_by_test_id("risk-title")).to_have_text("风控审核")


def test_thresholds_in_yuan_and_percent(browser: Browser, live_server: str, world: DemoWorld) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    sign_in(page, live_server, world, f"/console/risk?program_id={world.partner_program_id}")
    expect(page.get_by_test_id("risk-threshold-brushing_max_paid_fen")).to_have_text("¥5.00")
    expect(page.get_by_test_id("risk-threshold-refund_abuse_min_rate_bp")).to_have_text("20%")
    expect(page.get_by_test_id("risk-thresholds")).to_contain_text("刷单：单笔实付上限")
    page.get_by_test_id("thresholds-edit").click()
    field = page.get_by_test_id("threshold-brushing_max_paid_fen")
    expect(field).to_have_value("5")
    field.fill("五元")
    page.get_by_test_id("threshold-refund_abuse_min_rate_bp").fill("15")
    page.get_by_test_id("thresholds-save").click()
    expect(page.get_by_test_id("error-brushing_max_paid_fen")).to_be_visible()
    expect(page.get_by_test_id("threshold-brushing_max_paid_fen")).to_have_value("五元")
    expect(page.get_by_test_id("threshold-refund_abuse_min_rate_bp")).to_have_value("15")
    page.screenshot(path=str(ARTIFACTS / "console-risk-thresholds-error-zh.png"), full_page=True)
    page.get_by_test_id("threshold-brushing_max_paid_fen").fill("8.8")
    page.get_by_test_id("thresholds-save").click()
    expect(page.get_by_test_id("thresholds-saved")).to_be_visible()
    page.get_by_role("link", name="‹ 风控审核").click()
    expect(page.get_by_test_id("risk-threshold-brushing_max_paid_fen")).to_have_text("¥8.80")
    expect(page.get_by_test_id("risk-threshold-refund_abuse_min_rate_bp")).to_have_text("15%")


def test_a_link_switched_off_reloads_the_page_in_the_readers_language(
    browser: Browser, live_server: str, world: DemoWorld
) -> None:
    page = browser.new_page(
        viewport={"width": 1280, "height": 900}, locale="en-US"
    )  # an English page, an English reader
    sign_in(page, live_server, world)
    page.goto(f"{live_server}/console/links?status=on&lang=en")
    expect(page.get_by_test_id("links-title")).to_have_text("Share links")
    total = page.get_by_test_id("list-total")
    before = int(re.sub(r"\D", "", total.inner_text()))
    sort_created = page.get_by_test_id("sort-created")
    shown = sort_created.inner_text()
    sort_created.click()  # a boosted list link keeps the language
    expect(sort_created).not_to_have_text(shown)  # the sorted list is in place before a row is used
    expect(page).to_have_url(re.compile(r"status=on.*lang=en|lang=en.*status=on"))
    expect(page.get_by_test_id("status-off")).to_have_attribute("href", re.compile(r"lang=en"))
    page.evaluate("window.__kept = 1")
    with page.expect_navigation():  # the form's answer loads the whole page (a slow machine: 30 s)
        page.get_by_test_id("link-row").first.get_by_role("button", name="Disable").click()
    expect(total).to_have_text(f"{before - 1} in all")
    assert page.evaluate("window.__kept") is None  # the whole page was loaded again
    expect(page.get_by_test_id("links-title")).to_have_text("Share links")
    page.get_by_test_id("nav-risk").click()  # the navigation keeps the language too
    expect(page.get_by_test_id("risk-title")).to_have_text("Risk review")
