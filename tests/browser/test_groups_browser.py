"""Group targets and sales in a real browser: the console's compliance page with its charts and
group sales, the per-owner chart, the group leaderboard, and the owner's groups on a phone, where
today's count is recorded and each group's sales are shown."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, expect

from neigou.demo.seed import DemoWorld
from tests.browser.conftest import ARTIFACTS, member_sign_in, sign_in

pytestmark = pytest.mark.browser


def test_operator_reads_group_compliance_with_charts(
    browser: Browser, live_server: str, world: DemoWorld
) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    sign_in(page, live_server, world, "/console/groups")
    expect(page.get_by_role("heading", name="群目标")).to_be_visible()
    page.get_by_test_id("groups-program-card").filter(has_text="芬香合伙人计划").click()
    expect(page.get_by_test_id("groups-title")).to_contain_text("芬香合伙人计划")
    expect(page.get_by_test_id("required")).to_have_text("250")
    expect(page.locator("#group-chart canvas")).to_have_count(1)
    expect(page.locator("#owner-chart canvas")).to_have_count(1)
    expect(page.get_by_test_id("at-risk")).to_contain_text("按当前速度")
    expect(page.get_by_test_id("groups-table")).to_have_count(0)  # each list has its own view
    page.screenshot(path=str(ARTIFACTS / "console-groups-zh.png"), full_page=True)
    # Every group, worst first, searchable in place.
    page.get_by_test_id("view-groups").click()
    table = page.get_by_test_id("groups-table")
    expect(table).to_contain_text("群")
    first_group = table.locator("tbody tr").first.locator("td").nth(1).locator("a").first.inner_text()
    page.evaluate("window.__kept = 1")
    page.get_by_test_id("list-q").fill(first_group)
    expect(page.get_by_test_id("list-total")).to_contain_text(first_group)
    expect(table.locator("tbody tr").first).to_contain_text(first_group)
    assert page.evaluate("window.__kept") == 1
    page.screenshot(path=str(ARTIFACTS / "console-groups-list-zh.png"), full_page=True)
    page.get_by_test_id("view-alerts").click()
    expect(page.get_by_test_id("review")).to_contain_text("人数增长异常")
    expect(page.get_by_test_id("alert-robot-signed")).to_have_text(
        re.compile("^(已设置|无)$")
    )  # never the secret
    page.screenshot(path=str(ARTIFACTS / "console-group-alerts-zh.png"), full_page=True)
    # Sales beside compliance: the demo's group links sold in the last 30 days.
    page.get_by_test_id("view-sales").click()
    sales = page.get_by_test_id("group-sales")
    expect(sales).to_contain_text("群销售 · 近 30 天")
    expect(sales.get_by_test_id("sales-total")).to_contain_text("¥")
    assert any(text != "0" for text in sales.get_by_test_id("sales-orders").all_inner_texts())
    page.screenshot(path=str(ARTIFACTS / "console-group-sales-zh.png"), full_page=True)
    # The per-owner chart: another owner's groups against the target curve, a few lines at most.
    page.get_by_test_id("view-owners").click()
    owners = page.get_by_test_id("owners").locator("tbody").get_by_role("link")
    second = owners.nth(1).inner_text()
    owners.nth(1).click()
    expect(page.locator("#owner-chart canvas")).to_have_count(1)
    expect(page.get_by_role("heading", name=f"群主的群 · {second}")).to_be_visible()
    lines = page.evaluate(
        "echarts.getInstanceByDom(document.getElementById('owner-chart')).getOption().series.length"
    )
    assert lines <= 7, "at most six groups and the target"
    page.locator("#owner-chart").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "console-owner-chart-zh.png"), full_page=False)
    page.get_by_test_id("view-sales").click()
    page.get_by_test_id("leaderboard-link").click()
    expect(page.get_by_test_id("leaderboard-title")).to_contain_text("群排行榜")
    expect(page.locator("#leaderboard-chart canvas")).to_have_count(1)
    ranks = page.get_by_test_id("leaderboard").get_by_test_id("rank")
    expect(ranks.first).to_have_text("1")
    assert ranks.count() == 30  # a page of the ranking
    page.screenshot(path=str(ARTIFACTS / "console-group-leaderboard-zh.png"), full_page=False)
    page.get_by_label("排名依据").select_option("orders")
    page.get_by_test_id("leaderboard-form").get_by_role("button", name="查看").click()
    expect(page.get_by_test_id("leaderboard")).to_contain_text("订单")
    expect(page.get_by_label("排名依据")).to_have_value("orders")
    page.get_by_test_id("lang-switch").click()
    expect(page.get_by_test_id("leaderboard-title")).to_contain_text("Group leaderboard")
    page.goto(f"{live_server}/console/programs/{world.partner_program_id}/groups")
    expect(page.get_by_test_id("at-risk")).to_contain_text("At this pace it reaches")
    page.close()


def test_owner_records_todays_count_on_a_phone(browser: Browser, live_server: str, world: DemoWorld) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    member_sign_in(page, live_server, world)
    page.goto(f"{live_server}/m/groups")
    expect(page.get_by_test_id("my-groups-title")).to_have_text("我的群")
    cards = page.get_by_test_id("my-group")
    expect(cards.first).to_be_visible()
    assert cards.count() == 5  # a page of groups; the owner has more
    page.get_by_test_id("pager-next").click()
    expect(page).to_have_url(f"{live_server}/m/groups?page=2")
    first = cards.first
    name = first.locator("h2").inner_text()
    grown = str(int(first.get_by_test_id("actual").inner_text()) + 3)
    first.get_by_test_id("count-input").fill(grown)
    first.get_by_role("button", name="保存").click()
    expect(page.get_by_test_id("saved")).to_have_text("已记录。")
    saved_card = page.get_by_test_id("my-group").filter(has=page.get_by_test_id("saved"))
    expect(saved_card.get_by_test_id("actual")).to_have_text(grown)
    expect(saved_card.locator("h2")).to_have_text(name)  # back on the page that holds the group
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, "the workspace must not scroll sideways on a phone"
    expect(page.get_by_test_id("group-sales").first).to_contain_text("订单")
    expect(page.get_by_test_id("my-group-commission")).to_contain_text("¥")
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(ARTIFACTS / "workspace-groups-phone.png"), full_page=False)
    context.close()
