"""The risk review queue in a real browser: a scan from the page opens the demo's implausible group
count as a case, the operator reads its evidence and confirms it."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from neigou.demo.seed import DemoWorld
from tests.browser.conftest import ARTIFACTS, sign_in

pytestmark = pytest.mark.browser


def test_operator_scans_and_confirms_a_case(browser: Browser, live_server: str, world: DemoWorld) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    sign_in(page, live_server, world, "/console/risk")
    expect(page.get_by_test_id("risk-title")).to_have_text("风控审核")
    page.get_by_test_id("risk-program").select_option(label="芬香合伙人计划 Partner program")
    page.get_by_role("button", name="查看").click()
    page.get_by_test_id("risk-scan").click()
    expect(page.get_by_test_id("risk-notice")).to_contain_text("本次扫描新开")
    case = page.get_by_test_id("risk-case").filter(has_text="虚报群人数").first
    expect(case).to_contain_text("合理性检查已将其挂起待审")
    expect(case.get_by_test_id("risk-evidence")).to_contain_text("member_count=")
    page.screenshot(path=str(ARTIFACTS / "console-risk-zh.png"), full_page=False)
    case.get_by_test_id("risk-confirm").click()
    expect(page.get_by_test_id("risk-tab-confirmed")).to_contain_text("(1)")
