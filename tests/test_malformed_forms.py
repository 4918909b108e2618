"""Bad form posts never get a 500: console, merchant portal and workspace forms (campaigns' create and
edit among them, the portal's posted as a merchant) get bad numbers, dates, NUL and very long text, one
field at a time, and an empty post. Each answer is a re-rendered form or a 4xx, never a 5xx, and never
the sign-in page or a refusal at the door (the sweep must reach the form it means to test). The world is
the API sweep's (``tests/test_no_server_errors.py``)."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth.models import Role
from neigou.web import problems
from tests.campaigns import builders as campaigns
from tests.conftest import TokenMaker, bearer
from tests.events.builders import add_employees, create_event
from tests.offers import factories as offers
from tests.on_loop import send_all
from tests.server_errors import LONG, Unlogged, World, build_world
from tests.sign_in import console_sign_in, member_sign_in, merchant_sign_in


@pytest.fixture(autouse=True)
def _unlogged(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(problems, "log", Unlogged())


@pytest.fixture
def world(client: TestClient, operator: dict[str, str], make_token: TokenMaker) -> World:
    built = build_world(client, operator, make_token)
    # A live event with the member on its employee list, for the invitation form.
    event_id = create_event(client, operator, built.ids["program_id"])
    add_employees(
        client, operator, event_id, [{"employee_no": "F1", "name": "f", "member_id": built.ids["member_id"]}]
    )
    built.ids["event_id"] = event_id
    return built


FORM_BAD = ["", LONG, "9" * 40, "-1", "abc", "1.999", "2026-02-30T10:00", "0001-01-01T00:00", "nul\x00"]
OPENS, CLOSES = "2026-03-01T10:00", "2026-04-01T10:00"
CONSOLE_FORMS: list[tuple[str, dict[str, str]]] = [
    (
        "/console/products/new",
        {"sku": "FORM-SKU", "title": "t", "price_yuan": "9.90", "commission_percent": "10", "active": "on"},
    ),
    (
        "/console/products/{product_id}/edit",
        {"title": "t", "price_yuan": "9.90", "commission_percent": "10", "image_url": "", "shop_url": ""},
    ),
    (
        "/console/coupons/new",
        {
            "name": "c",
            "kind": "amount_off",
            "value": "5",
            "total_quantity": "10",
            "per_customer_limit": "1",
            "visibility": "public",
            "starts_at": OPENS,
            "ends_at": CLOSES,
            "skus": offers.MATRIX_SKU,
            "min_spend_yuan": "",
            "cap_yuan": "",
        },
    ),
    (
        "/console/promotions/new",
        {
            "name": "p",
            "kind": "spend_threshold_off",
            "min_spend_yuan": "100",
            "off_yuan": "10",
            "starts_at": OPENS,
            "ends_at": CLOSES,
            "priority": "1",
            "min_quantity": "",
            "pay_rate_percent": "",
            "event_prices": "",
        },
    ),
    (
        "/console/coupons/{coupon_id}/edit",
        {
            "name": "c",
            "status": "active",
            "total_quantity": "20",
            "value": "5",
            "min_spend_yuan": "1",
            "cap_yuan": "",
            "visibility": "public",
            "ends_at": "2099-01-01T10:00",
        },
    ),
    (
        "/console/promotions/{promotion_id}/edit",
        {
            "name": "p",
            "status": "paused",
            "min_spend_yuan": "100",
            "off_yuan": "10",
            "min_quantity": "2",
            "pay_rate_percent": "80",
            "event_prices": "",
            "ends_at": "2099-01-01T10:00",
        },
    ),
    ("/console/quote", {"sku": offers.MATRIX_SKU, "quantity": "1", "coupon_id": "", "at": ""}),
    ("/console/withdrawals/{withdrawal_id}/reject", {"reason": "r"}),
    (
        "/console/campaigns/new",
        {
            "program_id": "{program_id}",
            "brand_id": "",
            "name": "活动",
            "skus": offers.MATRIX_SKU,
            "starts_at": "2099-01-01T10:00",
            "ends_at": "2099-02-01T10:00",
            "coupon_id": "",
            "boost_percent": "5",
            "copy_text": "",
        },
    ),
    (
        "/console/campaigns/{campaign_id}/edit",
        {
            "name": "活动改",
            "skus": offers.MATRIX_SKU,
            "starts_at": "2099-01-01T10:00",
            "ends_at": "2099-03-01T10:00",
            "coupon_id": "",
            "boost_percent": "5",
            "copy_text": "文案",
        },
    ),
]
SHOP_SKU = "SWEEP-SHOP-1"
# The merchant portal's campaign forms, posted as the merchant (its own sku and campaign).
MERCHANT_FORMS: list[tuple[str, dict[str, str]]] = [
    (
        "/console/merchant/campaigns/new",
        {
            "program_id": "{program_id}",
            "brand_id": "",
            "name": "店铺活动",
            "skus": SHOP_SKU,
            "starts_at": "2099-01-01T10:00",
            "ends_at": "2099-02-01T10:00",
            "coupon_id": "",
            "boost_percent": "5",
            "copy_text": "",
        },
    ),
    (
        "/console/merchant/campaigns/{merchant_campaign_id}/edit",
        {
            "name": "店铺活动改",
            "skus": SHOP_SKU,
            "starts_at": "2099-01-01T10:00",
            "ends_at": "2099-03-01T10:00",
            "coupon_id": "",
            "boost_percent": "5",
            "copy_text": "文案",
        },
    ),
]
WORKSPACE_FORMS: list[tuple[str, dict[str, str]]] = [
    ("/m/earnings/withdrawals", {"amount": "1", "request_id": "form-w"}),
    ("/m/events/{event_id}/invitations", {"count": "1", "request_id": "form-i"}),
    ("/m/groups", {"name": "g", "platform": "wechat"}),
    ("/m/groups/{group_id}/counts", {"member_count": "10"}),
    ("/m/links", {"sku": offers.MATRIX_SKU, "coupon_id": "", "group_id": ""}),
    (
        "/m/customers",
        {
            "phone": "13900005555",
            "name": "n",
            "spending_power": "high",
            "birthday": "1990-05-17",
            "consent": "true",
        },
    ),
]


def _form_failures(
    client: TestClient, forms: list[tuple[str, dict[str, str]]], ids: dict[str, Any]
) -> list[str]:
    posts = []
    for path, template in forms:
        url = path.format(**ids)
        base = {name: value.format(**ids) for name, value in template.items()}
        posts += [(url, {**base, name: bad}) for name in base for bad in FORM_BAD] + [(url, {})]
    return [wrong for answer in send_all(client, posts, _post) for wrong in answer]


async def _post(http: httpx2.AsyncClient, form: tuple[str, dict[str, str]]) -> list[str]:
    """What is wrong with the answer to one form post (nothing, when the list is empty)."""
    url, post = form
    try:
        response = await http.post(url, data=post, follow_redirects=False)
    except Exception as exc:  # the app's 500 handler re-raises into the client
        return [f"500 {type(exc).__name__}: {str(exc)[:300]} ← POST {url} {str(post)[:300]}"]
    failures = []
    if response.status_code >= 500:
        failures.append(f"{response.status_code} ← POST {url} {str(post)[:300]}")
    if response.headers.get("location", "").startswith(("/console/login", "/m/expired")):
        failures.append(f"signed out ← POST {url}")
    if response.status_code in {401, 403}:  # the sweep must reach the form, not its door
        failures.append(f"{response.status_code} (not let in) ← POST {url}")
    return failures


def _merchant_world(client: TestClient, world: World, make_token: TokenMaker) -> tuple[int, int]:
    """A merchant with a product of its own and a campaign of it open until 2099: its id and the
    campaign's."""
    operator = world.tokens["operator"]
    shop = client.post("/api/v1/merchants", json={"code": "sweep-shop", "name": "店"}, headers=operator)
    assert shop.status_code == 201, shop.text
    merchant_id: int = shop.json()["id"]
    product = {"sku": SHOP_SKU, "title": "t", "price_fen": 990, "commission_rate_bp": 1000}
    made = client.post("/api/v1/products", json={**product, "merchant_id": merchant_id}, headers=operator)
    assert made.status_code == 201, made.text
    body = {
        **campaigns.matrix_campaign(world.ids["program_id"]),
        "skus": [SHOP_SKU],
        "starts_at": "2099-01-01T10:00:00+08:00",
        "ends_at": "2099-02-01T10:00:00+08:00",
    }
    merchant = bearer(make_token(Role.MERCHANT, merchant_id=merchant_id))
    campaign = client.post("/api/v1/campaigns", json=body, headers=merchant)
    assert campaign.status_code == 201, campaign.text
    return merchant_id, campaign.json()["id"]


def test_malformed_form_posts_never_get_a_server_error(
    client: TestClient, world: World, factory: sessionmaker[Session], make_token: TokenMaker
) -> None:
    """Console, merchant portal and workspace forms with bad numbers, dates and very long text re-render
    or answer 4xx."""
    console_sign_in(client, factory, "forms", "forms-password")
    later = {**campaigns.matrix_campaign(world.ids["program_id"]), "starts_at": "2099-01-01T10:00:00+08:00"}
    campaign = client.post(
        "/api/v1/campaigns",
        json={**later, "ends_at": "2099-02-01T10:00:00+08:00"},
        headers=world.tokens["operator"],
    )
    assert campaign.status_code == 201, campaign.text
    failures = _form_failures(client, CONSOLE_FORMS, {**world.ids, "campaign_id": campaign.json()["id"]})
    member_token = world.tokens["member"]["Authorization"].removeprefix("Bearer ")
    member_sign_in(client, member_token)
    failures += _form_failures(client, WORKSPACE_FORMS, world.ids)
    shop, shop_campaign = _merchant_world(client, world, make_token)
    merchant_sign_in(client, factory, shop)
    assert client.get(f"/console/merchant/campaigns/{shop_campaign}/edit").status_code == 200
    shop_ids = {**world.ids, "merchant_campaign_id": shop_campaign}
    failures += _form_failures(client, MERCHANT_FORMS, shop_ids)
    assert not failures, f"{len(failures)} form posts went wrong:\n" + "\n".join(failures)
