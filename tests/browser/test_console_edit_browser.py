"""Console edit forms in Chromium, at desktop and phone sizes: a refusal is shown beside its field with
what was typed kept, then the corrected form saves. Screenshots are kept as artifacts."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from neigou.demo.seed import DemoWorld
from tests.browser.conftest import ARTIFACTS, sign_in

pytestmark = pytest.mark.browser

SIZES = {"desktop": (1440, 900), "phone": (390, 844)}


@pytest.mark.parametrize("size", SIZES)
def test_edit_a_program(browser: Browser, live_server: str, world: DemoWorld, size: str) -> None:
    width, height = SIZES[size]
    page = browser.new_page(viewport={"width": width, "height": height})
    program = world.brand_program_id
    sign_in(page, live_server, world, target=f"/console/programs/{program}")
    page.get_by_test_id("edit-program").click()
    page.get_by_test_id("program-edit-freeze").fill("十四")
    page.get_by_test_id("program-edit-name").fill("品牌云店导购 春季")
    page.get_by_test_id("program-edit-save").click()
    expect(page.get_by_test_id("error-freeze_days")).to_be_visible()
    expect(page.get_by_test_id("program-edit-name")).to_have_value("品牌云店导购 春季")
    page.screenshot(path=str(ARTIFACTS / f"program-edit-refused-{size}.png"), full_page=True)
    page.get_by_test_id("program-edit-freeze").fill("14")
    page.get_by_test_id("program-edit-save").click()
    expect(page.get_by_test_id("program-name")).to_have_text("品牌云店导购 春季")
    page.close()


@pytest.mark.parametrize("size", SIZES)
def test_edit_a_group(browser: Browser, live_server: str, world: DemoWorld, size: str) -> None:
    width, height = SIZES[size]
    page = browser.new_page(viewport={"width": width, "height": height})
    program = world.partner_program_id
    sign_in(page, live_server, world, target=f"/console/programs/{program}/groups?view=groups")
    page.get_by_test_id("group-edit").first.click()
    name = page.get_by_test_id("group-name")
    name.fill(" ")
    page.get_by_test_id("group-save").click()
    expect(page.get_by_test_id("error-name")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / f"group-edit-refused-{size}.png"), full_page=True)
    name.fill("宝妈好物 旗舰群")
    page.get_by_test_id("group-external-id").fill("wx-flagship")
    page.get_by_test_id("group-save").click()
    expect(page.locator("body")).to_contain_text("宝妈好物 旗舰群")
    page.close()


@pytest.mark.parametrize("size", SIZES)
def test_edit_a_campaign(browser: Browser, live_server: str, world: DemoWorld, size: str) -> None:
    width, height = SIZES[size]
    page = browser.new_page(viewport={"width": width, "height": height})
    program = world.partner_program_id
    sign_in(page, live_server, world, target=f"/console/campaigns?program={program}")
    page.get_by_test_id("campaign-edit").first.click()
    # It is live: its start, products and boost stay as published.
    for field in ("campaign-edit-starts", "campaign-edit-skus", "campaign-edit-boost"):
        expect(page.get_by_test_id(field)).to_have_attribute("readonly", "")
    expect(page.get_by_test_id("campaign-terms-locked")).to_be_visible()
    coupon = page.get_by_test_id("campaign-edit-coupon")
    kept = coupon.input_value()
    page.get_by_test_id("campaign-edit-name").fill("澜泉洗护周")
    coupon.fill("八")
    page.get_by_test_id("campaign-edit-save").click()
    expect(page.get_by_test_id("error-coupon_id")).to_be_visible()
    expect(page.get_by_test_id("campaign-edit-name")).to_have_value("澜泉洗护周")
    page.screenshot(path=str(ARTIFACTS / f"campaign-edit-refused-{size}.png"), full_page=True)
    # Typing in the coupon field asks the server for the campaign's program's coupons that match.
    options = page.locator("#coupon-options option")
    value = options.first.get_attribute("value")
    name = options.first.inner_text().split(" · ")[0]
    coupon.fill("没有这张券")
    expect(options).to_have_count(0)
    coupon.fill(name)
    expect(options.and_(page.locator(f'[value="{value}"]'))).to_have_count(1)
    coupon.fill(kept)
    page.get_by_test_id("campaign-edit-save").click()
    expect(page.get_by_test_id("campaign-row").filter(has_text="澜泉洗护周")).to_have_count(1)
    page.screenshot(path=str(ARTIFACTS / f"campaign-edited-{size}.png"), full_page=True)
    page.close()


@pytest.mark.parametrize("size", SIZES)
def test_hand_a_group_over(browser: Browser, live_server: str, world: DemoWorld, size: str) -> None:
    width, height = SIZES[size]
    page = browser.new_page(viewport={"width": width, "height": height})
    program = world.partner_program_id
    sign_in(page, live_server, world, target=f"/console/programs/{program}/groups?view=groups")
    page.get_by_test_id("group-edit").first.click()
    edit_url = page.url
    owner = page.get_by_test_id("group-owner")
    current = owner.input_value()
    choices = page.locator("#owner-options option").evaluate_all("options => options.map(o => o.value)")
    heir = next(value for value in choices if value != current)
    owner.fill("王小美")
    page.get_by_test_id("group-save").click()
    expect(page.get_by_test_id("error-owner_member_id")).to_be_visible()
    expect(page.get_by_test_id("group-owner")).to_have_value("王小美")
    page.screenshot(path=str(ARTIFACTS / f"group-transfer-refused-{size}.png"), full_page=True)
    # Typing asks the server for the members that match (any member of the program, not only those listed).
    options = page.locator("#owner-options option")
    heir_name = options.and_(page.locator(f'[value="{heir}"]')).inner_text().split(" · ")[0]
    page.get_by_test_id("group-owner").fill("没有这个成员")
    expect(options).to_have_count(0)
    page.get_by_test_id("group-owner").fill(heir_name)
    expect(options.and_(page.locator(f'[value="{heir}"]'))).to_have_count(1)
    page.get_by_test_id("group-owner").fill(heir)
    page.get_by_test_id("group-save").click()
    expect(page).not_to_have_url(edit_url)
    page.goto(edit_url)
    expect(page.get_by_test_id("group-owner")).to_have_value(heir)
    page.screenshot(path=str(ARTIFACTS / f"group-transferred-{size}.png"), full_page=True)
    page.close()
