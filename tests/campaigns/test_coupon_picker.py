"""The campaign form's coupon picker (``web.campaign_pages``): typing part of a name or an id asks
``…/campaigns/coupon-options`` for the matching coupons of the program's organization, so a coupon far
past the ones the form lists can be picked; in the merchant portal only the merchant's own are offered.
Only the console's operators (and the portal's merchants) are answered; bad input is a 4xx."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth import service as auth
from neigou.auth.models import Role
from neigou.kit.clock import utcnow
from neigou.kit.db import transaction
from neigou.offers.models import CouponTemplate
from neigou.offers.offer_rules import CouponKind, CouponVisibility
from neigou.programs.models import Program
from tests.campaigns import builders as b
from tests.conftest import TEST_ACTOR, TokenMaker, bearer
from tests.factories import create_member, create_program
from tests.offers import factories as offers
from tests.sign_in import PASSWORD, console_sign_in, member_sign_in, merchant_sign_in

LOCAL = "%Y-%m-%dT%H:%M"
CONSOLE = "/console/campaigns/coupon-options"
PORTAL = "/console/merchant/campaigns/coupon-options"


def _coupon(organization_id: int, name: str, merchant_id: int | None = None) -> CouponTemplate:
    now = utcnow()
    return CouponTemplate(
        organization_id=organization_id,
        merchant_id=merchant_id,
        name=name,
        kind=CouponKind.AMOUNT_OFF,
        value=100,
        min_spend_fen=0,
        visibility=CouponVisibility.HIDDEN,
        total_quantity=10,
        per_customer_limit=1,
        starts_at=now - timedelta(days=1),
        ends_at=now + timedelta(days=30),
        created_at=now,
    )


@dataclass
class Coupons:
    """A program with 250 coupons newer than the one sought, a rival organization's program and coupon,
    and two merchants of the program's organization with a coupon each."""

    program_id: int
    sought: int
    rival_program: int
    rival_coupon: int
    mine: int
    theirs: int
    my_coupon: int
    their_coupon: int


def _ok(response: Any) -> Any:
    assert response.status_code == 201, response.text
    return response.json()


def _world(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, factory: sessionmaker[Session]
) -> Coupons:
    program = create_program(client, operator)
    rival = _ok(
        client.post("/api/v1/organizations", json={"code": "rival", "name": "对手"}, headers=operator)
    )
    rival_program = create_program(
        client, bearer(make_token(Role.OPERATOR, organization_id=rival["id"])), code="rival-p"
    )
    shops = [
        _ok(client.post("/api/v1/merchants", json={"code": c, "name": c}, headers=operator))["id"]
        for c in ("mine", "theirs")
    ]
    with transaction(factory) as session:
        org = session.scalars(select(Program.organization_id).where(Program.id == program["id"])).one()
        sought = _coupon(org, "林_小满%券")
        rival_coupon = _coupon(rival["id"], "小满邻家券")
        session.add_all([sought, rival_coupon])
        session.flush()
        # Far past what the form lists before anything is typed (the newest first).
        session.add_all(_coupon(org, f"满减券{n:03d}") for n in range(250))
        mine, theirs = _coupon(org, "小满自家券", shops[0]), _coupon(org, "小满别家券", shops[1])
        session.add_all([mine, theirs])
        session.flush()
        ids = (sought.id, rival_coupon.id, mine.id, theirs.id)
    return Coupons(program["id"], ids[0], rival_program["id"], ids[1], shops[0], shops[1], ids[2], ids[3])


def _names(answer: Any) -> list[str]:
    assert answer.status_code == 200, answer.text
    return re.findall(r'data-testid="coupon-option">([^<]+?) · ', answer.text)


def test_the_console_finds_any_coupon_of_the_programs_organization(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], make_token: TokenMaker
) -> None:
    world = _world(client, operator, make_token, factory)
    console_sign_in(client, factory)
    form = client.get("/console/campaigns/new", params={"program": world.program_id}).text
    assert "林_小满%券" not in form  # beyond the coupons listed
    assert f'hx-get="{CONSOLE}"' in form
    # Before anything is typed, the form suggests its own program's coupons (another organization's
    # program: that organization's), and the browser never restores another program over them.
    rival_form = client.get("/console/campaigns/new", params={"program": world.rival_program})
    assert _names(rival_form) == ["小满邻家券"]
    assert re.search(r'<select name="program_id" required autocomplete="off"', rival_form.text)

    def found(typed: str, program_id: int = world.program_id) -> list[str]:
        return _names(client.get(CONSOLE, params={"program_id": program_id, "coupon_id": typed}))

    # By part of the name (wildcards are the characters themselves), merchants' coupons included;
    # another organization's is never offered.
    assert found("小满") == ["小满别家券", "小满自家券", "林_小满%券"]
    assert found("_小满%") == ["林_小满%券"]
    assert found(f"#{world.sought}")[0] == "林_小满%券"  # by id, first
    assert found(str(world.sought))[0] == "林_小满%券"
    assert "小满邻家券" not in found(str(world.rival_coupon))
    assert len(found("满减券")) == 20  # a few at a time
    assert found("满减券12") == [f"满减券{n}" for n in range(129, 119, -1)]
    assert found("没有这张券") == []
    assert found("小满", world.rival_program) == ["小满邻家券"]  # the picked program's organization
    # The form takes the coupon found, typed with or without '#', and names it when shown again.
    offers.product(client, operator, b.TEE, 5900, title="衣朵 纯棉圆领T恤", commission_rate_bp=1000)
    now = utcnow()
    typed = {
        "program_id": str(world.program_id),
        "name": "小满专场",
        "skus": b.TEE,
        "coupon_id": f"#{world.sought}",
        "boost_percent": "1",
        "starts_at": (now + timedelta(days=1)).strftime(LOCAL),
        "ends_at": (now + timedelta(days=3)).strftime(LOCAL),
    }
    made = client.post("/console/campaigns/new", data=typed, follow_redirects=False)
    assert made.status_code == 303, made.text
    shown = client.get(made.headers["location"]).text
    campaign_id = max(int(i) for i in re.findall(r'data-campaign-id="(\d+)"', shown))
    stored = client.get(f"/api/v1/campaigns/{campaign_id}", headers=operator).json()
    assert stored["coupon_id"] == world.sought
    edit = client.get(f"/console/campaigns/{campaign_id}/edit").text
    assert re.search(rf'data-testid="campaign-coupon-picked">#{world.sought} 林_小满%券', edit)
    assert f'hx-vals=\'{{"program_id": "{world.program_id}"}}\'' in edit


def test_the_portal_offers_a_merchant_its_own_coupons_only(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], make_token: TokenMaker
) -> None:
    world = _world(client, operator, make_token, factory)
    merchant_sign_in(client, factory, world.mine)
    form = client.get("/console/merchant/campaigns/new").text
    assert f'hx-get="{PORTAL}"' in form
    assert "小满自家券" in form
    assert "小满别家券" not in form
    assert "林_小满%券" not in form

    def found(typed: str, program_id: int = world.program_id) -> list[str]:
        return _names(client.get(PORTAL, params={"program_id": program_id, "coupon_id": typed}))

    assert found("小满") == ["小满自家券"]
    assert found("") == ["小满自家券"]
    assert found(str(world.their_coupon)) == []
    assert found(str(world.sought)) == []
    assert client.get(PORTAL, params={"program_id": world.rival_program}).status_code == 404


def test_only_the_consoles_sessions_are_answered_and_bad_input_is_a_4xx(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], make_token: TokenMaker
) -> None:
    world = _world(client, operator, make_token, factory)
    typed = {"program_id": str(world.program_id), "coupon_id": "小满"}
    for path in (CONSOLE, PORTAL):
        anonymous = client.get(path, params=typed, follow_redirects=False)
        assert anonymous.status_code == 303
        assert anonymous.headers["location"].startswith("/console/login")
    member = create_member(client, operator, world.program_id, name="seller")
    member_sign_in(client, make_token(Role.MEMBER, member["id"]))
    for path in (CONSOLE, PORTAL):
        assert client.get(path, params=typed, follow_redirects=False).status_code == 403, path
    client.cookies.clear()
    merchant_sign_in(client, factory, world.mine)
    assert client.get(CONSOLE, params=typed, follow_redirects=False).status_code == 403
    client.cookies.clear()
    console_sign_in(client, factory)
    assert client.get(PORTAL, params=typed, follow_redirects=False).status_code == 403
    for bad in (
        {},
        {"program_id": "abc"},
        {"program_id": "-1"},
        {"program_id": "9" * 30},
        {"program_id": str(world.program_id), "coupon_id": "x" * 121},
    ):
        assert client.get(CONSOLE, params=bad).status_code == 422, bad
    assert client.get(CONSOLE, params={"program_id": 999999}).status_code == 404
    # An operator of the rival organization cannot ask for the program's coupons.
    with transaction(factory) as session:
        rival_org = session.scalar(select(Program.organization_id).where(Program.id == world.rival_program))
        auth.create_user(
            session, username="rival-ops", password=PASSWORD, actor=TEST_ACTOR, organization_id=rival_org
        )
    client.cookies.clear()
    assert (
        client.post("/console/login", data={"username": "rival-ops", "password": PASSWORD}).status_code == 200
    )
    assert client.get(CONSOLE, params=typed).status_code == 404
    assert _names(client.get(CONSOLE, params={**typed, "program_id": world.rival_program})) == ["小满邻家券"]
