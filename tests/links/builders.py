"""A small world for the links tests, built through the API: a program, members, the shampoo with its
hidden ¥25 coupon, a group; plus helpers to follow links and read what was recorded."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.clock import utcnow
from neigou.kit.db import transaction
from neigou.links.click_signing import signed_click_query
from neigou.links.clicks import ClickRow, click_row, new_click_ref
from neigou.links.models import Binding, LinkClick, Touch
from neigou.links.useragent import classify
from neigou.offers.models import CouponTemplate
from neigou.offers.offer_rules import CouponKind, CouponVisibility
from neigou.programs.scope import organization_for_write
from tests.conftest import TokenMaker, bearer
from tests.factories import create_member, create_program
from tests.groups.builders import create_group
from tests.offers.factories import coupon, product

SHAMPOO = "LQ-SHAMPOO-500"
PHONE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Mobile/15E148 MicroMessenger/8.0.40"
)


@dataclass
class LinkWorld:
    """Ids and tokens of the links tests."""

    program_id: int
    member_id: int
    other_member_id: int
    group_id: int
    other_group_id: int
    hidden_id: int
    public_id: int
    member_token: dict[str, str]
    integration: dict[str, str]


def build(client: TestClient, operator: dict[str, str], make_token: TokenMaker, **program: Any) -> LinkWorld:
    """The shampoo (¥49.90), its hidden ¥25 coupon (stock 5, one each), a public ¥5 coupon, two owners."""
    prog = create_program(client, operator, code="partners", **program)
    owner = create_member(client, operator, prog["id"], name="群主·王小美")
    other = create_member(client, operator, prog["id"], name="群主·李阿强")
    product(
        client,
        operator,
        SHAMPOO,
        4990,
        title="澜泉 氨基酸控油蓬松洗发水 500ml",
        shop_url="https://shop.example/item/LQ-SHAMPOO-500?from=app",
    )
    window = {
        "starts_at": (utcnow() - timedelta(days=20)).isoformat(),
        "ends_at": (utcnow() + timedelta(days=30)).isoformat(),
    }
    hidden = coupon(
        client,
        operator,
        2500,
        name="澜泉洗发水 群内专享券 ¥25",
        skus=[SHAMPOO],
        visibility="hidden",
        total_quantity=5,
        min_spend_fen=4900,
        **window,
    )
    public = coupon(client, operator, 500, name="新人立减5元", **window)
    group = create_group(client, operator, owner["id"], name="宝妈好物1群")
    other_group = create_group(client, operator, other["id"], name="芬香内购1群")
    return LinkWorld(
        program_id=prog["id"],
        member_id=owner["id"],
        other_member_id=other["id"],
        group_id=group["id"],
        other_group_id=other_group["id"],
        hidden_id=hidden["id"],
        public_id=public["id"],
        member_token=bearer(make_token("member", owner["id"])),
        integration=bearer(make_token("integration")),
    )


def make_link(client: TestClient, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    """POST /links and insist on 201."""
    response = client.post("/api/v1/links", json={"sku": SHAMPOO, **body}, headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def shop_secret(client: TestClient, operator: dict[str, str], program_id: int, name: str = "品牌商城") -> str:
    """A shop registered for the program; its webhook secret, which signs its click references."""
    response = client.post(
        f"/api/v1/programs/{program_id}/integrations", json={"name": name}, headers=operator
    )
    assert response.status_code == 201, response.text
    secret: str = response.json()["inbound_secret"]
    return secret


def signed_path(secret: str, code: str, customer_ref: str, *, at: datetime | None = None) -> str:
    """``/l/{code}`` naming ``customer_ref``, signed with ``secret`` (now, or at ``at``)."""
    query = signed_click_query(secret, code=code, customer_ref=customer_ref, at=at or utcnow())
    return f"/l/{code}?{query}"


def follow(client: TestClient, path: str) -> None:
    """GET a share link's ``/l/{code}…`` and insist on the redirect to its landing page."""
    response = client.get(path, follow_redirects=False)
    code = path.split("?", maxsplit=1)[0].removeprefix("/l/")
    assert (response.status_code, response.headers["location"]) == (302, f"/p/{code}")


class Recorded(NamedTuple):
    """What followed links left once the click buffer is written: the clicks' customer hashes (in
    order), the touches ``(customer hash, member, group, kind)`` and the bindings ``(customer hash,
    member)``."""

    hashes: list[str | None]
    touches: list[tuple[str, int, int | None, str]]
    bindings: list[tuple[str, int]]


def recorded(app: FastAPI, factory: sessionmaker[Session]) -> Recorded:
    """Write the app's buffered clicks; what they left (``Recorded``)."""
    app.state.links.flush()
    with factory() as session:
        return Recorded(
            [c.customer_ref_hash for c in clicks(factory)],
            [
                (t.customer_ref_hash, t.member_id, t.group_id, t.kind.value)
                for t in session.scalars(select(Touch).order_by(Touch.id))
            ],
            [
                (b.customer_ref_hash, b.member_id)
                for b in session.scalars(select(Binding).order_by(Binding.customer_ref_hash))
            ],
        )


def clicks(factory: sessionmaker[Session]) -> list[LinkClick]:
    """The stored clicks, oldest first."""
    with factory() as session:
        return list(session.scalars(select(LinkClick).order_by(LinkClick.id)))


def claim(client: TestClient, headers: dict[str, str], coupon_id: int, **body: Any) -> Any:
    """POST a claim (the response)."""
    return client.post(f"/api/v1/coupons/{coupon_id}/claims", json=body, headers=headers)


def matrix_world(client: TestClient, operator: dict[str, str], member_id: int, sku: str) -> dict[str, Any]:
    """A link of the matrix's own member, a coupon open now and a claim of it through the link, for
    tests/authz."""
    now = utcnow()
    open_coupon = coupon(
        client,
        operator,
        100,
        name="matrix claim",
        starts_at=(now - timedelta(days=1)).isoformat(),
        ends_at=(now + timedelta(days=1)).isoformat(),
    )
    link = make_link(client, operator, member_id=member_id, sku=sku)
    made = claim(client, operator, open_coupon["id"], customer_ref="13800000009", link_code=link["code"])
    assert made.status_code == 201, made.text
    return {"code": link["code"], "claim_coupon_id": open_coupon["id"], "claim_id": made.json()["id"]}


MATRIX_CLAIM = {"customer_ref": "13800000000"}


def click_event(link_id: int, member_id: int, program_id: int) -> ClickRow:
    """A click on a link from a phone, now, as the redirect records it."""
    return click_row(
        ref=new_click_ref(),
        link_id=link_id,
        program_id=program_id,
        member_id=member_id,
        clicked_at=utcnow(),
        visitor_id=None,
        ua_class=classify(PHONE_UA),
    )


def limited_coupon(factory: sessionmaker[Session], *, total: int, per_customer: int) -> CouponTemplate:
    """A public ¥1-off coupon open since yesterday, with this stock and per-customer limit."""
    now = utcnow()
    with transaction(factory) as session:
        row = CouponTemplate(
            organization_id=organization_for_write(session),
            name="限量券",
            kind=CouponKind.AMOUNT_OFF,
            value=100,
            min_spend_fen=0,
            visibility=CouponVisibility.PUBLIC,
            total_quantity=total,
            claimed_quantity=0,
            per_customer_limit=per_customer,
            starts_at=now - timedelta(days=1),
            ends_at=now + timedelta(days=1),
            created_at=now,
        )
        session.add(row)
    return row
