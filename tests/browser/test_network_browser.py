"""The distribution network on phones: a member shares their recruiting link, a friend opens it on
another phone, joins and lands in their own workspace; the inviter's team page then shows the recruit,
and the leaderboard shows the inviter's own rank."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, ViewportSize, expect

from neigou.demo.seed import DemoWorld
from neigou.web import workspace_network
from tests.browser.conftest import ARTIFACTS, member_sign_in, sign_in

pytestmark = pytest.mark.browser
PHONE: ViewportSize = {"width": 390, "height": 844}
IPHONE_WECHAT = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Mobile/15E148 MicroMessenger/8.0.47"
)


def test_a_friend_joins_through_the_recruiting_link(
    browser: Browser, live_server: str, world: DemoWorld
) -> None:
    inviter = browser.new_context(viewport=PHONE, user_agent=IPHONE_WECHAT, device_scale_factor=2)
    page = inviter.new_page()
    member_sign_in(page, live_server, world)
    inviter_name = page.get_by_test_id("member-name").inner_text()
    expect(page.get_by_test_id("shortcuts")).to_be_visible()
    expect(page.get_by_test_id("bottom-nav")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "network-home-zh.png"), full_page=True)
    page.get_by_test_id("recruit-link").click()
    expect(page.get_by_test_id("recruit-title")).to_have_text("邀请伙伴")
    url = page.get_by_test_id("recruit-url").input_value()
    assert url.startswith(f"{live_server}/j/")
    page.wait_for_function(
        "document.querySelector('[data-testid=recruit-poster-preview]').naturalWidth === 750"
    )
    page.screenshot(path=str(ARTIFACTS / "network-recruit-zh.png"), full_page=True)

    friend = browser.new_context(viewport=PHONE, user_agent=IPHONE_WECHAT, device_scale_factor=2)
    phone = friend.new_page()
    phone.goto(url)
    expect(phone.get_by_test_id("join-inviter")).to_have_text(f"{inviter_name} 邀请你加入")
    phone.screenshot(path=str(ARTIFACTS / "network-join-zh.png"), full_page=True)
    phone.get_by_test_id("join-name").fill("新人小林")
    phone.get_by_test_id("join-phone").fill("1370000")
    phone.get_by_test_id("join-submit").click()
    expect(phone.get_by_test_id("join-error")).to_have_text("请填写 11 位手机号。")
    phone.screenshot(path=str(ARTIFACTS / "network-join-error-zh.png"), full_page=True)
    phone.get_by_test_id("join-phone").fill("13700001234")
    phone.get_by_test_id("join-submit").click()
    expect(phone.get_by_test_id("joined")).to_contain_text("欢迎你，新人小林")
    phone.screenshot(path=str(ARTIFACTS / "network-joined-zh.png"), full_page=True)
    phone.get_by_test_id("open-workspace").click()
    phone.get_by_test_id("sign-in").click()  # the sign-in link asks first
    expect(phone.get_by_test_id("member-name")).to_have_text("新人小林")
    expect(phone.get_by_text(f"我的邀请人: {inviter_name}")).to_be_visible()
    phone.screenshot(path=str(ARTIFACTS / "network-new-member-home-zh.png"), full_page=True)

    page.get_by_test_id("nav-team").click()
    recruit = page.get_by_test_id("team-member").filter(has_text="新人小林")
    expect(recruit).to_have_count(1)
    expect(recruit).to_have_attribute("data-level", "1")
    expect(page.get_by_test_id("team-member").first).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "network-team-zh.png"), full_page=True)

    page.get_by_test_id("nav-leaderboard").click()
    page.get_by_test_id("metric-recruits").click()
    expect(page.get_by_test_id("my-rank-value")).to_contain_text("第 ")
    page.screenshot(path=str(ARTIFACTS / "network-leaderboard-zh.png"), full_page=True)
    page.get_by_test_id("lang-switch").click()
    expect(page.get_by_test_id("network-leaderboard-title")).to_contain_text("Leaderboard")
    page.screenshot(path=str(ARTIFACTS / "network-leaderboard-en.png"), full_page=True)

    stranger = friend.new_page()
    stranger.goto(url[:-2] + ("xx" if not url.endswith("xx") else "yy"))
    expect(stranger.get_by_test_id("join-invalid")).to_contain_text("邀请链接无效")
    stranger.screenshot(path=str(ARTIFACTS / "network-join-invalid-zh.png"), full_page=True)
    inviter.close()
    friend.close()


def test_operator_reads_the_leaderboards(browser: Browser, live_server: str, world: DemoWorld) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    sign_in(page, live_server, world, f"/console/programs/{world.partner_program_id}")
    page.get_by_test_id("program-network-leaderboard-link").click()
    expect(page.get_by_test_id("console-board")).to_have_count(3)
    recruits = page.get_by_test_id("console-board").filter(has_text="邀请人数")
    expect(recruits.get_by_test_id("console-board-row").first).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "network-console-leaderboard-zh.png"), full_page=True)


def test_a_large_team_pages_on_a_phone(
    browser: Browser, live_server: str, world: DemoWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(workspace_network, "TEAM_PAGE", 1)  # the server runs in this process
    context = browser.new_context(viewport=PHONE, user_agent=IPHONE_WECHAT, device_scale_factor=2)
    page = context.new_page()
    member_sign_in(page, live_server, world)
    page.goto(f"{live_server}/m/team")
    total = int(page.get_by_test_id("team-count").inner_text())
    assert total >= 2, "the demo member should have a team of several"
    expect(page.get_by_test_id("team-member")).to_have_count(1)
    expect(page.get_by_test_id("team-pager")).to_contain_text(f"页 1 / {total}")
    page.get_by_test_id("team-next").click()
    expect(page.get_by_test_id("team-pager")).to_contain_text(f"页 2 / {total}")
    expect(page.get_by_test_id("team-member")).to_have_count(1)
    expect(page.get_by_test_id("team-count")).to_have_text(str(total))
    page.screenshot(path=str(ARTIFACTS / "network-team-page-2-zh.png"), full_page=True)
    page.get_by_test_id("team-prev").click()
    expect(page.get_by_test_id("team-pager")).to_contain_text(f"页 1 / {total}")
    context.close()
