"""Steps shared by the console's create-flow browser tests: a page at a named size, a list's total,
and the checks every refused form and every page make."""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

from playwright.sync_api import Browser, Locator, Page, expect

from neigou.kit.clock import utcnow

DEMO_ZONE = ZoneInfo("Asia/Shanghai")

SIZES = {"desktop": (1440, 900), "phone": (390, 844)}
CHINESE = re.compile(r"[\u4e00-\u9fff]")
RAW_CODE = re.compile(r"\b[a-z]+_[a-z_]+\b")  # e.g. invalid_amount, never shown to a reader


def open_page(browser: Browser, size: str) -> Page:
    """A page of its own browser context (close with ``page.context.close()``), as a Chinese reader's
    browser at this size: a phone is a mobile one."""
    width, height = SIZES[size]
    context = browser.new_context(
        viewport={"width": width, "height": height}, is_mobile=size == "phone", locale="zh-CN"
    )
    return context.new_page()


def total(page: Page) -> int:
    """The list's total ("共 12 条"), read once the list is shown."""
    line = page.get_by_test_id("list-total")
    expect(line).to_have_text(re.compile(r"^共 \d+ 条$"))
    return int(re.findall(r"\d+", line.inner_text())[0])


def local_time(days: int) -> str:
    """A datetime-local value ``days`` from now in the demo programs' zone (Asia/Shanghai), to the
    minute: ``local_time(0)`` is a start a form takes as now (a campaign may not start in the past)."""
    return (utcnow() + timedelta(days=days)).astimezone(DEMO_ZONE).strftime("%Y-%m-%dT%H:%M")


def assert_refusal(error: Locator) -> None:
    """A refusal reads in Chinese, never as a raw code."""
    expect(error).to_be_visible()
    expect(error).to_be_in_viewport()  # the page that answers shows it without scrolling
    text = error.inner_text()
    assert CHINESE.search(text), text
    assert not RAW_CODE.search(text), text


def assert_fits(page: Page) -> None:
    """Nothing but a scrolling table sticks out of the window."""
    wide = page.evaluate(
        "[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > window.innerWidth + 1"
        " && !e.closest('.scroll')).map(e => e.tagName + '.' + e.className).slice(0, 5)"
    )
    assert not wide, f"the console must not scroll sideways: {wide}"
