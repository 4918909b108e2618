"""Console create flows in Chromium at desktop and phone sizes: members (with their invite link),
console users, API tokens and integrations. Each form is reached from the console's navigation,
refuses one bad input in place (in Chinese, with what was typed kept), then saves; a token's or an
integration's secret is shown once, on the page the form redirects to (never in its URL), and never
again: reloading that page says so and creates nothing. Screenshots are kept as artifacts."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from neigou.demo.seed import DemoWorld
from tests.browser.conftest import ARTIFACTS, sign_in
from tests.browser.flows import SIZES, assert_fits, assert_refusal, open_page

pytestmark = pytest.mark.browser

PROGRAM = "芬香合伙人计划"


def open_program(page: Page) -> None:
    """From anywhere in the console: the programs in the navigation, then the partner program's card."""
    page.get_by_role("navigation").get_by_role("link", name="分销计划", exact=True).click()
    page.get_by_test_id("program-card").filter(has_text=PROGRAM).click()
    expect(page.get_by_test_id("program-name")).to_contain_text(PROGRAM)


def open_access(page: Page) -> None:
    """The access page from the navigation, loaded: rows counted before it arrives would be the last page's."""
    page.get_by_test_id("nav-access").click()
    expect(page).to_have_url(re.compile(r"/console/access$"))
    expect(page.get_by_test_id("token-form")).to_be_visible()


@pytest.mark.parametrize("size", SIZES)
def test_add_a_member_with_an_invite_link(
    browser: Browser, live_server: str, world: DemoWorld, size: str
) -> None:
    page = open_page(browser, size)
    sign_in(page, live_server, world)
    open_program(page)
    before = int(page.get_by_test_id("member-total").inner_text())
    page.get_by_test_id("new-member").click()
    name = f"周晓雯 {size}"
    page.get_by_test_id("member-name").fill(name)
    page.get_by_test_id("member-inviter").fill("王芳")
    page.get_by_test_id("member-submit").click()
    assert_refusal(page.get_by_test_id("error-inviter_id"))
    expect(page.get_by_test_id("member-name")).to_have_value(name)
    expect(page.get_by_test_id("member-inviter")).to_have_value("王芳")
    assert_fits(page)
    page.screenshot(path=str(ARTIFACTS / f"create-member-refused-{size}.png"), full_page=True)
    page.get_by_test_id("member-inviter").fill(str(world.sample_member_id))
    page.get_by_test_id("member-submit").click()
    expect(page.get_by_test_id("member-title")).to_have_text(name)
    expect(page.get_by_test_id("done")).to_be_visible()
    expect(page.get_by_test_id("member-inviter-name")).not_to_have_text("—")
    invite = page.get_by_test_id("invite-url")
    expect(invite).to_have_value(re.compile(r"^http://127\.0\.0\.1:\d+/j/\S+$"))
    invite_url = invite.input_value()
    assert_fits(page)
    page.screenshot(path=str(ARTIFACTS / f"create-member-{size}.png"), full_page=True)
    page.get_by_role("link", name=re.compile(rf"‹ {PROGRAM}")).click()
    expect(page.get_by_test_id("member-total")).to_have_text(str(before + 1))
    # The invite link opens the join page for a newcomer (not signed in).
    newcomer = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    joining = newcomer.new_page()
    response = joining.goto(invite_url)
    assert response is not None
    assert response.status == 200
    expect(joining.locator("body")).to_contain_text("周晓雯")  # who invites them
    newcomer.close()
    page.context.close()


@pytest.mark.parametrize("size", SIZES)
def test_add_a_console_user(browser: Browser, live_server: str, world: DemoWorld, size: str) -> None:
    page = open_page(browser, size)
    sign_in(page, live_server, world)
    open_access(page)
    rows = page.get_by_test_id("user-row")
    before = rows.count()
    assert before >= 1
    form = page.get_by_test_id("user-form")
    page.get_by_test_id("user-username").fill(world.username)  # taken: the demo operator's
    form.locator("input[name=display_name]").fill("李娜")
    page.get_by_test_id("user-password").fill("long-enough-1")
    page.get_by_test_id("user-submit").click()
    assert_refusal(page.locator("#users").get_by_test_id("form-errors"))
    expect(page.get_by_test_id("user-username")).to_have_value(world.username)
    expect(form.locator("input[name=display_name]")).to_have_value("李娜")
    expect(rows).to_have_count(before)
    assert_fits(page)
    page.screenshot(path=str(ARTIFACTS / f"create-user-refused-{size}.png"), full_page=True)
    page.get_by_test_id("user-username").fill(f"lina-{size}")
    page.get_by_test_id("user-password").fill("long-enough-1")
    page.get_by_test_id("user-submit").click()
    expect(page.get_by_test_id("done")).to_contain_text("后台账号已创建")
    expect(rows).to_have_count(before + 1)
    expect(rows.filter(has_text=f"lina-{size}")).to_contain_text("李娜")
    assert_fits(page)
    page.context.close()


@pytest.mark.parametrize("size", SIZES)
def test_issue_an_api_token_shown_once(
    browser: Browser, live_server: str, world: DemoWorld, size: str
) -> None:
    page = open_page(browser, size)
    sign_in(page, live_server, world)
    open_access(page)
    rows = page.get_by_test_id("token-row")
    before = rows.count()
    # every role offered can be issued here: a merchant's token names a shop this form does not ask for
    expect(page.get_by_test_id("token-role").locator("option[value=merchant]")).to_have_count(0)
    page.get_by_test_id("token-role").select_option("member")  # a member token without its member
    page.get_by_test_id("token-label").fill("小程序会员端")
    page.get_by_test_id("token-submit").click()
    assert_refusal(page.locator("#tokens").get_by_test_id("form-errors"))
    expect(page.get_by_test_id("token-label")).to_have_value("小程序会员端")
    expect(page.get_by_test_id("token-role")).to_have_value("member")
    expect(page.get_by_test_id("token-issued")).to_have_count(0)
    page.screenshot(path=str(ARTIFACTS / f"create-token-refused-{size}.png"), full_page=True)
    page.get_by_test_id("token-member").fill(str(world.sample_member_id))
    page.get_by_test_id("token-submit").click()
    secret = page.get_by_test_id("token-secret")
    expect(secret).to_have_value(re.compile(r"^ngt_\S{20,}$"))
    shown = secret.input_value()
    expect(page).to_have_url(re.compile(r"/console/access\?shown=[\w-]+$"))  # a GET, the secret not in it
    assert shown not in page.url
    expect(rows).to_have_count(before + 1)
    cells = rows.filter(has_text="小程序会员端").locator("td")
    expect(cells.nth(2)).to_have_text("推广会员")  # the role's name, never its code
    expect(cells.nth(3)).not_to_have_text(re.compile(r"^(—|#\d+)$"))  # the member's name
    assert_fits(page)
    page.screenshot(path=str(ARTIFACTS / f"create-token-{size}.png"), full_page=True)
    page.reload()  # the page that showed it: says it is gone, issues nothing
    expect(page.get_by_test_id("secret-gone")).to_be_visible()
    expect(page.get_by_test_id("token-issued")).to_have_count(0)
    expect(rows).to_have_count(before + 1)
    assert shown not in page.content()
    page.get_by_test_id("nav-access").click()  # the same page again: the secret is gone for good
    expect(rows).to_have_count(before + 1)
    expect(page.get_by_test_id("token-issued")).to_have_count(0)
    assert shown not in page.content()
    page.context.close()


@pytest.mark.parametrize("size", SIZES)
def test_add_an_integration_with_its_secrets_shown_once(
    browser: Browser, live_server: str, world: DemoWorld, size: str
) -> None:
    page = open_page(browser, size)
    sign_in(page, live_server, world)
    open_program(page)
    page.get_by_test_id("program-settings").click()
    rows = page.get_by_test_id("integration-row")
    expect(page.get_by_test_id("integrations")).to_be_visible()
    before = rows.count()
    name = f"澜泉微商城 {size}"
    page.get_by_test_id("integration-name").fill(name)
    page.get_by_test_id("integration-url").fill("ftp://shop.example/events")
    page.get_by_test_id("integration-submit").click()
    assert_refusal(page.get_by_test_id("error-outbound_url"))
    expect(page.get_by_test_id("integration-name")).to_have_value(name)
    expect(page.get_by_test_id("integration-url")).to_have_value("ftp://shop.example/events")
    expect(page.get_by_test_id("integration-created")).to_have_count(0)
    page.screenshot(path=str(ARTIFACTS / f"create-integration-refused-{size}.png"), full_page=True)
    page.get_by_test_id("integration-url").fill("https://shop.example/neigou/events")
    page.get_by_test_id("integration-submit").click()
    inbound, outbound = page.get_by_test_id("inbound-secret"), page.get_by_test_id("outbound-secret")
    expect(inbound).to_have_value(re.compile(r"^\S{20,}$"))
    expect(outbound).to_have_value(re.compile(r"^\S{20,}$"))
    secrets = [inbound.input_value(), outbound.input_value()]
    assert secrets[0] != secrets[1]
    expect(page).to_have_url(re.compile(r"/settings\?shown=[\w-]+$"))
    assert all(secret not in page.url for secret in secrets)
    expect(rows).to_have_count(before + 1)
    expect(page.locator("#integrations h2")).to_have_text(re.compile(rf"^商城对接\s+{before + 1}$"))
    expect(rows.filter(has_text=name)).to_contain_text("https://shop.example/neigou/events")
    assert_fits(page)
    page.screenshot(path=str(ARTIFACTS / f"create-integration-{size}.png"), full_page=True)
    page.reload()  # registers nothing, shows the secrets no more
    expect(page.get_by_test_id("secrets-gone")).to_be_visible()
    expect(page.get_by_test_id("integration-created")).to_have_count(0)
    expect(rows).to_have_count(before + 1)
    assert all(secret not in page.content() for secret in secrets)
    page.get_by_role("link", name=re.compile(rf"‹ {PROGRAM}")).click()
    page.get_by_test_id("program-settings").click()
    expect(rows).to_have_count(before + 1)
    expect(page.get_by_test_id("integration-created")).to_have_count(0)
    html = page.content()
    assert all(secret not in html for secret in secrets)
    page.context.close()


def test_reloading_after_issuing_a_token_issues_no_other(
    browser: Browser, live_server: str, world: DemoWorld
) -> None:
    page = open_page(browser, "desktop")
    sign_in(page, live_server, world)
    open_access(page)
    rows = page.get_by_test_id("token-row")
    before = rows.count()
    page.get_by_test_id("token-role").select_option("operator")
    page.get_by_test_id("token-label").fill("对账脚本")
    page.get_by_test_id("token-submit").click()
    expect(page.get_by_test_id("token-secret")).to_have_value(re.compile(r"^ngt_"))
    shown = page.get_by_test_id("token-secret").input_value()
    for _ in range(2):
        page.reload()
        expect(page.get_by_test_id("secret-gone")).to_be_visible()
        expect(rows).to_have_count(before + 1)
        expect(rows.filter(has_text="对账脚本")).to_have_count(1)
        assert shown not in page.content()
    page.go_back()  # back to the form's page: nothing posted again
    page.goto(f"{live_server}/console/access")
    expect(rows).to_have_count(before + 1)
    page.context.close()
