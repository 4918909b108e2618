"""A page's unknown address or wrong method, an address with values the page cannot read, a domain's
refusal, and a form too large to send, are pages a person reads in their language in the real browser,
not problem+json shown as text."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from neigou.demo.seed import DemoWorld
from tests.browser.conftest import ARTIFACTS, sign_in

pytestmark = pytest.mark.browser


def test_an_unknown_page_is_a_page_in_the_readers_language(browser: Browser, live_server: str) -> None:
    page = browser.new_page()
    answer = page.goto(f"{live_server}/console/no-such-page")
    assert answer is not None
    assert answer.status == 404
    expect(page.get_by_test_id("http-error")).to_have_attribute("data-code", "not_found")
    expect(page.get_by_test_id("http-error-message")).to_have_text(
        "此地址没有页面。请检查地址，或返回后点击链接进入。"
    )
    expect(page).to_have_title("页面不存在 · neigou")
    page.goto(f"{live_server}/m/no-such-page?lang=en")
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    assert page.locator("html").get_attribute("lang") == "en"
    page.close()


def test_a_console_address_it_cannot_read_is_a_page_in_chinese_by_default(
    browser: Browser, live_server: str, world: DemoWorld
) -> None:
    page = browser.new_page(viewport={"width": 390, "height": 844})
    sign_in(page, live_server, world)
    answer = page.goto(f"{live_server}/console/orders?page=abc")
    assert answer is not None
    assert answer.status == 422
    assert answer.headers["content-type"].startswith("text/html")
    expect(page.get_by_test_id("http-error")).to_have_attribute("data-code", "validation_error")
    expect(page.get_by_test_id("http-error-message")).to_have_text(
        "此地址中有页面无法读取的值（page）。请检查地址，或返回后点击链接进入。"
    )
    expect(page).to_have_title("无法显示 · neigou")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    page.screenshot(path=str(ARTIFACTS / "page-error-unreadable-zh.png"), full_page=True)
    gone = page.goto(f"{live_server}/e/no-such-event")
    assert gone is not None
    assert gone.status == 404
    expect(page.get_by_test_id("http-error")).to_have_attribute("data-code", "event_not_found")
    expect(page.get_by_test_id("http-error-message")).to_have_text("该活动不存在。")
    page.screenshot(path=str(ARTIFACTS / "page-error-event-zh.png"), full_page=True)
    page.close()


def test_a_static_file_that_is_missing_stays_a_problem(browser: Browser, live_server: str) -> None:
    page = browser.new_page()
    answer = page.goto(f"{live_server}/static/no-such-file.css")
    assert answer is not None
    assert answer.status == 404
    assert answer.headers["content-type"] == "application/problem+json"
    page.close()
