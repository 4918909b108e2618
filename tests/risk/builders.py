"""Risk worlds: the order world of ``tests.orders.builders`` plus planted patterns, and helpers
that read cases and resolve them through the API."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.clock import utcnow
from neigou.kit.db import transaction
from neigou.links import claims
from neigou.links.models import ClaimSource
from neigou.orders.models import Order
from neigou.risk.models import CaseOrder, CaseStatus, RiskCase, Severity, Suspension
from tests.conftest import TEST_ACTOR
from tests.orders.builders import PAID_AT, SKU, World, order_body, post_order

SMALL_FEN = 500  # ¥5: the largest order the default brushing rule counts as small
# Commission of one 500-fen order at 20% through seller (20%) → owner (5%) → mentor (10%).
SELLER_FEN, OWNER_FEN, MENTOR_FEN = 20, 5, 10


def brush(
    client: TestClient,
    headers: dict[str, str],
    world: World,
    n: int,
    *,
    prefix: str = "B",
    paid_fen: int = SMALL_FEN,
    step: timedelta = timedelta(minutes=6),
    start: datetime = PAID_AT,
) -> list[dict[str, Any]]:
    """``n`` small orders through the seller's link, ``step`` apart, each from another customer."""
    return [
        post_order(
            client,
            headers,
            order_body(
                world, f"{prefix}-{i}", (SKU, 1, paid_fen), at=start + i * step, customer=f"c-{prefix}-{i}"
            ),
        )
        for i in range(n)
    ]


def cases(
    client: TestClient, headers: dict[str, str], program_id: int, status: str | None = None
) -> list[Any]:
    """GET the program's cases (one status or all)."""
    query = f"?status={status}" if status else ""
    response = client.get(f"/api/v1/programs/{program_id}/risk/cases{query}", headers=headers)
    assert response.status_code == 200, response.text
    out: list[Any] = response.json()
    return out


def resolve(client: TestClient, headers: dict[str, str], case_id: int, decision: str, **extra: Any) -> Any:
    """POST a decision (the response)."""
    return client.post(
        f"/api/v1/risk/cases/{case_id}/resolve", json={"decision": decision, **extra}, headers=headers
    )


def complete(
    client: TestClient, headers: dict[str, str], program_id: int, external_id: str, at: datetime
) -> None:
    """Complete an order."""
    response = client.post(
        f"/api/v1/orders/{external_id}/complete?program_id={program_id}",
        json={"at": at.isoformat()},
        headers=headers,
    )
    assert response.status_code == 200, response.text


def plant_confirmed(
    factory: sessionmaker[Session],
    program_id: int,
    member_id: int,
    external_ids: Sequence[str] = (),
    *,
    suspend: bool = False,
) -> int:
    """A confirmed case against ``member_id`` naming the program's orders ``external_ids`` (and the
    member's suspension with ``suspend``), stored as a review leaves it: what boards read."""
    at = utcnow()
    with transaction(factory) as session:
        case = RiskCase(
            program_id=program_id,
            rule="order_brushing",
            subject=f"member:{member_id}",
            severity=Severity.MEDIUM,
            member_id=member_id,
            status=CaseStatus.CONFIRMED,
            evidence={},
            explanation={"msgid": "planted", "values": {}},
            held_fen=0,
            opened_at=at,
            resolved_at=at,
            resolved_by="test",
            reversed_fen=0,
            suspended=suspend,
        )
        session.add(case)
        session.flush()
        ids = session.scalars(
            select(Order.id).where(Order.program_id == program_id, Order.external_id.in_(external_ids))
        ).all()
        assert len(ids) == len(external_ids), list(external_ids)
        session.add_all(CaseOrder(case_id=case.id, order_id=i) for i in ids)
        if suspend:
            session.add(Suspension(member_id=member_id, program_id=program_id, case_id=case.id, at=at))
        return case.id


def claim_from_device(
    factory: sessionmaker[Session],
    secret_key: str,
    *,
    coupon_id: int,
    link_code: str,
    visitor_id: str,
    refs: list[str],
) -> None:
    """One device (visitor cookie) claims a coupon once under each customer reference."""
    for ref in refs:
        with transaction(factory) as session:
            claims.claim_coupon(
                session,
                coupon_id=coupon_id,
                customer=claims.Customer.from_ref(secret_key, ref),
                actor=TEST_ACTOR,
                source=ClaimSource.LANDING,
                link_code=link_code,
                visitor_id=visitor_id,
            )


def matrix_world(client: TestClient, headers: dict[str, str], program_id: int) -> dict[str, Any]:
    """An open case in the matrix's own program (an implausible group count), for the authz matrix."""
    member = client.post(f"/api/v1/programs/{program_id}/members", json={"name": "padded"}, headers=headers)
    assert member.status_code == 201, member.text
    group = client.post(
        "/api/v1/groups",
        json={"name": "虚报群", "platform": "wechat", "owner_member_id": member.json()["id"]},
        headers=headers,
    ).json()
    for count, day in ((300, 23), (340, 24), (420, 25)):
        observed = f"2026-03-{day}T20:00:00+08:00"
        response = client.post(
            f"/api/v1/groups/{group['id']}/counts",
            json={"member_count": count, "observed_at": observed},
            headers=headers,
        )
        assert response.status_code == 201, response.text
    scan = client.post(
        f"/api/v1/programs/{program_id}/risk/scan", json={"rules": ["padded_group"]}, headers=headers
    )
    assert scan.json()["opened"] >= 1, scan.text
    return {"risk_case_id": cases(client, headers, program_id, "open")[0]["id"]}
