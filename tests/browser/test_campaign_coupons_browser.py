"""The campaign form's coupon suggestions in Chromium follow the program the form shows: picking
another organization's program swaps in that organization's coupons, and a form the browser shows
again (back) never pairs one program with another program's coupons."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy.orm import Session, sessionmaker

from neigou.demo.seed import DEMO_ACTOR, DemoWorld
from neigou.kit.clock import utcnow
from neigou.kit.db import transaction
from neigou.offers.models import CouponTemplate
from neigou.offers.offer_rules import CouponKind, CouponVisibility
from neigou.organizations.schemas import OrganizationCreate
from neigou.organizations.service import create_organization
from neigou.programs import service as programs
from neigou.programs.schemas import AttributionIn, ProgramCreate
from tests.browser.conftest import ARTIFACTS, sign_in
from tests.browser.flows import open_page

pytestmark = pytest.mark.browser
RIVAL_COUPON = "对手专享券"


def _rival_program(factory: sessionmaker[Session]) -> int:
    """A program of another organization, with a coupon of that organization."""
    now = utcnow()
    with transaction(factory) as session:
        rival = create_organization(
            session, data=OrganizationCreate(code="rival", name="对手"), actor=DEMO_ACTOR
        )
        program = programs.create_program(
            session,
            data=ProgramCreate(
                code="rival-partners",
                name="对手计划",
                organization_id=rival.id,
                attribution=AttributionIn(model="last_click", window_days=15),
            ),
            default_timezone="Asia/Shanghai",
            actor=DEMO_ACTOR,
        )
        session.add(
            CouponTemplate(
                organization_id=rival.id,
                name=RIVAL_COUPON,
                kind=CouponKind.AMOUNT_OFF,
                value=500,
                min_spend_fen=0,
                visibility=CouponVisibility.HIDDEN,
                total_quantity=10,
                per_customer_limit=1,
                starts_at=now,
                ends_at=now + timedelta(days=7),
                created_at=now,
            )
        )
        return program.id


def test_the_coupons_suggested_are_the_shown_programs(
    browser: Browser, live_server: str, world: DemoWorld, factory: sessionmaker[Session]
) -> None:
    rival = _rival_program(factory)
    page = open_page(browser, "desktop")
    sign_in(page, live_server, world)
    page.goto(f"{live_server}/console/campaigns/new")
    program = page.get_by_test_id("campaign-edit-program")
    options = page.locator("#coupon-options option")
    expect(program).to_have_value(str(world.partner_program_id))
    expect(options.first).to_be_attached()
    expect(options.filter(has_text=RIVAL_COUPON)).to_have_count(0)
    program.select_option(str(rival))
    expect(options).to_have_count(1)
    expect(options.first).to_contain_text(RIVAL_COUPON)
    # Away and back: the browser shows the form again, its program and suggestions still a pair.
    page.get_by_test_id("campaign-back").click()
    page.go_back()
    expect(page.get_by_test_id("campaign-edit-form")).to_be_visible()
    shown = program.input_value()
    rival_offered = options.filter(has_text=RIVAL_COUPON)
    expect(rival_offered).to_have_count(1 if shown == str(rival) else 0)
    if shown != str(rival):
        expect(options.first).to_be_attached()
    page.screenshot(path=str(ARTIFACTS / "campaign-coupons-back.png"), full_page=True)
    page.context.close()
