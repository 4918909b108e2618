"""A share link on a phone: the shopper opens it, sees the group price against the app price, claims
the hidden coupon; the member's workspace then shows the click and the claim."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import FastAPI
from playwright.sync_api import Browser, Route, ViewportSize, expect
from sqlalchemy.orm import Session, sessionmaker

from neigou.demo.seed import DemoWorld
from neigou.links.models import ShareLink
from tests.browser.conftest import ARTIFACTS, member_sign_in

pytestmark = pytest.mark.browser
PHONE: ViewportSize = {"width": 390, "height": 844}
IPHONE_WECHAT = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Mobile/15E148 MicroMessenger/8.0.47"
)


def _local_only(route: Route) -> None:
    """Tests never reach the internet: product images on other hosts fail fast."""
    if urlsplit(route.request.url).hostname == "127.0.0.1":
        route.continue_()
    else:
        route.abort()


def test_shopper_claims_the_hidden_coupon_and_the_member_sees_it(
    browser: Browser, served: tuple[str, FastAPI], world: DemoWorld, factory: sessionmaker[Session]
) -> None:
    base, app = served
    with factory() as session:
        demo_link = session.query(ShareLink).filter(ShareLink.member_id == world.sample_member_id).first()
        assert demo_link is not None
        assert demo_link.coupon_id is not None
        coupon_id, group_id = demo_link.coupon_id, demo_link.group_id
    made = httpx.post(
        f"{base}/api/v1/links",
        json={"sku": "LQ-SHAMPOO-500", "coupon_id": coupon_id, "group_id": group_id},
        headers={"Authorization": f"Bearer {world.sample_member_token}"},
    )
    assert made.status_code == 201, made.text
    link = made.json()

    shopper = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, user_agent=IPHONE_WECHAT)
    shopper.route("**/*", _local_only)
    page = shopper.new_page()
    page.goto(link["url"])
    assert urlsplit(page.url).path == f"/p/{link['code']}"
    expect(page.get_by_test_id("group-price")).to_have_text("¥24.90")
    expect(page.get_by_test_id("app-price")).to_have_text("¥49.90")
    expect(page.get_by_test_id("saved")).to_contain_text("¥25.00")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=str(ARTIFACTS / "landing-phone.png"), full_page=True)
    page.get_by_test_id("phone").fill("13812345678")
    expect(page.get_by_test_id("marketing-consent")).not_to_be_checked()
    page.get_by_test_id("marketing-consent").check()
    page.get_by_test_id("claim").click()
    expect(page.get_by_test_id("claimed")).to_contain_text("已领取")
    # The tick put the shopper into the sharer's customer book, consenting.
    book = httpx.get(
        f"{base}/api/v1/members/{world.sample_member_id}/customers",
        headers={"Authorization": f"Bearer {world.sample_member_token}"},
    ).json()
    assert [(c["customer_ref_masked"], c["marketing_consent"]) for c in book if c["source"] == "claim"] == [
        ("138****5678", True)
    ]
    buy = page.get_by_test_id("buy").get_attribute("href") or ""
    assert f"sub_id={link['code']}" in buy
    page.screenshot(path=str(ARTIFACTS / "landing-claimed-phone.png"), full_page=True)
    shopper.close()

    app.state.links.flush()  # the click waits in memory until the flusher's next round; don't wait for it
    member = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    member.route("**/*", _local_only)
    workspace = member.new_page()
    member_sign_in(workspace, base, world)
    workspace.goto(f"{base}/m/links")
    expect(workspace.get_by_test_id("my-links-title")).to_have_text("我的分享链接")
    card = workspace.locator(f'[data-testid="my-link"][data-code="{link["code"]}"]')
    expect(card.get_by_test_id("link-clicks")).to_have_text("1")
    expect(card.get_by_test_id("link-claims")).to_have_text("1")
    assert workspace.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    card.scroll_into_view_if_needed()
    workspace.screenshot(path=str(ARTIFACTS / "workspace-links-phone.png"), full_page=False)
    with workspace.expect_download() as download:
        card.get_by_test_id("poster").click()
    poster = ARTIFACTS / "share-poster.png"
    download.value.save_as(str(poster))
    assert poster.read_bytes()[:4] == b"\x89PNG"
    # the demo's own link, a few pages back (newest first, a few to a page), with its clicks
    demo_card = workspace.locator(f'[data-testid="my-link"][data-code="{demo_link.code}"]')
    while demo_card.count() == 0:
        workspace.get_by_test_id("pager-next").click()
        expect(workspace.get_by_test_id("my-links-title")).to_be_visible()
    assert int(demo_card.get_by_test_id("link-clicks").inner_text()) > 10
    member.close()
