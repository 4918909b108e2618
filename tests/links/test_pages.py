"""The landing page, its claim form and rate limits, the member's links page and the console page."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth import service as auth
from neigou.auth.models import Role
from neigou.kit.db import transaction
from neigou.kit.settings import Settings
from neigou.links.models import CouponClaim, Visitor
from neigou.links.ratelimit import ClaimLimiter
from neigou.web.app import create_app
from tests.conftest import TEST_ACTOR, TokenMaker, row_counts
from tests.links.builders import PHONE_UA, LinkWorld, build, make_link
from tests.sign_in import console_sign_in, member_sign_in


@pytest.fixture
def world(client: TestClient, operator: dict[str, str], make_token: TokenMaker) -> LinkWorld:
    return build(client, operator, make_token)


def test_landing_shows_group_price_against_app_price(
    client: TestClient, operator: dict[str, str], world: LinkWorld
) -> None:
    link = make_link(client, operator, member_id=world.member_id, coupon_id=world.hidden_id)
    page = client.get(f"/l/{link['code']}", headers={"user-agent": PHONE_UA})
    assert page.status_code == 200
    assert 'data-testid="group-price">¥24.90<' in page.text
    assert 'data-testid="app-price">¥49.90<' in page.text
    assert "省 ¥25.00" in page.text
    assert "群主·王小美 的群内专享" in page.text
    buy = page.text.split('data-testid="buy"')[0].rsplit('href="', 1)[1].split('"')[0]
    parts = urlsplit(buy.replace("&amp;", "&"))
    assert parse_qs(parts.query) == {"from": ["app"], "sub_id": [link["code"]]}
    english = client.get(f"/p/{link['code']}?lang=en")
    assert "With coupon" in english.text
    assert "Claim the group coupon" in english.text


def test_claim_on_the_landing_page(
    client: TestClient,
    operator: dict[str, str],
    world: LinkWorld,
    factory: sessionmaker[Session],
    app: FastAPI,
) -> None:
    link = make_link(client, operator, member_id=world.member_id, coupon_id=world.hidden_id)
    client.get(f"/l/{link['code']}", headers={"user-agent": PHONE_UA}, follow_redirects=False)
    bad = client.post(f"/p/{link['code']}/claim", data={"phone": "12345"}, follow_redirects=False)
    assert bad.headers["location"].startswith(f"/p/{link['code']}?error=invalid_phone")
    # a page read in English (?lang=en) sends its form there and hears the refusal in English
    english = client.get(f"/p/{link['code']}?lang=en").text
    assert f'action="/p/{link["code"]}/claim?lang=en"' in english
    refused = client.post(f"/p/{link['code']}/claim?lang=en", data={"phone": "12345"}, follow_redirects=False)
    assert refused.headers["location"] == f"/p/{link['code']}?error=invalid_phone&lang=en#coupon"
    assert "mobile number" in client.get(refused.headers["location"]).text
    done = client.post(f"/p/{link['code']}/claim", data={"phone": "13812345678"})
    assert 'data-testid="claimed"' in done.text
    with factory() as session:
        stored = session.scalars(select(CouponClaim)).one()
        visitor = session.scalars(select(Visitor)).one()
    assert (stored.link_id, stored.source.value, stored.customer_ref_masked) == (
        link["id"],
        "landing",
        "138****5678",
    )
    assert visitor.customer_ref_masked == "138****5678"
    # The known visitor claims again in one tap and is told it holds the coupon already.
    again = client.post(f"/p/{link['code']}/claim", data={}, follow_redirects=False)
    assert again.headers["location"].startswith(f"/p/{link['code']}?error=limit_reached")
    app.state.links.flush()
    stats = client.get(f"/api/v1/links/{link['code']}", headers=operator).json()
    assert (stats["clicks"], stats["claims"]) == (1, 1)


def test_the_landing_form_takes_a_mobile_number_only_and_one_phone_is_one_customer(
    client: TestClient,
    operator: dict[str, str],
    world: LinkWorld,
    factory: sessionmaker[Session],
    app: FastAPI,
) -> None:
    app.state.links.limiter = ClaimLimiter.for_redis(None, per_ip="100/minute", per_visitor="100/minute")
    link = make_link(client, operator, member_id=world.member_id, coupon_id=world.hidden_id)
    page = client.get(f"/l/{link['code']}?customer_ref=anyone", headers={"user-agent": PHONE_UA})
    assert 'name="customer_ref"' not in page.text
    assert 'data-testid="phone"' in page.text
    # A free-text reference is not a customer on an anonymous form.
    typed = client.post(f"/p/{link['code']}/claim", data={"customer_ref": "x-1"}, follow_redirects=False)
    assert typed.headers["location"].startswith(f"/p/{link['code']}?error=phone_required")
    with factory() as session:
        assert session.scalars(select(CouponClaim)).all() == []
    first = client.post(f"/p/{link['code']}/claim", data={"phone": "13812345678"}, follow_redirects=False)
    assert first.headers["location"].startswith(f"/p/{link['code']}?claimed=1")
    for written in (
        "+86 138 1234 5678",
        "138-1234-5678",
        "１３８１２３４５６７８",
        "١٣٨١٢٣٤٥٦٧٨",
        "۱۳۸۱۲۳۴۵۶۷۸",
        "0086 138 1234 5678",
        "(+86) 138.1234.5678",
    ):
        client.cookies.clear()  # a new browser each time: only the number says who it is
        again = client.post(f"/p/{link['code']}/claim", data={"phone": written}, follow_redirects=False)
        assert again.headers["location"].startswith(f"/p/{link['code']}?error=limit_reached"), written
    with factory() as session:
        assert len(session.scalars(select(CouponClaim)).all()) == 1


def test_claims_are_rate_limited(
    client: TestClient, operator: dict[str, str], world: LinkWorld, app: FastAPI
) -> None:
    app.state.links.limiter = ClaimLimiter.for_redis(None, per_ip="3/minute", per_visitor="2/minute")
    link = make_link(client, operator, member_id=world.member_id, coupon_id=world.hidden_id)
    statuses = [
        client.post(
            f"/p/{link['code']}/claim", data={"phone": f"1381234567{n}"}, follow_redirects=False
        ).status_code
        for n in range(3)
    ]
    limited = client.post(f"/p/{link['code']}/claim", data={"phone": "13812345679"}, follow_redirects=False)
    assert [*statuses, limited.status_code] == [303, 303, 303, 429]
    assert 1 <= int(limited.headers["Retry-After"]) <= 60


def test_member_workspace_lists_and_makes_links(
    client: TestClient,
    operator: dict[str, str],
    world: LinkWorld,
    factory: sessionmaker[Session],
    app: FastAPI,
) -> None:
    with transaction(factory) as session:
        _, secret = auth.create_token(session, role=Role.MEMBER, member_id=world.member_id, actor=TEST_ACTOR)
    member_sign_in(client, secret)
    page = client.get("/m/links")
    assert page.status_code == 200
    assert "【隐藏券】澜泉洗发水 群内专享券 ¥25" in page.text
    # in English the marker is a label, capitalised like the coupon list's visibility
    assert "【Hidden】澜泉洗发水 群内专享券 ¥25" in client.get("/m/links?lang=en").text
    assert "宝妈好物1群" in page.text
    assert "芬香内购1群" not in page.text
    made = client.post(
        "/m/links",
        data={"sku": "LQ-SHAMPOO-500", "coupon_id": str(world.hidden_id), "group_id": str(world.group_id)},
    )
    assert 'data-testid="link-created"' in made.text
    code = made.text.split('data-testid="my-link" data-code="')[1].split('"')[0]
    foreign = client.post("/m/links", data={"sku": "LQ-SHAMPOO-500", "group_id": str(world.other_group_id)})
    assert 'data-code="group_not_owned"' in foreign.text
    client.get(f"/l/{code}", headers={"user-agent": PHONE_UA}, follow_redirects=False)
    app.state.links.flush()
    listed = client.get("/m/links").text
    assert 'data-testid="link-clicks">1<' in listed
    poster = client.get(f"/m/links/{code}/poster.png")
    assert (poster.status_code, poster.headers["content-type"]) == (200, "image/png")
    client.post(f"/m/links/{code}/active", data={"active": "false"})
    assert 'data-testid="link-disabled"' in client.get("/m/links").text
    other = make_link(client, operator, member_id=world.other_member_id)
    client.post(f"/m/links/{other['code']}/active", data={"active": "false"})
    assert client.get(f"/api/v1/links/{other['code']}", headers=operator).json()["active"] is True


def test_console_lists_links(
    client: TestClient, operator: dict[str, str], world: LinkWorld, factory: sessionmaker[Session]
) -> None:
    link = make_link(client, operator, member_id=world.member_id, coupon_id=world.hidden_id)
    console_sign_in(client, factory)
    page = client.get(f"/console/links?program={world.program_id}")
    assert page.status_code == 200
    assert link["code"] in page.text
    assert "群主·王小美" in page.text
    assert "【隐藏券】澜泉洗发水 群内专享券 ¥25" in page.text
    english = client.get(f"/console/links?program={world.program_id}&lang=en").text
    assert "【Hidden】澜泉洗发水 群内专享券 ¥25" in english
    assert "【hidden】" not in english
    client.post(f"/console/links/{link['code']}/active", data={"active": "false"})
    assert client.get(f"/api/v1/links/{link['code']}", headers=operator).json()["active"] is False


def test_console_makes_a_link_for_a_member(
    client: TestClient, operator: dict[str, str], world: LinkWorld, factory: sessionmaker[Session]
) -> None:
    form = {"member_id": str(world.member_id), "sku": "LQ-SHAMPOO-500", "coupon_id": str(world.hidden_id)}
    anonymous = client.post("/console/links", data=form, follow_redirects=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/console/login")
    console_sign_in(client, factory)
    made = client.post(
        "/console/links", data=form | {"group_id": str(world.group_id)}, follow_redirects=False
    )
    assert made.status_code == 303
    code = made.headers["location"].split("created=", 1)[1]
    stored = client.get(f"/api/v1/links/{code}", headers=operator).json()
    assert (stored["member_id"], stored["coupon_id"], stored["group_id"]) == (
        world.member_id,
        world.hidden_id,
        world.group_id,
    )
    assert 'data-testid="link-created"' in client.get(made.headers["location"]).text
    before = row_counts(factory)
    theirs = client.post("/console/links", data=form | {"group_id": str(world.other_group_id)})
    assert theirs.status_code == 422
    assert 'data-code="group_not_owned"' in theirs.text
    typed = client.post("/console/links", data=form | {"member_id": "王芳"})
    assert typed.status_code == 422
    assert 'data-code="invalid_integer"' in typed.text
    unknown = client.post("/console/links", data=form | {"member_id": "999999"})
    assert unknown.status_code == 404
    assert row_counts(factory) == before


def test_the_claim_form_tick_adds_the_shopper_to_the_sharers_customer_book(
    client: TestClient, operator: dict[str, str], world: LinkWorld
) -> None:
    link = make_link(client, operator, member_id=world.member_id, coupon_id=world.hidden_id)
    page = client.get(f"/p/{link['code']}")
    assert 'data-testid="marketing-consent"' in page.text
    assert "checked" not in page.text.split('data-testid="marketing-consent"')[0].rsplit("<input", 1)[1]
    client.post(f"/p/{link['code']}/claim", data={"phone": "13812345670"})
    book = f"/api/v1/members/{world.member_id}/customers"
    assert client.get(book, headers=operator).json() == []
    client.cookies.clear()
    client.post(f"/p/{link['code']}/claim", data={"phone": "138 1234 5671", "marketing": "true"})
    [customer] = client.get(book, headers=operator).json()
    assert (customer["customer_ref_masked"], customer["source"], customer["marketing_consent"]) == (
        "138****5671",
        "claim",
        True,
    )
    history = client.get(f"/api/v1/customers/{customer['id']}/consents", headers=operator).json()["history"]
    assert [(c["granted"], c["source"]) for c in history] == [(True, "landing")]


def test_the_visitor_cookie_is_secure_under_https(
    settings: Settings,
    factory: sessionmaker[Session],
    client: TestClient,
    operator: dict[str, str],
    world: LinkWorld,
) -> None:
    """Like the session cookies: ``Secure`` on an https public URL or a request that came over HTTPS,
    from the redirect (its first, full answer and its fast path) and the landing page alike."""
    code = make_link(client, operator, member_id=world.member_id, coupon_id=world.hidden_id)["code"]
    https = settings.model_copy(update={"public_url": "https://shop.example", "trusted_hosts": "*"})
    cases = (
        (create_app(https, session_factory=factory), "http://testserver", True),
        (create_app(settings, session_factory=factory), "https://testserver", True),
        (create_app(settings, session_factory=factory), "http://testserver", False),
    )
    for app, base_url, secure in cases:
        cookies: list[str] = []
        with TestClient(app, base_url=base_url, follow_redirects=False) as browser:
            for path in (f"/l/{code}", f"/l/{code}", f"/p/{code}"):  # the second redirect: the fast path
                browser.cookies.clear()  # a new visitor each time
                cookies.append(browser.get(path).headers["set-cookie"])
        assert all(c.startswith("nv=") and ("; Secure" in c) is secure for c in cookies), (base_url, cookies)
