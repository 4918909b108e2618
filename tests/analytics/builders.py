"""A program with a month of orders around the Asia/Shanghai day boundaries, for the analytics tests.

Mentor M (no inviter) and B (no inviter) joined in December, A (invited by M) in February, C
(invited by A) on 20 March. A's link carries a hidden ¥25 coupon: a shampoo listed at ¥49.90 costs
¥24.90 through it. Customers: c1 buys through A's link on 5 March (¥10 refunded) and again on the
20th; c2 buys on 6 March (23:59:59 local) and again on 1 May; c3's order through the link on 7 March
is fully refunded, then c3 buys on 10 and 15 March; c4's first order is on 28 February, the second on
8 March.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.db import transaction
from neigou.links import service as links
from neigou.links.schemas import LinkCreate
from tests.conftest import TEST_ACTOR, TokenMaker, bearer
from tests.factories import create_member, create_program
from tests.offers.factories import coupon, product

SKU = "LQ-SHAMPOO-500"
LIST_FEN, LINK_FEN = 4990, 2490


@dataclass
class AnalyticsWorld:
    """Ids and tokens."""

    program_id: int
    other_program_id: int
    mentor: int
    a: int
    b: int
    c: int
    a_token: dict[str, str]
    b_token: dict[str, str]
    integration: dict[str, str]


def order(
    client: TestClient,
    headers: dict[str, str],
    program_id: int,
    external_id: str,
    customer: str,
    *,
    at: str,
    link: str | None = None,
) -> dict[str, Any]:
    """One shampoo at the link price (through a link) or the list price."""
    body: dict[str, Any] = {
        "external_id": external_id,
        "program_id": program_id,
        "customer_ref": customer,
        "items": [{"sku": SKU, "quantity": 1, "paid_fen": LINK_FEN if link else LIST_FEN}],
        "paid_at": at,
    }
    if link:
        body["link_code"] = link
    response = client.post("/api/v1/orders", json=body, headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def refund(
    client: TestClient, headers: dict[str, str], program_id: int, external_id: str, amount: int, *, at: str
) -> None:
    """A refund of ``amount`` fen."""
    response = client.post(
        f"/api/v1/orders/{external_id}/refunds?program_id={program_id}",
        json={"refund_id": f"r-{external_id}", "amount_fen": amount, "at": at},
        headers=headers,
    )
    assert response.status_code in (200, 201), response.text


def build(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, factory: sessionmaker[Session]
) -> AnalyticsWorld:
    """The program, its members and link, and the orders above (and one order in another program)."""
    program = create_program(client, operator, code="analytics")
    other = create_program(client, operator, code="elsewhere")
    pid = program["id"]
    mentor = create_member(
        client, operator, pid, "导师", tier="mentor", joined_at="2025-12-01T00:00:00+08:00"
    )
    a = create_member(
        client,
        operator,
        pid,
        "群主A",
        tier="super_member",
        inviter_id=mentor["id"],
        joined_at="2026-02-15T00:00:00+08:00",
    )
    b = create_member(
        client, operator, pid, "群主B", tier="super_member", joined_at="2025-12-01T00:00:00+08:00"
    )
    c = create_member(
        client,
        operator,
        pid,
        "新人C",
        tier="super_member",
        inviter_id=a["id"],
        joined_at="2026-03-20T10:00:00+08:00",
    )
    product(client, operator, SKU, LIST_FEN, commission_rate_bp=2000)
    hidden = coupon(
        client,
        operator,
        2500,
        name="群内专享券",
        skus=[SKU],
        visibility="hidden",
        total_quantity=100,
        starts_at="2026-02-01T00:00:00+08:00",
        ends_at="2026-06-01T00:00:00+08:00",
    )
    with transaction(factory) as session:
        data = LinkCreate(member_id=a["id"], sku=SKU, coupon_id=hidden["id"])
        link = links.create_link(
            session, data=data, actor=TEST_ACTOR, at=datetime.fromisoformat("2026-02-20T09:00:00+08:00")
        ).code
    order(client, operator, pid, "o1", "c1", at="2026-03-05T10:00:00+08:00", link=link)
    refund(client, operator, pid, "o1", 1000, at="2026-03-06T10:00:00+08:00")
    order(client, operator, pid, "o2", "c1", at="2026-03-20T10:00:00+08:00")
    order(client, operator, pid, "o3", "c2", at="2026-03-06T23:59:59+08:00")
    order(client, operator, pid, "o4", "c2", at="2026-05-01T10:00:00+08:00")
    order(client, operator, pid, "o5", "c3", at="2026-03-07T10:00:00+08:00", link=link)
    refund(client, operator, pid, "o5", LINK_FEN, at="2026-03-08T10:00:00+08:00")
    order(client, operator, pid, "o6", "c3", at="2026-03-10T10:00:00+08:00")
    order(client, operator, pid, "o7", "c3", at="2026-03-15T10:00:00+08:00")
    order(client, operator, pid, "o8", "c4", at="2026-02-28T23:30:00+08:00", link=link)
    order(client, operator, pid, "o9", "c4", at="2026-03-08T10:00:00+08:00")
    order(client, operator, other["id"], "x1", "c1", at="2026-03-05T11:00:00+08:00")
    return AnalyticsWorld(
        program_id=pid,
        other_program_id=other["id"],
        mentor=mentor["id"],
        a=a["id"],
        b=b["id"],
        c=c["id"],
        a_token=bearer(make_token("member", a["id"])),
        b_token=bearer(make_token("member", b["id"])),
        integration=bearer(make_token("integration")),
    )
