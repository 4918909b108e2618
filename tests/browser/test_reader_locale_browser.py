"""The browser reads like the page's reader (``tests.browser.conftest``): a context opened without a
locale is a Chinese reader's, and a date input is written in the page's ``<html lang>``: yyyy/mm/dd on
a Chinese page (zh-CN), mm/dd/yyyy on an English one (en, read in an en-US context). A form sent from
a page asked in English answers with an English page, with no language cookie."""

from __future__ import annotations

from io import BytesIO

import pytest
from PIL import Image, ImageChops
from playwright.sync_api import Browser, Page, expect

from neigou.demo.seed import DemoWorld
from tests.browser.conftest import ARTIFACTS, member_sign_in, sign_in

pytestmark = pytest.mark.browser
# How the reader's browser writes 5 December 2026.
A_DATE = "new Intl.DateTimeFormat(undefined, {year: 'numeric', month: '2-digit', day: '2-digit'})"
A_DATE += ".format(new Date(2026, 11, 5))"
# The date input set to 5 December 2026, or put back by a copy made off the page: Chromium writes an
# input in the language it had when it was made, and one made off the page has none but its own (en-US).
SET = """(field, copied) => {
  const shown = copied ? field.cloneNode() : field;
  shown.value = "2026-12-05";
  if (copied) field.replaceWith(shown);
}"""


def _date_input(page: Page, name: str, *, copied: bool = False) -> bytes:
    """The page's date input on 5 December 2026 as shown (``copied``: as Chromium's own language has it)."""
    field = page.locator("input[type=date]")
    expect(field).to_have_count(1)
    field.evaluate(SET, copied)
    return field.screenshot(path=str(ARTIFACTS / f"date-input-{name}.png"))


def _pixels_apart(one: bytes, other: bytes) -> int:
    """How many pixels of two screenshots of one place differ visibly (not by antialiasing's noise)."""
    apart = ImageChops.difference(*(Image.open(BytesIO(shot)).convert("L") for shot in (one, other)))
    return sum(apart.point(lambda level: 255 if level > 64 else 0).histogram()[255:])


def test_a_date_input_is_written_in_the_pages_language(
    browser: Browser, live_server: str, world: DemoWorld
) -> None:
    groups = f"/console/programs/{world.partner_program_id}/groups"
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    sign_in(page, live_server, world, groups)
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert (page.evaluate("navigator.language"), page.evaluate(A_DATE)) == ("zh-CN", "2026/12/05")
    chinese = _date_input(page, "zh")
    # The same day in Chromium's own language, in the same place, looks otherwise (yyyy/mm/dd is not
    # mm/dd/yyyy); headless Chromium would otherwise write the page's as 12/05/2026 too.
    assert _pixels_apart(_date_input(page, "chromium", copied=True), chinese) > 20
    page.context.close()

    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    page = context.new_page()
    sign_in(page, live_server, world, f"{groups}?lang=en")
    assert page.locator("html").get_attribute("lang") == "en"
    assert (page.evaluate("navigator.language"), page.evaluate(A_DATE)) == ("en-US", "12/05/2026")
    _date_input(page, "en")
    context.close()


def test_a_form_sent_from_an_english_page_leads_to_an_english_page(
    browser: Browser, live_server: str, world: DemoWorld
) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, locale="en-US")
    page = context.new_page()
    member_sign_in(page, live_server, world)
    page.goto(f"{live_server}/m/links?lang=en")
    form = page.get_by_test_id("new-link")
    expect(form.get_by_role("option", name="【Hidden】", exact=False).first).to_be_attached()
    form.get_by_role("button", name="Make link").click()
    expect(page.get_by_test_id("link-created")).to_be_visible()
    assert "lang=en" in page.url
    assert page.locator("html").get_attribute("lang") == "en"
    assert not [c for c in context.cookies() if c["name"] == "neigou_lang"]
    page.screenshot(path=str(ARTIFACTS / "m-links-made-en.png"))
    context.close()
