"""The salesperson's customer book on a phone (390×844): the navigation entry, the list and its
filters, a customer's card with suggestions and reasons, today's tasks, adding a customer, and the
refusal of one who opted out."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect
from sqlalchemy.orm import Session, sessionmaker

from neigou.demo.seed import DemoWorld
from neigou.kit.clock import utcnow
from neigou.kit.db import transaction
from neigou.kit.settings import Settings
from neigou.privacy import service as privacy
from tests.browser.conftest import ARTIFACTS
from tests.conftest import TEST_ACTOR

pytestmark = pytest.mark.browser
PHONE: ViewportSize = {"width": 390, "height": 844}


def _fits(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    nav = page.get_by_test_id("bottom-nav").bounding_box()
    assert nav is not None
    assert nav["height"] < 60  # six entries, one row


def test_the_salesperson_works_their_customer_book(
    browser: Browser, live_server: str, world: DemoWorld
) -> None:
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(f"{live_server}/m/login?code={world.salesperson_sign_in_code}")
    page.get_by_test_id("sign-in").click()  # the link asks first
    page.wait_for_url(f"{live_server}/m/")
    page.get_by_test_id("bn-customers").click()
    expect(page.get_by_test_id("customers-title")).to_have_text("我的顾客")
    expect(page.get_by_test_id("customer")).to_have_count(10)  # fourteen customers, ten to a page
    expect(page.get_by_test_id("pager")).to_contain_text("共 14")
    _fits(page)
    page.screenshot(path=str(ARTIFACTS / "customers-phone.png"), full_page=True)

    page.get_by_test_id("filter-power").select_option("high")
    page.get_by_test_id("filter-tag").fill("羊毛")
    page.get_by_test_id("filter-apply").click()
    expect(page.get_by_test_id("customer")).to_have_count(2)
    page.get_by_test_id("customer").first.click()
    expect(page.get_by_test_id("customer-card")).to_be_visible()
    first = page.get_by_test_id("suggestion").first
    expect(first).to_have_attribute("data-sku", "YD-WOOL-COAT")
    expect(first.get_by_test_id("reason").first).to_have_text("合其喜好：羊毛 / 通勤")
    expect(first).to_contain_text("价位合其消费力（高）")
    _fits(page)
    page.screenshot(path=str(ARTIFACTS / "customer-card-phone.png"), full_page=True)
    page.goto(page.url + "?lang=en")
    expect(page.get_by_test_id("suggestion").first).to_contain_text("Priced for a big spender")
    page.goto(page.url.split("?")[0] + "?lang=zh-CN")

    page.get_by_test_id("bn-customers").click()
    page.get_by_test_id("tab-today").click()
    expect(page.get_by_test_id("task-birthdays").get_by_test_id("customer")).to_have_count(2)
    expect(page.get_by_test_id("task-dormant")).to_be_visible()
    _fits(page)
    page.screenshot(path=str(ARTIFACTS / "customer-tasks-phone.png"), full_page=True)

    page.get_by_test_id("tab-new").click()
    page.get_by_test_id("customer-phone").fill("139 1234 5678")
    page.get_by_test_id("customer-name").fill("顾女士")
    page.get_by_test_id("customer-job").fill("建筑设计师")
    page.get_by_test_id("customer-power-input").select_option("high")
    page.get_by_test_id("customer-tags").fill("羊绒，简约")
    page.get_by_test_id("customer-consent").check()
    _fits(page)
    page.screenshot(path=str(ARTIFACTS / "customer-new-phone.png"), full_page=True)
    page.get_by_test_id("customer-save").click()
    expect(page.get_by_test_id("customer-added")).to_have_text("顾客已加入你的顾客簿。")
    expect(page.get_by_test_id("consent-state")).to_have_attribute("data-state", "granted")
    expect(page.get_by_test_id("suggestion").first).to_have_attribute("data-sku", "YD-CASHMERE-SCARF")
    context.close()


def test_a_shopper_who_opted_out_is_refused_at_the_phone_field(
    browser: Browser, live_server: str, world: DemoWorld, factory: sessionmaker[Session], settings: Settings
) -> None:
    with transaction(factory) as session:
        privacy.opt_out(
            session,
            secret_key=settings.secret_key,
            customer_ref="13987654321",
            program_id=None,
            request_id="browser-opt-out",
            actor=TEST_ACTOR,
            at=utcnow(),
        )
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(f"{live_server}/m/login?code={world.salesperson_sign_in_code}")
    page.get_by_test_id("sign-in").click()  # the link asks first
    page.wait_for_url(f"{live_server}/m/")
    page.goto(f"{live_server}/m/customers/new")
    page.get_by_test_id("customer-phone").fill("+86 139 8765 4321")
    page.get_by_test_id("customer-name").fill("林女士")
    page.get_by_test_id("customer-power-input").select_option("mid")
    page.get_by_test_id("customer-consent").check()
    page.get_by_test_id("customer-save").click()
    refusal = page.get_by_test_id("customer-error")
    expect(refusal).to_have_text("该顾客已申请停止处理其个人信息，无法添加。")
    expect(refusal).to_have_attribute("data-code", "customer_opted_out")
    phone_box = page.get_by_test_id("customer-phone").bounding_box()
    refusal_box = refusal.bounding_box()
    assert phone_box is not None
    assert refusal_box is not None
    assert 0 <= refusal_box["y"] - (phone_box["y"] + phone_box["height"]) < 40  # right under the phone field
    expect(page.get_by_test_id("customer-phone")).to_have_value("+86 139 8765 4321")
    expect(page.get_by_test_id("customer-name")).to_have_value("林女士")
    expect(page.get_by_test_id("customer-power-input")).to_have_value("mid")
    expect(page.get_by_test_id("customer-consent")).to_be_checked()
    _fits(page)
    page.screenshot(path=str(ARTIFACTS / "customer-opted-out-phone.png"), full_page=True)
    context.close()
