"""Orders and money in a real browser on the demo world: the console's orders with their commission
breakdown, a member's ledger, withdrawals to approve; the member's earnings on a phone."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, expect

from neigou.demo.seed import DemoWorld
from tests.browser.conftest import ARTIFACTS, member_sign_in, sign_in

pytestmark = pytest.mark.browser


def test_operator_reads_orders_ledger_and_approves_a_withdrawal(
    browser: Browser, live_server: str, world: DemoWorld
) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    sign_in(page, live_server, world, "/console/orders")
    expect(page.get_by_test_id("orders-title")).to_contain_text("订单与佣金")
    rows = page.get_by_test_id("order-row")
    expect(rows.first).to_be_visible()
    assert rows.count() == 50  # a full first page of four months of orders
    page.screenshot(path=str(ARTIFACTS / "console-orders-zh.png"), full_page=False)
    attributed = rows.filter(has=page.locator("a[href*='/ledger']")).first
    attributed.locator("a").first.click()
    expect(page.get_by_test_id("commission-breakdown")).to_be_visible()
    expect(page.get_by_test_id("commission-row").first).to_contain_text("本人销售")
    page.screenshot(path=str(ARTIFACTS / "console-order-detail-zh.png"), full_page=True)
    page.get_by_test_id("commission-row").first.locator("a").click()
    expect(page.get_by_test_id("ledger-title")).to_contain_text("账本")
    expect(page.get_by_test_id("statement-row").first).to_be_visible()
    expect(page.get_by_test_id("statement")).to_contain_text("订单佣金")
    page.goto(f"{live_server}/console/withdrawals")
    review = page.get_by_test_id("withdrawal-row")
    waiting = review.count()
    assert waiting > 0
    page.screenshot(path=str(ARTIFACTS / "console-withdrawals-zh.png"), full_page=False)
    review.first.get_by_test_id("approve").click()
    expect(page.get_by_test_id("withdrawal-row")).to_have_count(waiting - 1)
    expect(page.get_by_test_id("batch-row").first).to_be_visible()
    page.get_by_test_id("lang-switch").click()
    expect(page.get_by_test_id("withdrawals-title")).to_have_text("Withdrawals")
    page.close()


def test_member_sees_earnings_and_withdraws_on_a_phone(
    browser: Browser, live_server: str, world: DemoWorld
) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    member_sign_in(page, live_server, world)
    page.get_by_test_id("earnings-link").click()
    expect(page.get_by_test_id("earnings-title")).to_have_text("我的收益")
    available = page.get_by_test_id("balance-available").inner_text()
    withdrawn = page.get_by_test_id("balance-withdrawn").inner_text()
    # Whatever hour the demo was built at: never negative, and paid out before (``demo.orders``).
    assert re.fullmatch(r"¥[\d,]+\.\d\d", available), available
    assert withdrawn != "¥0.00", "the sample owner has been paid out before"
    expect(page.get_by_test_id("statement-row").first).to_be_visible()
    expect(page.get_by_test_id("statement")).to_contain_text(
        re.compile("赚取佣金|退款扣回|订单完成|冻结期满|提现")
    )
    # the movements' pager, and the withdrawals list's own
    expect(page.get_by_test_id("pager").first).to_be_visible()
    expect(page.locator("#my-withdrawals").get_by_test_id("pager")).to_have_count(1)
    expect(page.get_by_test_id("bn-earnings")).to_have_class("current")
    page.screenshot(path=str(ARTIFACTS / "workspace-earnings-phone.png"), full_page=False)
    page.get_by_test_id("withdraw-amount").fill("100000")
    page.get_by_test_id("withdraw-submit").click()
    expect(page.get_by_test_id("withdraw-error")).to_have_text("可提现余额不足。")
    page.get_by_test_id("payee-kind").select_option("bank_card")
    page.get_by_test_id("payee-account").fill("6222 0212 3456 7894")
    page.get_by_test_id("payee-holder").fill("王小美")
    page.get_by_test_id("payee-submit").click()
    expect(page.get_by_test_id("payee")).to_have_text("银行卡 **** 7894 · *小美")
    page.get_by_test_id("payee").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "workspace-payee-phone.png"), full_page=False)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, "the workspace must not scroll sideways on a phone"
    context.close()


def test_operator_reads_why_an_available_balance_is_negative(
    browser: Browser, live_server: str, world: DemoWorld
) -> None:
    """The demo's refund after payout, on purpose at every hour: an owner who withdrew all they had, then
    lost their biggest released order, reads a negative available balance and why."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    sign_in(page, live_server, world, f"/console/members/{world.clawed_back_member_id}/ledger")
    expect(page.get_by_test_id("balance-available")).to_have_text(re.compile(r"^-¥[\d,]+\.\d\d$"))
    expect(page.get_by_text("可提现为负：已打款后的退款会从以后的佣金中扣回。")).to_be_visible()
    expect(page.get_by_test_id("statement")).to_contain_text("退款冲回佣金")  # among its latest entries
    page.screenshot(path=str(ARTIFACTS / "console-ledger-negative-zh.png"), full_page=False)
    page.close()
