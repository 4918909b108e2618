"""A partner program for tier tests: a super member at 20% with a share link, recruits and orders by API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.programs.models import Member, MemberTierPeriod
from tests.factories import create_member, create_program
from tests.offers import factories as offers
from tests.orders.builders import make_link

SHANGHAI = ZoneInfo("Asia/Shanghai")
SKU = "LQ-SHAMPOO"
MID_MARCH = datetime(2026, 3, 15, 12, 0, tzinfo=SHANGHAI)
APRIL_FIRST = datetime(2026, 4, 1, 0, 0, tzinfo=SHANGHAI)


@dataclass
class Partner:
    """The program, the seller (a super member joined in January) and their share link."""

    program_id: int
    seller: int
    link: str


def build(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    *,
    tiers: list[dict[str, Any]] | None = None,
    seller_tier: str = "super_member",
) -> Partner:
    """The partner program (max_levels 2) with the seller, a 20%-commission product and the seller's link."""
    program = create_program(client, operator, code="partners", max_levels=2)
    if tiers is not None:
        response = client.put(f"/api/v1/programs/{program['id']}/tiers", json=tiers, headers=operator)
        assert response.status_code == 200, response.text
    joined = datetime(2026, 1, 5, tzinfo=UTC).isoformat()
    seller = create_member(client, operator, program["id"], "seller", tier=seller_tier, joined_at=joined)
    offers.product(client, operator, SKU, 4990, commission_rate_bp=2000)
    return Partner(program["id"], seller["id"], make_link(factory, seller["id"], SKU))


def recruit(
    client: TestClient,
    operator: dict[str, str],
    world: Partner,
    n: int,
    *,
    at: datetime = MID_MARCH,
    **extra: Any,
) -> list[int]:
    """``n`` members invited by the seller, joined at ``at``."""
    return [
        create_member(
            client,
            operator,
            world.program_id,
            f"recruit-{at:%m%d%H%M%S}-{i}",
            inviter_id=world.seller,
            joined_at=at.isoformat(),
            **extra,
        )["id"]
        for i in range(n)
    ]


def sell(
    client: TestClient,
    operator: dict[str, str],
    world: Partner,
    n: int,
    *,
    at: datetime = MID_MARCH,
    paid_fen: int = 10_000,
    prefix: str = "O",
) -> list[dict[str, Any]]:
    """``n`` orders through the seller's link, paid at ``at`` plus a second each."""
    out = []
    for i in range(n):
        body = {
            "external_id": f"{prefix}-{at:%Y%m%d%H%M%S}-{i}",
            "program_id": world.program_id,
            "customer_ref": f"shopper-{i}",
            "link_code": world.link,
            "items": [{"sku": SKU, "quantity": 1, "paid_fen": paid_fen}],
            "paid_at": (at + timedelta(seconds=i)).isoformat(),
        }
        response = client.post("/api/v1/orders", json=body, headers=operator)
        assert response.status_code == 201, response.text
        out.append(response.json())
    return out


def evaluate(
    client: TestClient,
    operator: dict[str, str],
    world: Partner,
    period: str,
    *,
    dry_run: bool = False,
    status: int | None = None,
) -> dict[str, Any]:
    """POST a tier evaluation and insist on ``status`` (201 for a new run, 200 for a dry or repeated one)."""
    response = client.post(
        f"/api/v1/programs/{world.program_id}/tier-evaluations",
        json={"period": period, "dry_run": dry_run},
        headers=operator,
    )
    expected = status if status is not None else (200 if dry_run else 201)
    assert response.status_code == expected, response.text
    out: dict[str, Any] = response.json()
    return out


def seller_commission(order: dict[str, Any], seller: int) -> int:
    """The seller's level-1 amount on an order."""
    return sum(c["amount_fen"] for c in order["commissions"] if c["member_id"] == seller and c["level"] == 1)


def tiers_of(factory: sessionmaker[Session], member_id: int) -> list[tuple[datetime, str, str]]:
    """The member's tier periods, oldest first: (effective from, tier, reason)."""
    with factory() as session:
        rows = session.execute(
            select(MemberTierPeriod.effective_from, MemberTierPeriod.tier_code, MemberTierPeriod.reason)
            .where(MemberTierPeriod.member_id == member_id)
            .order_by(MemberTierPeriod.effective_from)
        )
        return [(a, b, c) for a, b, c in rows]


def current_tier(factory: sessionmaker[Session], member_id: int) -> str | None:
    """The member's tier now."""
    with factory() as session:
        member = session.get(Member, member_id)
        assert member is not None
        return member.tier_code
