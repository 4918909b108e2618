"""Sign in to the console and read the demo program; open the member workspace on a phone."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, expect

from neigou.demo.seed import DemoWorld
from tests.browser.conftest import ARTIFACTS, member_sign_in, submit_sign_in

pytestmark = pytest.mark.browser


def test_operator_reads_the_demo_program(browser: Browser, live_server: str, world: DemoWorld) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{live_server}/console")
    expect(page).to_have_url(f"{live_server}/console/login?next=/console")
    submit_sign_in(page, world)
    expect(page.get_by_role("heading", name="分销计划")).to_be_visible()
    page.get_by_test_id("program-card").filter(has_text="芬香合伙人计划").click()
    expect(page.get_by_test_id("program-name")).to_have_text("芬香合伙人计划 Partner program")
    # 63 founders, owners and members, plus this month's 6 recruits (demo.network).
    expect(page.get_by_test_id("member-total")).to_have_text("69")
    expect(page.get_by_test_id("tiers")).to_contain_text("导师")
    expect(page.get_by_test_id("tiers")).to_contain_text("30%")
    expect(page.locator("#tier-chart canvas")).to_have_count(1)
    expect(page.get_by_test_id("invite-tree")).to_contain_text("超级会员")
    expect(page.get_by_test_id("invite-tree")).not_to_contain_text("super_member")
    page.screenshot(path=str(ARTIFACTS / "console-program-zh.png"), full_page=False)
    page.get_by_test_id("lang-switch").click()
    expect(page.get_by_role("heading", name="Tiers")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "console-program-en.png"), full_page=False)
    page.close()


def test_member_workspace_on_a_phone(browser: Browser, live_server: str, world: DemoWorld) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    member_sign_in(page, live_server, world)
    expect(page).to_have_url(f"{live_server}/m/")
    expect(page.get_by_test_id("member-tier")).to_have_text("超级会员")
    expect(page.get_by_test_id("member-name")).not_to_contain_text("·")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, "the workspace must not scroll sideways on a phone"
    page.screenshot(path=str(ARTIFACTS / "workspace-phone.png"), full_page=True)
    context.close()


@pytest.mark.parametrize(("width", "height"), [(1440, 900), (390, 844)])
def test_operator_creates_a_program_with_its_ladder(
    browser: Browser, live_server: str, world: DemoWorld, width: int, height: int
) -> None:
    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(f"{live_server}/console/login")
    submit_sign_in(page, world)
    expect(page.get_by_test_id("dashboard")).to_be_visible()
    expect(page.get_by_test_id("trend-chart").locator("canvas")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / f"console-home-{width}.png"), full_page=True)
    page.get_by_test_id("new-program").click()
    page.get_by_test_id("program-code").fill(f"spring-{width}")
    page.get_by_test_id("program-name-input").fill("春季内购会")
    page.get_by_test_id("tier-share-0").fill("abc")
    page.get_by_test_id("program-submit").click()
    expect(page.get_by_test_id("error-tier_0")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / f"console-new-program-error-{width}.png"), full_page=True)
    page.get_by_test_id("tier-share-0").fill("20")
    page.get_by_test_id("program-submit").click()
    expect(page.get_by_test_id("program-name")).to_have_text("春季内购会")
    expect(page.get_by_test_id("no-tiers")).to_have_count(0)
    wide = page.evaluate(
        "[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > window.innerWidth + 1"
        " && !e.closest('.scroll')).map(e => e.tagName + '.' + e.className + '#' + (e.dataset.testid || '')).slice(0, 5)"
    )
    assert not wide, f"the console must not scroll sideways: {wide}"
    page.close()


@pytest.mark.parametrize(("width", "height"), [(1440, 900), (390, 844)])
def test_operator_searches_sorts_and_pages_the_audit_log(
    browser: Browser, live_server: str, world: DemoWorld, width: int, height: int
) -> None:
    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(f"{live_server}/console/login?next=/console/audit")
    submit_sign_in(page, world)
    expect(page.get_by_test_id("audit")).to_be_visible()
    total = page.get_by_test_id("list-total").inner_text()
    assert total.startswith("共 ")
    # typing filters the list in place (htmx swaps #list; the address follows)
    page.evaluate("window.__kept = 1")
    page.get_by_test_id("list-q").fill("no-such-entry-anywhere")
    expect(page.get_by_test_id("list-total")).to_contain_text("no-such-entry-anywhere")
    expect(page.get_by_test_id("audit-row")).to_have_count(0)
    expect(page).to_have_url(f"{live_server}/console/audit?q=no-such-entry-anywhere")
    assert page.evaluate("window.__kept") == 1, "the search must not reload the page"
    page.get_by_test_id("list-q").fill("")
    expect(page.get_by_test_id("list-total")).to_have_text(total)
    page.get_by_test_id("sort-at").click()
    expect(page.locator('th[aria-sort="ascending"]')).to_have_count(1)
    assert page.evaluate("window.__kept") == 1
    width_used = page.evaluate("document.documentElement.scrollWidth")
    assert width_used <= width, "the audit log must fit the window"
    page.screenshot(path=str(ARTIFACTS / f"console-audit-{width}.png"), full_page=True)
    page.close()


@pytest.mark.parametrize(("width", "height"), [(1440, 900), (390, 844)])
def test_operator_adds_a_console_user_and_issues_a_token(
    browser: Browser, live_server: str, world: DemoWorld, width: int, height: int
) -> None:
    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(f"{live_server}/console/login?next=/console/access")
    submit_sign_in(page, world)
    page.get_by_test_id("user-username").fill(f"li-{width}")
    page.get_by_test_id("user-password").fill("short")
    page.get_by_test_id("user-submit").click()
    # the browser refuses a short password before the server does
    expect(page.get_by_test_id("done")).to_have_count(0)
    page.get_by_test_id("user-password").fill("long-enough-1")
    page.get_by_test_id("user-submit").click()
    expect(page.get_by_test_id("done")).to_contain_text("后台账号已创建")
    expect(page.get_by_test_id("users")).to_contain_text(f"li-{width}")
    page.get_by_test_id("token-role").select_option("integration")
    page.get_by_test_id("token-label").fill("商城订单推送")
    page.get_by_test_id("token-submit").click()
    secret = page.get_by_test_id("token-secret")
    expect(secret).to_have_value(re.compile(r"^ngt_"))
    expect(page.get_by_test_id("tokens")).to_contain_text("商城订单推送")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.screenshot(path=str(ARTIFACTS / f"console-access-{width}.png"), full_page=True)
    page.reload()  # the page it was shown on: no second token, the secret shown no more
    expect(page.get_by_test_id("token-issued")).to_have_count(0)
    expect(page.get_by_test_id("secret-gone")).to_be_visible()
    expect(page.get_by_test_id("tokens").get_by_text("商城订单推送")).to_have_count(1)
    page.goto(f"{live_server}/console/access")
    expect(page.get_by_test_id("token-issued")).to_have_count(0)  # shown once
    page.close()


@pytest.mark.parametrize(("width", "height"), [(1440, 900), (390, 844)])
def test_operator_sets_withdrawal_terms_and_adds_an_integration(
    browser: Browser, live_server: str, world: DemoWorld, width: int, height: int
) -> None:
    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(f"{live_server}/console/login?next=/console/programs/{world.partner_program_id}")
    submit_sign_in(page, world)
    page.get_by_test_id("program-settings").click()
    page.get_by_test_id("payout-min").fill("1.234")
    page.get_by_test_id("payout-submit").click()
    expect(page.get_by_test_id("error-min_withdrawal")).to_be_visible()
    page.get_by_test_id("payout-min").fill("20")
    page.get_by_test_id("payout-rate").fill("0.6")
    page.get_by_test_id("payout-submit").click()
    expect(page.get_by_test_id("done")).to_be_visible()
    expect(page.get_by_test_id("payout-now")).to_contain_text("¥20.00")
    page.get_by_test_id("integration-name").fill(f"澜泉商城 {width}")
    page.get_by_test_id("integration-submit").click()
    expect(page.get_by_test_id("inbound-secret")).not_to_have_value("")
    expect(page.get_by_test_id("integrations")).to_contain_text(f"澜泉商城 {width}")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.screenshot(path=str(ARTIFACTS / f"console-settings-{width}.png"), full_page=True)
    page.close()


@pytest.mark.parametrize(("width", "height"), [(1440, 900), (390, 844)])
def test_operator_adds_a_member_and_finds_them(
    browser: Browser, live_server: str, world: DemoWorld, width: int, height: int
) -> None:
    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(f"{live_server}/console/login?next=/console/programs/{world.partner_program_id}")
    submit_sign_in(page, world)
    page.get_by_test_id("new-member").click()
    page.get_by_test_id("member-name").fill(f"新会员{width}")
    page.get_by_test_id("member-inviter").fill("abc")
    page.get_by_test_id("member-submit").click()
    expect(page.get_by_test_id("error-inviter_id")).to_be_visible()
    page.get_by_test_id("member-inviter").fill(str(world.sample_member_id))
    page.get_by_test_id("member-submit").click()
    expect(page.get_by_test_id("member-title")).to_have_text(f"新会员{width}")
    expect(page.get_by_test_id("invite-url")).to_have_value(re.compile(r"/j/"))
    page.screenshot(path=str(ARTIFACTS / f"console-member-{width}.png"), full_page=True)
    page.goto(f"{live_server}/console/programs/{world.partner_program_id}")
    page.get_by_test_id("list-q").fill(f"新会员{width}")
    expect(page.get_by_test_id("member-row")).to_have_count(1)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.close()
