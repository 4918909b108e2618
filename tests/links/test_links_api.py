"""Share links through the API: who may make them, codes, groups, disable/enable, quotes through a link."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.audit.models import AuditEntry
from neigou.links.models import ShareLink
from tests.conftest import TokenMaker, row_counts
from tests.links.builders import SHAMPOO, LinkWorld, build, claim, make_link


@pytest.fixture
def world(client: TestClient, operator: dict[str, str], make_token: TokenMaker) -> LinkWorld:
    return build(client, operator, make_token)


def test_operator_makes_a_link_with_hidden_coupon_and_group(
    client: TestClient, operator: dict[str, str], world: LinkWorld, factory: sessionmaker[Session]
) -> None:
    link = make_link(
        client, operator, member_id=world.member_id, coupon_id=world.hidden_id, group_id=world.group_id
    )
    assert re.fullmatch(r"[0-9A-Za-z]{8}", link["code"])
    assert link["url"] == f"http://testserver/l/{link['code']}"
    assert (link["member_id"], link["coupon_id"], link["group_id"], link["program_id"]) == (
        world.member_id,
        world.hidden_id,
        world.group_id,
        world.program_id,
    )
    assert (link["clicks"], link["claims"], link["active"]) == (0, 0, True)
    with factory() as session:
        entry = session.query(AuditEntry).filter_by(action="link.create").one()
        assert entry.after is not None
        assert entry.after["code"] == link["code"]


def test_codes_are_random_and_unique(client: TestClient, operator: dict[str, str], world: LinkWorld) -> None:
    codes = [make_link(client, operator, member_id=world.member_id)["code"] for _ in range(20)]
    assert len(set(codes)) == 20
    assert codes != sorted(codes)


def test_member_makes_links_only_for_itself(
    client: TestClient, world: LinkWorld, factory: sessionmaker[Session]
) -> None:
    own = make_link(client, world.member_token, member_id=world.member_id, group_id=world.group_id)
    assert own["member_id"] == world.member_id
    before = row_counts(factory)
    other = client.post(
        "/api/v1/links", json={"member_id": world.other_member_id, "sku": SHAMPOO}, headers=world.member_token
    )
    assert (other.status_code, other.json()["code"]) == (403, "other_member")
    foreign_group = client.post(
        "/api/v1/links",
        json={"member_id": world.member_id, "sku": SHAMPOO, "group_id": world.other_group_id},
        headers=world.member_token,
    )
    assert (foreign_group.status_code, foreign_group.json()["code"]) == (422, "group_not_owned")
    assert row_counts(factory) == before


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"sku": "NOPE"}, "unknown_sku"),
        ({"coupon_id": 999_999}, "unknown_coupon"),
        ({"group_id": 999_999}, "group_not_owned"),
    ],
)
def test_refusals(
    client: TestClient, operator: dict[str, str], world: LinkWorld, body: dict[str, object], code: str
) -> None:
    response = client.post(
        "/api/v1/links", json={"member_id": world.member_id, "sku": SHAMPOO, **body}, headers=operator
    )
    assert (response.status_code, response.json()["code"]) == (422, code)
    assert response.headers["content-type"] == "application/problem+json"


def test_coupon_must_cover_the_sku(client: TestClient, operator: dict[str, str], world: LinkWorld) -> None:
    client.post(
        "/api/v1/products",
        json={"sku": "OTHER-1", "title": "别的", "price_fen": 1000, "commission_rate_bp": 100},
        headers=operator,
    )
    response = client.post(
        "/api/v1/links",
        json={"member_id": world.member_id, "sku": "OTHER-1", "coupon_id": world.hidden_id},
        headers=operator,
    )
    assert (response.status_code, response.json()["code"]) == (422, "coupon_not_for_sku")


def test_list_get_disable_enable(client: TestClient, operator: dict[str, str], world: LinkWorld) -> None:
    mine = make_link(client, operator, member_id=world.member_id)
    theirs = make_link(client, operator, member_id=world.other_member_id)
    listed = client.get("/api/v1/links", headers=world.member_token).json()
    assert [link["code"] for link in listed] == [mine["code"]]
    everyone = client.get(f"/api/v1/links?program_id={world.program_id}", headers=operator).json()
    assert {link["code"] for link in everyone} == {mine["code"], theirs["code"]}
    other = client.get(f"/api/v1/links/{theirs['code']}", headers=world.member_token)
    assert (other.status_code, other.json()["code"]) == (403, "other_member")
    off = client.patch(f"/api/v1/links/{mine['code']}", json={"active": False}, headers=world.member_token)
    assert off.json()["active"] is False
    assert client.get(f"/l/{mine['code']}", follow_redirects=False).status_code == 410
    on = client.patch(f"/api/v1/links/{mine['code']}", json={"active": True}, headers=operator)
    assert on.json()["active"] is True
    assert client.get(f"/l/{mine['code']}", follow_redirects=False).status_code == 302
    assert client.get("/api/v1/links/zzzzzzzz", headers=operator).json()["code"] == "link_not_found"


def test_quote_through_a_link_unlocks_its_hidden_coupon(
    client: TestClient, operator: dict[str, str], world: LinkWorld, factory: sessionmaker[Session]
) -> None:
    link = make_link(client, operator, member_id=world.member_id, coupon_id=world.hidden_id)
    items = [{"sku": SHAMPOO, "quantity": 1}]
    app_price = client.post("/api/v1/quotes", json={"items": items}, headers=world.integration).json()
    through_link = {"items": items, "link_code": link["code"], "customer_ref": "138 1234 5678"}
    unclaimed = client.post("/api/v1/quotes", json=through_link, headers=world.integration).json()
    anyone = client.post(
        "/api/v1/quotes", json={"items": items, "link_code": link["code"]}, headers=world.integration
    ).json()
    # The link alone does not give its hidden coupon: the customer must have claimed it.
    for refused in (unclaimed, anyone):
        assert refused["payable_fen"] == 4990
        assert [(r["id"], r["reason"]) for r in refused["refused"]] == [(world.hidden_id, "not_claimed")]
    claimed = claim(
        client, world.integration, world.hidden_id, customer_ref="13812345678", link_code=link["code"]
    )
    assert claimed.status_code == 201, claimed.text
    group_price = client.post("/api/v1/quotes", json=through_link, headers=world.integration).json()
    assert (app_price["payable_fen"], group_price["payable_fen"]) == (4990, 2490)
    assert group_price["coupon_discount_fen"] == 2500
    other = client.post(
        "/api/v1/quotes", json={**through_link, "customer_ref": "13900000000"}, headers=world.integration
    ).json()
    assert other["payable_fen"] == 4990
    unknown = client.post("/api/v1/quotes", json={"items": items, "link_code": "nope1234"}, headers=operator)
    assert (unknown.status_code, unknown.json()["code"]) == (422, "unknown_link")
    with factory.begin() as session:
        session.query(ShareLink).filter_by(code=link["code"]).update({"active": False})
    disabled = client.post(
        "/api/v1/quotes", json={"items": items, "link_code": link["code"]}, headers=operator
    )
    assert (disabled.status_code, disabled.json()["code"]) == (409, "link_disabled")


def test_poster_is_a_png(client: TestClient, operator: dict[str, str], world: LinkWorld) -> None:
    link = make_link(client, operator, member_id=world.member_id, coupon_id=world.hidden_id)
    response = client.get(f"/api/v1/links/{link['code']}/poster.png", headers=world.member_token)
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert response.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(response.content) > 10_000
