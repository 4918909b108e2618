"""Every workspace page on a phone (390×844), for the group owner and for the salesperson: one bottom
navigation, the same on every page, with the current item marked; no raw codes, fen, basis points,
UTC times or English words in the zh-CN pages; nothing wider than the screen."""

from __future__ import annotations

import itertools
import re

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect

from neigou.demo.seed import DemoWorld
from tests.browser.conftest import ARTIFACTS, member_sign_in

pytestmark = pytest.mark.browser
PHONE: ViewportSize = {"width": 390, "height": 844}

# Each page and the bottom navigation's item that is marked on it.
OWNER_PAGES = {
    "/m/": "bn-home",
    "/m/links": "bn-links",
    "/m/groups": "bn-groups",
    "/m/earnings": "bn-earnings",
    "/m/me": "bn-me",
    "/m/team": "bn-me",
    "/m/leaderboard": "bn-me",
    "/m/tier": "bn-me",
    "/m/recruit": "bn-me",
    "/m/analytics": "bn-me",
    "/m/feed": "bn-home",
    "/m/posts": "bn-home",
    "/m/live-codes": "bn-groups",
    "/m/pushes": "bn-home",
    "/m/events": "bn-home",
}
SALESPERSON_PAGES = {
    "/m/": "bn-home",
    "/m/customers": "bn-customers",
    "/m/customers/today": "bn-customers",
    "/m/customers/new": "bn-customers",
    "/m/pushes": "bn-customers",
    "/m/pushes/new": "bn-customers",
    "/m/events": "bn-home",
    "/m/earnings": "bn-earnings",
    "/m/me": "bn-me",
}
OWNER_NAV = ["bn-home", "bn-links", "bn-groups", "bn-earnings", "bn-me"]
SALESPERSON_NAV = ["bn-home", "bn-links", "bn-customers", "bn-groups", "bn-earnings", "bn-me"]

# What must never reach a member's eyes: enum codes, amounts in fen or basis points, UTC or ISO times,
# and English words (the brand names the shop sells under are Latin too, so only whole English words
# of the interface are looked for).
RAW = [
    re.compile(r"(?<!\{)\b[a-z]+_[a-z_]+\b(?!\})"),  # codes (super_member, no_consent), not {placeholders}
    re.compile(r"\bfen\b|\bbp\b|基点|分\)"),
    re.compile(r"\bUTC\b|\+00:00|\d{4}-\d{2}-\d{2}T\d{2}:"),
    re.compile(
        r"\b(?:Home|Links|Groups|Earnings|Me|Pending|Frozen|Available|Withdrawn|Earned|Clawback|Order|"
        r"Orders|Today|Tasks|None|True|False|null|undefined|Customers|Pushes|Events|Team)\b"
    ),
]


def _visible_text(page: Page) -> str:
    return str(page.evaluate("document.body.innerText"))


def _walk(page: Page, live_server: str, pages: dict[str, str], nav: list[str], who: str) -> list[str]:
    problems = []
    for path, current in pages.items():
        response = page.goto(f"{live_server}{path}")
        assert response is not None
        assert response.status == 200, path
        bars = page.get_by_test_id("bottom-nav")
        if bars.count() != 1:
            problems.append(f"{path}: {bars.count()} bottom navigations")
            continue
        items = bars.locator("a")
        ids = [str(items.nth(i).get_attribute("data-testid")) for i in range(items.count())]
        if ids != nav:
            problems.append(f"{path}: navigation {ids}")
        marked = bars.locator("[aria-current=page]")
        marked_ids = [str(marked.nth(i).get_attribute("data-testid")) for i in range(marked.count())]
        if marked_ids != [current]:
            problems.append(f"{path}: marked {marked_ids}, expected {current}")
        if page.evaluate("document.documentElement.scrollWidth") > PHONE["width"]:
            problems.append(f"{path}: wider than the screen")
        text = _visible_text(page)
        for pattern in RAW:
            found = sorted(set(pattern.findall(text)))
            if found:
                problems.append(f"{path}: raw text {found[:5]}")
        page.screenshot(path=str(ARTIFACTS / f"walk-{who}{path.replace('/', '_')}.png"), full_page=True)
    return problems


def test_every_owner_page_has_the_one_navigation_and_no_raw_codes(
    browser: Browser, live_server: str, world: DemoWorld
) -> None:
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="zh-CN")
    page = context.new_page()
    member_sign_in(page, live_server, world)
    problems = _walk(page, live_server, OWNER_PAGES, OWNER_NAV, "owner")
    assert not problems, "\n".join(problems)
    page.goto(f"{live_server}/m/")
    expect(page.get_by_test_id("home-pick")).to_have_count(3)  # the feed's best, as /m/feed lists them
    page.goto(f"{live_server}/m/feed")
    best = [page.get_by_test_id("feed-item").nth(i).get_attribute("data-sku") for i in range(3)]
    page.goto(f"{live_server}/m/")
    assert [page.get_by_test_id("home-pick").nth(i).get_attribute("data-sku") for i in range(3)] == best
    context.close()


def test_every_salesperson_page_has_the_one_navigation_and_no_raw_codes(
    browser: Browser, live_server: str, world: DemoWorld
) -> None:
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="zh-CN")
    page = context.new_page()
    page.goto(f"{live_server}/m/login?code={world.salesperson_sign_in_code}")
    page.get_by_test_id("sign-in").click()  # the link asks first
    page.wait_for_url(f"{live_server}/m/")
    problems = _walk(page, live_server, SALESPERSON_PAGES, SALESPERSON_NAV, "guide")
    assert not problems, "\n".join(problems)
    page.goto(f"{live_server}/m/")  # the customer book's tasks are on the home too
    expect(page.get_by_test_id("tasks")).to_contain_text("位顾客本周过生日")
    expect(page.get_by_test_id("tasks")).to_contain_text("天没有下单")
    context.close()


# Per element: its text's line boxes, its text's left and right, its own left and right, and whether its
# content is wider than the element.
_BOXES = """sel => [...document.querySelectorAll(sel)].map(e => {
  const range = document.createRange(); range.selectNodeContents(e);
  const text = range.getBoundingClientRect(), box = e.getBoundingClientRect();
  return {text: e.textContent.trim(), lines: range.getClientRects().length, left: text.left, right: text.right,
          boxLeft: box.left, boxRight: box.right, overflows: e.scrollWidth > e.clientWidth}; })"""


def test_english_labels_and_amounts_fit_on_a_phone(
    browser: Browser, live_server: str, world: DemoWorld
) -> None:
    """The salesperson's six English navigation labels each sit whole inside its item, apart from the
    next; a share link's GMV stays on one line in its tile."""
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="en-US")
    page = context.new_page()
    page.goto(f"{live_server}/m/login?code={world.salesperson_sign_in_code}")
    page.get_by_test_id("sign-in").click()  # the link asks first
    page.wait_for_url(f"{live_server}/m/")
    page.goto(f"{live_server}/m/customers?lang=en")
    items = page.evaluate(_BOXES, ".bottom-nav a")
    assert [i["text"] for i in items] == ["Home", "Links", "Customers", "Groups", "Earnings", "Me"]
    for item in items:
        assert not item["overflows"], item
        assert item["lines"] == 1, item
        assert item["boxLeft"] <= item["left"], item
        assert item["right"] <= item["boxRight"] <= PHONE["width"], item
    gaps = [after["left"] - before["right"] for before, after in itertools.pairwise(items)]
    assert min(gaps) >= 6, gaps
    page.screenshot(path=str(ARTIFACTS / "walk-guide-nav-en.png"))

    owner = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="en-US").new_page()
    member_sign_in(owner, live_server, world)
    for lang in ("en", "zh-CN"):
        owner.goto(f"{live_server}/m/links?lang={lang}")
        amounts = owner.evaluate(_BOXES, "[data-testid=link-gmv]")
        assert amounts, "the demo member's links sold"
        assert any(len(a["text"]) >= len("¥1,000.00") for a in amounts), amounts  # wide enough to test
        for amount in amounts:
            assert amount["lines"] == 1, amount
            assert not amount["overflows"], amount
    owner.screenshot(path=str(ARTIFACTS / "walk-owner-links-gmv.png"), full_page=True)
    owner.context.close()
    context.close()


def test_the_me_page_signs_the_member_out(browser: Browser, live_server: str, world: DemoWorld) -> None:
    """The "me" page's button ends the session: the signed-out page, then the expired page for every
    workspace page, even with a copy of the old cookie put back."""
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="zh-CN")
    page = context.new_page()
    member_sign_in(page, live_server, world)
    page.goto(f"{live_server}/m/me")
    old = [c["value"] for c in context.cookies() if c["name"] == "neigou_session"]
    assert len(old) == 1
    page.get_by_test_id("sign-out").click()
    page.wait_for_url(f"{live_server}/m/signed-out")
    expect(page.get_by_test_id("signed-out")).to_contain_text("已退出登录")
    assert not [c for c in context.cookies() if c["name"] == "neigou_session"]
    page.screenshot(path=str(ARTIFACTS / "walk-owner-signed-out.png"), full_page=True)
    # A copy of the cookie, kept from before.
    context.add_cookies([{"name": "neigou_session", "value": old[0], "url": live_server}])
    for path in ("/m/", "/m/me"):
        page.goto(f"{live_server}{path}")
        expect(page).to_have_url(f"{live_server}/m/expired")
    context.close()
