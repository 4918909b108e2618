"""Pushes in a real browser: a salesperson on a phone reads yesterday's push and its order, marks a
task message sent, composes a push with a preview and sends it; the console shows the program's push
figures and saves the settings."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, ViewportSize, expect
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth import sign_in_codes
from neigou.demo.seed import DemoWorld
from neigou.kit.actor import Actor
from neigou.kit.db import transaction
from neigou.programs.models import Member
from tests.browser.conftest import ARTIFACTS, sign_in

pytestmark = pytest.mark.browser
PHONE: ViewportSize = {"width": 390, "height": 844}
TEST_ACTOR = Actor(kind="cli", ref="test", label="browser test")


def _guide_code(factory: sessionmaker[Session], world: DemoWorld) -> str:
    """A one-time workspace sign-in for the brand guide whose pushes the demo seeds."""
    with transaction(factory) as session:
        guides = session.scalars(
            select(Member.id).where(Member.program_id == world.brand_program_id).order_by(Member.id)
        ).all()
        return sign_in_codes.issue(session, member_id=guides[1], minutes=30, actor=TEST_ACTOR)


def test_a_salesperson_reads_marks_and_sends_pushes_on_a_phone(
    browser: Browser, live_server: str, world: DemoWorld, factory: sessionmaker[Session]
) -> None:
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(f"{live_server}/m/login?code={_guide_code(factory, world)}")
    page.get_by_test_id("sign-in").click()  # the link asks first
    page.wait_for_url(f"{live_server}/m/")
    page.get_by_test_id("pushes-shortcut").click()
    expect(page.get_by_test_id("pushes-title")).to_have_text("我的推送")
    rows = page.get_by_test_id("push-row")
    expect(rows).to_have_count(2)
    expect(rows.nth(1).get_by_test_id("push-orders")).to_have_text("1")
    expect(rows.nth(1).get_by_test_id("push-messages")).to_have_text("2/3")
    rows.nth(1).click()
    expect(page.get_by_test_id("push-orders")).to_have_text("1")
    expect(page.get_by_test_id("push-gmv")).to_have_text("¥159.00")
    expect(page.get_by_test_id("skip")).to_contain_text("没有营销同意")
    messages = page.get_by_test_id("message")
    expect(messages).to_have_count(3)
    expect(messages.first.get_by_test_id("message-text")).to_have_value(
        re.compile(r"您好，衣朵 .+ ¥\d+\.\d\d：http://.+/l/\w+")
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=str(ARTIFACTS / "push-detail-phone.png"), full_page=True)
    pending = messages.nth(2)
    expect(pending.get_by_test_id("message-status")).to_have_text("待发送")
    pending.get_by_test_id("mark-sent").click()
    expect(page.get_by_test_id("message").nth(2).get_by_test_id("message-status")).to_have_text("已发送")
    expect(page.get_by_test_id("push-sent")).to_have_text("3/3")

    page.goto(f"{live_server}/m/pushes/new")
    expect(page.get_by_test_id("composer-title")).to_have_text("新建推送")
    page.get_by_test_id("customer-pick").first.check()
    page.get_by_test_id("sku-pick").first.check()
    page.get_by_test_id("template").fill("{name}，{product} 今天到店，¥{app_price}：{link}")
    page.get_by_test_id("preview-push").click()
    expect(page.get_by_test_id("preview").first).to_contain_text("今天到店")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=str(ARTIFACTS / "push-composer-phone.png"), full_page=True)
    page.get_by_test_id("send-push").click()
    expect(page.get_by_test_id("push-title")).to_be_visible()
    expect(page.get_by_test_id("message").first.get_by_test_id("message-text")).to_have_value(
        re.compile("今天到店")
    )
    context.close()


def test_the_console_shows_push_figures_and_saves_the_settings(
    browser: Browser, live_server: str, world: DemoWorld
) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    sign_in(page, live_server, world, f"/console/crm?program_id={world.brand_program_id}")
    expect(page.get_by_test_id("crm-title")).to_have_text("客户推送")
    expect(page.get_by_test_id("crm-orders")).to_have_text("1")
    expect(page.get_by_test_id("crm-gmv")).to_have_text("¥159.00")
    expect(page.get_by_test_id("crm-messages")).to_have_text("9")
    page.get_by_test_id("crm-channel").select_option("webhook")
    page.get_by_test_id("crm-target").fill("https://crm.brand.example/hook?token=demo-key")
    page.get_by_test_id("crm-cap-pushes").fill("3")
    page.get_by_test_id("crm-save").click()
    expect(page.get_by_test_id("crm-saved")).to_be_visible()
    expect(page.get_by_test_id("crm-target-masked")).to_have_text("https://crm.brand.example/hook?…")
    page.screenshot(path=str(ARTIFACTS / "console-crm-zh.png"), full_page=True)
