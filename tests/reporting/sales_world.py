"""A world for the group sales tests: two owners with three groups, share links made for them, and
clicks, claims, orders, refunds and counts placed around the Asia/Shanghai day boundaries of the
range 10–11 March 2026.

Owner A (super member, 20% share, invited by a mentor with a 10% override) runs groups A1 and A2;
owner B (super member, no inviter) runs B1. The product pays a 20% pool, so A's sale of P fen pays
A ``P × 4%`` and the mentor ``P × 2%``; B's pays B ``P × 4%``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.db import transaction
from neigou.links import claims
from neigou.links import service as links
from neigou.links.clicks import click_row, new_click_ref, store_clicks
from neigou.links.models import ClaimSource
from neigou.links.repository import get_link_by_code
from neigou.links.schemas import LinkCreate
from neigou.links.useragent import UaClass
from tests.conftest import SECRET, TEST_ACTOR, TokenMaker, bearer
from tests.factories import create_member, create_program
from tests.groups.builders import create_group, post_count
from tests.offers.factories import coupon, product

SKU = "LQ-SHAMPOO-500"
FROM, TO = "2026-03-10", "2026-03-11"
MADE = "2026-03-01T09:00:00+08:00"
BEFORE = "2026-03-09T23:59:59+08:00"  # the last second before the range
FIRST = "2026-03-10T00:00:00+08:00"  # the first second of the range
LAST = "2026-03-11T23:59:59+08:00"  # the last second of the range
AFTER = "2026-03-12T00:00:00+08:00"  # the first second after it


@dataclass
class SalesWorld:
    """Ids, link codes and tokens."""

    program_id: int
    mentor: int
    owner_a: int
    owner_b: int
    a1: int
    a2: int
    b1: int
    link_a1: str
    link_b1: str
    coupon_id: int
    owner_a_token: dict[str, str]
    owner_b_token: dict[str, str]
    integration: dict[str, str]


def _link(factory: sessionmaker[Session], member_id: int, coupon_id: int, group_id: int) -> str:
    """A group link made on 1 March, while the coupon was open (through the links service)."""
    with transaction(factory) as session:
        data = LinkCreate(member_id=member_id, sku=SKU, coupon_id=coupon_id, group_id=group_id)
        return links.create_link(session, data=data, actor=TEST_ACTOR, at=_at(MADE)).code


def build(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, factory: sessionmaker[Session]
) -> SalesWorld:
    """Program, members, groups, the product, a hidden coupon open in March 2026, and two group links."""
    program = create_program(client, operator, code="partners")
    joined = "2025-12-01T00:00:00+08:00"
    mentor = create_member(client, operator, program["id"], "导师·陈", tier="mentor", joined_at=joined)
    owner_a = create_member(
        client,
        operator,
        program["id"],
        "群主·王小美",
        tier="super_member",
        inviter_id=mentor["id"],
        joined_at=joined,
    )
    owner_b = create_member(
        client, operator, program["id"], "群主·李阿强", tier="super_member", joined_at=joined
    )
    product(client, operator, SKU, 4990, commission_rate_bp=2000)
    hidden = coupon(
        client,
        operator,
        2500,
        name="群内专享券",
        skus=[SKU],
        visibility="hidden",
        total_quantity=100,
        starts_at="2026-03-01T00:00:00+08:00",
        ends_at="2026-04-01T00:00:00+08:00",
    )
    a1 = create_group(client, operator, owner_a["id"], name="宝妈好物1群")
    a2 = create_group(client, operator, owner_a["id"], name="宝妈好物2群")
    b1 = create_group(client, operator, owner_b["id"], name="芬香内购1群")
    link_a1 = _link(factory, owner_a["id"], hidden["id"], a1["id"])
    link_b1 = _link(factory, owner_b["id"], hidden["id"], b1["id"])
    return SalesWorld(
        program_id=program["id"],
        mentor=mentor["id"],
        owner_a=owner_a["id"],
        owner_b=owner_b["id"],
        a1=a1["id"],
        a2=a2["id"],
        b1=b1["id"],
        link_a1=link_a1,
        link_b1=link_b1,
        coupon_id=hidden["id"],
        owner_a_token=bearer(make_token("member", owner_a["id"])),
        owner_b_token=bearer(make_token("member", owner_b["id"])),
        integration=bearer(make_token("integration")),
    )


def order(
    client: TestClient,
    headers: dict[str, str],
    world: SalesWorld,
    external_id: str,
    paid_fen: int,
    **body: Any,
) -> dict[str, Any]:
    """POST /orders of one shampoo line (201)."""
    payload = {
        "external_id": external_id,
        "program_id": world.program_id,
        "customer_ref": f"shopper-{external_id}",
        "items": [{"sku": SKU, "quantity": 1, "paid_fen": paid_fen}],
        **body,
    }
    response = client.post("/api/v1/orders", json=payload, headers=headers)
    assert response.status_code == 201, response.text
    out: dict[str, Any] = response.json()
    return out


def refund(
    client: TestClient, headers: dict[str, str], world: SalesWorld, external_id: str, amount: int
) -> None:
    """A refund of ``amount`` fen on the order (201)."""
    response = client.post(
        f"/api/v1/orders/{external_id}/refunds?program_id={world.program_id}",
        json={"refund_id": f"R-{external_id}", "amount_fen": amount, "at": "2026-03-13T10:00:00+08:00"},
        headers=headers,
    )
    assert response.status_code in {200, 201}, response.text


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def place_activity(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], world: SalesWorld
) -> None:
    """Clicks, claims, orders, refunds and counts on both sides of the range's edges.

    In the range: A1 has 2 people's clicks (plus a bot's), 2 claims, orders of 10 000 and 20 000 fen
    (5 000 refunded) and one of 8 000 fully refunded, members 200 → 240; B1 has 1 click, 1 claim,
    orders of 30 000 and 5 000 fen, members 250 → 280 (first counted in the range); A2 nothing.
    """
    with transaction(factory) as session:
        ids = {code: _link_id(session, code) for code in (world.link_a1, world.link_b1)}
        clicks = [
            (world.link_a1, BEFORE, UaClass.WECHAT),
            (world.link_a1, FIRST, UaClass.WECHAT),
            (world.link_a1, LAST, UaClass.MOBILE),
            (world.link_a1, "2026-03-10T12:00:00+08:00", UaClass.BOT),
            (world.link_a1, AFTER, UaClass.WECHAT),
            (world.link_b1, "2026-03-10T09:00:00+08:00", UaClass.WECHAT),
        ]
        store_clicks(
            session,
            [
                click_row(
                    ref=new_click_ref(),
                    link_id=ids[code],
                    program_id=world.program_id,
                    member_id=world.owner_a if code == world.link_a1 else world.owner_b,
                    clicked_at=_at(at),
                    visitor_id=None,
                    ua_class=ua,
                )
                for code, at, ua in clicks
            ],
        )
        for n, (code, at) in enumerate(
            [
                (world.link_a1, BEFORE),
                (world.link_a1, FIRST),
                (world.link_a1, LAST),
                (world.link_a1, AFTER),
                (world.link_b1, "2026-03-11T08:00:00+08:00"),
            ]
        ):
            claims.claim_coupon(
                session,
                coupon_id=world.coupon_id,
                customer=claims.Customer.from_ref(SECRET, f"1380000{n:04d}"),
                actor=TEST_ACTOR,
                source=ClaimSource.API,
                link_code=code,
                at=_at(at),
            )
    integration = world.integration
    a1 = {"link_code": world.link_a1}
    order(client, integration, world, "A1-BEFORE", 7000, paid_at=BEFORE, **a1)
    order(client, integration, world, "A1-FIRST", 10_000, paid_at=FIRST, **a1)
    order(client, integration, world, "A1-LAST", 20_000, paid_at=LAST, **a1)
    order(client, integration, world, "A1-FULL", 8000, paid_at="2026-03-11T12:00:00+08:00", **a1)
    order(client, integration, world, "A1-AFTER", 9000, paid_at=AFTER, **a1)
    b1 = {"link_code": world.link_b1}
    order(client, integration, world, "B1-1", 30_000, paid_at="2026-03-10T09:30:00+08:00", **b1)
    order(client, integration, world, "B1-2", 5000, paid_at="2026-03-11T09:30:00+08:00", **b1)
    order(client, integration, world, "NO-GROUP", 4000, paid_at="2026-03-10T10:00:00+08:00")
    refund(client, integration, world, "A1-LAST", 5000)
    refund(client, integration, world, "A1-FULL", 8000)
    for group, count, at in [
        (world.a1, 200, "2026-03-09T21:00:00+08:00"),
        (world.a1, 240, LAST),
        (world.a1, 270, AFTER),
        (world.b1, 250, "2026-03-10T10:00:00+08:00"),
        (world.b1, 280, "2026-03-11T10:00:00+08:00"),
    ]:
        response = post_count(client, operator, group, count, at)
        assert response.status_code == 201, response.text
        assert response.json()["review"] == "ok", response.text


def _link_id(session: Session, code: str) -> int:
    link = get_link_by_code(session, code)
    assert link is not None
    return link.id
