"""Tiers in a real browser: the ladder editor refuses a ladder paying more than the pool (the error
beside the tier) and saves the fixed one; the evaluation page shows last month's promotion with its
reasons and previews this month; the member's tier progress on a phone."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy.orm import Session, sessionmaker

from neigou.demo.seed import DemoWorld
from neigou.kit.clock import utcnow
from neigou.programs.service import require_program
from neigou.tiers.periods import period_of
from tests.browser.conftest import ARTIFACTS, member_sign_in, sign_in
from tests.demo_world import DemoTemplate

pytestmark = pytest.mark.browser


def test_operator_edits_the_ladder(browser: Browser, live_server: str, world: DemoWorld) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    sign_in(page, live_server, world, f"/console/programs/{world.partner_program_id}")
    page.get_by_test_id("manage-tiers").click()
    expect(page.get_by_test_id("ladder-title")).to_have_text("等级设置")
    mentor = page.get_by_test_id("ladder-row").nth(1)
    expect(mentor.get_by_test_id("tier-code")).to_have_value("mentor")
    mentor.get_by_test_id("tier-share").fill("96")
    page.get_by_test_id("save-ladder").click()
    expect(page.get_by_test_id("ladder-errors")).to_contain_text("未保存")
    expect(page.get_by_test_id("ladder-row").nth(1).get_by_test_id("row-errors")).to_contain_text(
        "shares_exceed_pool"
    )
    expect(page.get_by_test_id("ladder-row").nth(1).get_by_test_id("tier-share")).to_have_value("96")
    page.screenshot(path=str(ARTIFACTS / "console-tiers-ladder-error.png"), full_page=False)
    mentor = page.get_by_test_id("ladder-row").nth(1)
    mentor.get_by_test_id("tier-share").fill("30")
    mentor.get_by_test_id("keep-periods").fill("2")
    mentor.locator('select[name="t1_k0_metric"]').select_option("orders")
    mentor.locator('input[name="t1_k0_gte"]').fill("30")
    page.get_by_test_id("save-ladder").click()
    expect(page.get_by_test_id("ladder-saved")).to_have_text("等级已保存。")
    expect(page.get_by_test_id("ladder-row").nth(1).get_by_test_id("keep-periods")).to_have_value("2")
    page.close()


def test_operator_reads_last_months_evaluation_and_previews_this_month(
    browser: Browser,
    live_server: str,
    world: DemoWorld,
    demo_template: DemoTemplate,
    factory: sessionmaker[Session],
) -> None:
    with factory() as session:
        zone = require_program(session, world.brand_program_id).timezone
    # The month evaluated is the one before the demo was built; the month not over yet is the clock's
    # (a later one when the run goes on past the month's end in the program's zone).
    last = period_of(demo_template.built_at, zone).previous()
    now = period_of(utcnow(), zone)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    sign_in(
        page, live_server, world, f"/console/programs/{world.brand_program_id}/tier-evaluations?period={last}"
    )
    expect(page.get_by_test_id("evaluations-title")).to_have_text("等级考核")
    result = page.get_by_test_id("evaluation-result")
    expect(result.get_by_test_id("result-kind")).to_have_text("已执行")
    expect(result.get_by_test_id("change-row")).to_have_count(1)
    expect(result.get_by_test_id("change-row")).to_contain_text("金牌导购")
    expect(result.get_by_test_id("change-row")).to_contain_text("成交额")
    expect(page.get_by_test_id("past-evaluations")).to_contain_text(str(last))
    page.screenshot(path=str(ARTIFACTS / "console-tiers-evaluation-zh.png"), full_page=True)
    page.get_by_test_id("period").fill(str(now))
    page.get_by_test_id("preview").click()
    expect(page.get_by_test_id("result-kind")).to_have_text("预览（未保存）")
    page.get_by_test_id("run").click()
    expect(page.get_by_test_id("evaluation-error")).to_contain_text("period_not_over")
    page.get_by_test_id("lang-switch").click()
    expect(page.get_by_test_id("evaluations-title")).to_have_text("Tier evaluation")
    page.close()


def test_member_reads_tier_progress_on_a_phone(browser: Browser, live_server: str, world: DemoWorld) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    member_sign_in(page, live_server, world)
    page.get_by_test_id("tier-link").click()
    expect(page.get_by_test_id("tier-title")).to_have_text("等级进度")
    expect(page.get_by_test_id("current-tier")).to_have_text("超级会员")
    expect(page.get_by_test_id("next-tier")).to_have_text("导师")
    expect(page.get_by_test_id("progress-text")).to_contain_text("还差")
    expect(page.get_by_test_id("gap")).to_have_count(2)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, "the workspace must not scroll sideways on a phone"
    page.screenshot(path=str(ARTIFACTS / "workspace-tier-phone.png"), full_page=True)
    context.close()
