"""Live events in a real browser: a salesperson's codes and posters and the live page a guest opens on
a phone; the console's events list, an event's page and its live board updating over Server-Sent
Events on a wide screen."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import APIRequestContext, Browser, Page, Route, ViewportSize, expect

from neigou.demo.offers import SHAMPOO_SKU
from neigou.demo.seed import DemoWorld
from neigou.kit.clock import utcnow
from tests.browser.conftest import ARTIFACTS, member_sign_in, sign_in

pytestmark = pytest.mark.browser
PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1440, "height": 900}


def _event(api: APIRequestContext, live_server: str, world: DemoWorld, **extra: Any) -> dict[str, Any]:
    """A live event of the partner program with the sample member on its employee list."""
    headers = {"Authorization": f"Bearer {world.operator_token}"}
    now = utcnow()
    body = {
        "program_id": world.partner_program_id,
        "name": "年终员工内购会",
        "starts_at": (now - timedelta(minutes=30)).isoformat(),
        "ends_at": (now + timedelta(hours=3)).isoformat(),
        "guests_per_employee": 3,
        "stream_url": "https://live.example.com/room/8",
        "items": [{"sku": SHAMPOO_SKU, "price_fen": 2990, "stock": 200, "per_person_limit": 2}],
        **extra,
    }
    created = api.post(f"{live_server}/api/v1/events", data=body, headers=headers)
    assert created.status == 201, created.text()
    event_id = created.json()["id"]
    employees = [{"employee_no": "E001", "name": "李四", "member_id": world.sample_member_id}]
    added = api.post(f"{live_server}/api/v1/events/{event_id}/employees", data=employees, headers=headers)
    assert added.status == 200, added.text()
    event: dict[str, Any] = api.get(f"{live_server}/api/v1/events/{event_id}", headers=headers).json()
    return event


def _fits(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_employee_invites_guests_and_a_guest_opens_the_live_page_on_a_phone(
    browser: Browser, live_server: str, world: DemoWorld
) -> None:
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    event = _event(context.request, live_server, world)
    member_sign_in(page, live_server, world)
    page.get_by_test_id("events-shortcut").click()
    expect(page.get_by_test_id("my-events-title")).to_have_text("我的内购会")
    mine = page.get_by_test_id("my-event")
    expect(mine).to_have_count(1)
    expect(mine.get_by_test_id("guest-quota")).to_have_text("已用亲友邀请名额：0 / 3")
    mine.get_by_test_id("invitation-count").fill("2")
    mine.get_by_test_id("ask-invitations-submit").click()
    codes = page.get_by_test_id("invitation")
    expect(codes).to_have_count(2)
    expect(page.get_by_test_id("guest-quota")).to_have_text("已用亲友邀请名额：2 / 3")
    poster = codes.first.get_by_test_id("invitation-poster-preview")
    poster.scroll_into_view_if_needed()
    expect(poster).to_be_visible()
    page.wait_for_function(
        "el => el.complete && el.naturalWidth === 750 && el.naturalHeight === 1200",
        arg=poster.element_handle(),
    )
    _fits(page)
    page.screenshot(path=str(ARTIFACTS / "events-mine-phone.png"), full_page=True)
    code = codes.first.get_attribute("data-code")
    url = codes.first.get_by_test_id("invitation-url").input_value()
    assert url == f"{live_server}/e/{event['code']}?invite={code}"

    guest = context.new_page()
    guest.goto(url)
    expect(guest.get_by_test_id("live-title")).to_have_text("年终员工内购会")
    expect(guest.get_by_test_id("live-invitation")).to_contain_text("李四 邀请你")
    expect(guest.get_by_test_id("live-invitation")).to_contain_text(str(code))
    expect(guest.get_by_test_id("live-now")).to_contain_text("正在直播")
    expect(guest.get_by_test_id("live-now").locator("[data-countdown]")).to_have_text(
        re.compile(r"^[23]:\d\d:\d\d$")
    )
    expect(guest.get_by_test_id("stream-link")).to_have_attribute("href", "https://live.example.com/room/8")
    item = guest.get_by_test_id("live-items").locator("li")
    expect(item).to_have_count(1)
    expect(item).to_contain_text("澜泉 氨基酸控油蓬松洗发水 500ml")
    expect(item).to_contain_text("剩余 200 件")
    expect(item.locator("strong")).to_have_text("¥29.90")
    expect(guest.get_by_test_id("live-window")).to_contain_text("(Asia/Shanghai)")
    _fits(guest)
    guest.screenshot(path=str(ARTIFACTS / "event-live-phone.png"), full_page=True)
    context.close()


def test_operator_finds_an_event_and_watches_its_live_board(
    browser: Browser, live_server: str, world: DemoWorld
) -> None:
    page = browser.new_page(viewport=DESKTOP)
    event = _event(page.request, live_server, world)
    earlier = utcnow() - timedelta(days=10)
    _event(
        page.request,
        live_server,
        world,
        name="双十一内购会",
        starts_at=earlier.isoformat(),
        ends_at=(earlier + timedelta(hours=2)).isoformat(),
    )
    sign_in(page, live_server, world, "/console/events")
    expect(page.get_by_test_id("events-title")).to_have_text("内购会")
    rows = page.get_by_test_id("event-row")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("年终员工内购会")  # latest start first
    expect(page.get_by_test_id("event-live")).to_have_count(1)
    page.get_by_test_id("sort-name").click()
    expect(rows.first).to_contain_text("双十一内购会")
    page.get_by_test_id("list-q").fill("年终")
    expect(rows).to_have_count(1)
    expect(page.get_by_test_id("list-total")).to_contain_text("1")
    page.screenshot(path=str(ARTIFACTS / "console-events-wide.png"), full_page=True)
    rows.first.get_by_role("link", name="年终员工内购会").click()
    expect(page.get_by_test_id("event-title")).to_have_text("年终员工内购会")
    expect(page.get_by_test_id("board-orders")).to_have_text("0")
    expect(page.get_by_test_id("board-skus-empty")).to_have_text("暂无成交。")

    order = {
        "external_id": "EVENT-BROWSER-1",
        "program_id": world.partner_program_id,
        "customer_ref": "13800138000",
        "event_id": event["id"],
        "items": [{"sku": SHAMPOO_SKU, "quantity": 2, "paid_fen": 5980}],
        "paid_at": (utcnow() - timedelta(minutes=1)).isoformat(),
    }
    headers = {"Authorization": f"Bearer {world.operator_token}"}
    taken = page.request.post(f"{live_server}/api/v1/orders", data=order, headers=headers)
    assert taken.status == 201, taken.text()
    expect(page.get_by_test_id("board-orders")).to_have_text("1", timeout=10_000)  # pushed, no reload
    expect(page.get_by_test_id("board-gmv")).to_have_text("¥59.80")
    # the pushed rows name the product as the page does, and the list no longer says it is empty
    expect(page.get_by_test_id("board-skus")).to_have_text("澜泉 氨基酸控油蓬松洗发水 500ml · 2 件 · ¥59.80")
    expect(page.get_by_test_id("board-skus-empty")).to_be_hidden()
    page.screenshot(path=str(ARTIFACTS / "console-event-board-wide.png"), full_page=True)
    page.close()


def test_a_board_refused_at_the_stream_cap_is_opened_again(
    browser: Browser, live_server: str, world: DemoWorld
) -> None:
    """The browser closes an EventSource for good on a 503; the page opens it again after a wait."""
    page = browser.new_page(viewport=DESKTOP)
    event = _event(page.request, live_server, world)
    asked: list[int] = []

    def refuse_first(route: Route) -> None:
        asked.append(1)
        if len(asked) > 1:
            route.continue_()
            return
        route.fulfill(
            status=503,
            headers={"Retry-After": "1", "Content-Type": "application/problem+json"},
            body='{"code": "overloaded", "status": 503, "retry_after_ms": 1000}',
        )

    page.route(f"**/console/events/{event['id']}/board/stream", refuse_first)
    sign_in(page, live_server, world, f"/console/events/{event['id']}")
    expect(page.get_by_test_id("board-orders")).to_have_text("0")
    expect(page.get_by_test_id("board-skus-empty")).to_have_text("暂无成交。")
    order = {
        "external_id": "EVENT-BROWSER-REFUSED",
        "program_id": world.partner_program_id,
        "customer_ref": "13800138001",
        "event_id": event["id"],
        "items": [{"sku": SHAMPOO_SKU, "quantity": 1, "paid_fen": 2990}],
        "paid_at": (utcnow() - timedelta(minutes=1)).isoformat(),
    }
    headers = {"Authorization": f"Bearer {world.operator_token}"}
    taken = page.request.post(f"{live_server}/api/v1/orders", data=order, headers=headers)
    assert taken.status == 201, taken.text()
    expect(page.get_by_test_id("board-orders")).to_have_text(
        "1", timeout=20_000
    )  # pushed on the reopened stream
    assert len(asked) >= 2
    page.close()
