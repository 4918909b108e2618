"""A small world for order and ledger tests: a partner program, a three-level invite chain, products
and share links, plus helpers that post orders, refunds and withdrawals through the API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import delete, update
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.clock import utcnow
from neigou.kit.db import transaction
from neigou.ledger import repository as ledger
from neigou.links import service as links
from neigou.links.schemas import LinkCreate
from neigou.programs.models import Member, MemberTierPeriod
from tests.conftest import TEST_ACTOR
from tests.factories import create_member, create_program
from tests.offers import factories as offers

PAID_AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SKU = "LQ-SHAMPOO"
SKU_PRICE = 4990


@dataclass
class World:
    """Program with mentor → owner → seller, a product at 20% commission, and the seller's link."""

    program_id: int
    mentor: int
    owner: int
    seller: int
    link: str
    owner_link: str


def make_link(factory: sessionmaker[Session], member_id: int, sku: str = SKU) -> str:
    """A share link of a member (through the links service)."""
    with transaction(factory) as session:
        return links.create_link(
            session, data=LinkCreate(member_id=member_id, sku=sku), actor=TEST_ACTOR
        ).code


def build(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    *,
    max_levels: int = 3,
    **program: Any,
) -> World:
    """The standard world (joined well before PAID_AT)."""
    p = create_program(client, operator, code="partners", max_levels=max_levels, **program)
    joined = (PAID_AT - timedelta(days=90)).isoformat()
    mentor = create_member(client, operator, p["id"], "mentor", tier="mentor", joined_at=joined)
    owner = create_member(
        client, operator, p["id"], "owner", inviter_id=mentor["id"], tier="super_member", joined_at=joined
    )
    seller = create_member(
        client,
        operator,
        p["id"],
        "seller",
        inviter_id=owner["id"],
        tier="super_member",
        customer_ref="13800000001",
        joined_at=joined,
    )
    offers.product(client, operator, SKU, SKU_PRICE, commission_rate_bp=2000)
    offers.product(client, operator, "YD-TEE", 5900, commission_rate_bp=2500)
    return World(
        p["id"],
        mentor["id"],
        owner["id"],
        seller["id"],
        make_link(factory, seller["id"]),
        make_link(factory, owner["id"]),
    )


def coupon_link(
    client: TestClient, operator: dict[str, str], world: World, **coupon: Any
) -> tuple[dict[str, Any], str]:
    """A ¥5 coupon open from yesterday to tomorrow by the real clock, and the seller's share link to it
    (the coupon and the link's code)."""
    now = utcnow()
    opened = offers.coupon(
        client,
        operator,
        500,
        starts_at=(now - timedelta(days=1)).isoformat(),
        ends_at=(now + timedelta(days=1)).isoformat(),
        **coupon,
    )
    link = client.post(
        "/api/v1/links",
        json={"member_id": world.seller, "sku": SKU, "coupon_id": opened["id"]},
        headers=operator,
    )
    assert link.status_code == 201, link.text
    return opened, str(link.json()["code"])


def order_body(
    world: World,
    external_id: str,
    *items: tuple[str, int, int],
    link: str | None = None,
    at: datetime = PAID_AT,
    customer: str = "shopper-1",
) -> dict[str, Any]:
    """An order body; items are (sku, quantity, paid_fen)."""
    return {
        "external_id": external_id,
        "program_id": world.program_id,
        "customer_ref": customer,
        "link_code": link if link is not None else world.link,
        "items": [{"sku": s, "quantity": q, "paid_fen": f} for s, q, f in items or [(SKU, 1, 10_000)]],
        "paid_at": at.isoformat(),
    }


def post_order(
    client: TestClient, headers: dict[str, str], body: dict[str, Any], status: int = 201
) -> dict[str, Any]:
    """POST /orders and insist on ``status``."""
    response = client.post("/api/v1/orders", json=body, headers=headers)
    assert response.status_code == status, response.text
    out: dict[str, Any] = response.json()
    return out


def settle(client: TestClient, headers: dict[str, str], program_id: int, as_of: datetime) -> dict[str, Any]:
    """Run a settlement as of ``as_of``."""
    response = client.post(
        f"/api/v1/programs/{program_id}/settlements", json={"as_of": as_of.isoformat()}, headers=headers
    )
    assert response.status_code == 201, response.text
    out: dict[str, Any] = response.json()
    return out


def balance(client: TestClient, headers: dict[str, str], member_id: int) -> dict[str, int]:
    """The four acceptance fields of a member's balance."""
    response = client.get(f"/api/v1/members/{member_id}/balance", headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    return {k: body[k] for k in ("pending_fen", "frozen_fen", "available_fen", "withdrawn_fen")}


def assert_ledger_balanced(factory: sessionmaker[Session]) -> None:
    """Every posting sums to zero and so does the whole ledger."""
    with factory() as session:
        assert ledger.unbalanced_postings(session) == []
        assert sum(ledger.ledger_sums(session).values()) == 0


def settled_world(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> tuple[World, dict[str, Any]]:
    """An order of ¥500 (¥100 refunded), completed and settled 30 days later: the seller has ¥16.00
    available."""
    w = build(client, operator, factory, max_levels=2)
    order = post_order(client, operator, order_body(w, "PG-1", (SKU, 2, 50_000)))
    client.post(
        "/api/v1/orders/PG-1/refunds", json={"refund_id": "R1", "amount_fen": 10_000}, headers=operator
    )
    client.post("/api/v1/orders/PG-1/complete", json={"at": PAID_AT.isoformat()}, headers=operator)
    as_of = (PAID_AT + timedelta(days=30)).isoformat()
    client.post(f"/api/v1/programs/{w.program_id}/settlements", json={"as_of": as_of}, headers=operator)
    return w, order


# When the owner (the seller's upline) held a tier the ladder no longer has (``legacy_tiers``).
GONE_FROM = PAID_AT + timedelta(minutes=20)
GONE_UNTIL = PAID_AT + timedelta(minutes=25)


def legacy_tiers(factory: sessionmaker[Session], world: World) -> None:
    """Rows written before tiers were kept whole: the seller without any tier (added before the program
    had a ladder, never placed) and the owner holding a tier no longer in the ladder, "gold", from
    ``GONE_FROM`` until ``GONE_UNTIL``."""
    with transaction(factory) as session:
        session.execute(delete(MemberTierPeriod).where(MemberTierPeriod.member_id == world.seller))
        session.execute(update(Member).where(Member.id == world.seller).values(tier_code=None))
        session.add_all(
            [
                MemberTierPeriod(
                    member_id=world.owner, tier_code="gold", effective_from=GONE_FROM, reason="x"
                ),
                MemberTierPeriod(
                    member_id=world.owner, tier_code="super_member", effective_from=GONE_UNTIL, reason="x"
                ),
            ]
        )
