"""Leaderboards against a plain Python model over a seeded random program: every metric, every limit."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.clock import utcnow
from neigou.kit.db import transaction
from neigou.orders.models import CommissionState, Order, OrderSource
from tests.factories import create_member, create_program

MONTH_START = datetime(2026, 2, 28, 16, tzinfo=UTC)  # 1 March 00:00 in Shanghai
MONTH_END = datetime(2026, 3, 31, 16, tzinfo=UTC)


def test_leaderboards_match_the_model(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    rng = random.Random(6)
    program = create_program(client, operator)
    ids: list[int] = []
    joined: dict[int, datetime] = {}
    inviters: dict[int, int | None] = {}
    for n in range(14):
        inviter = rng.choice(ids) if ids and rng.random() < 0.85 else None
        at = MONTH_START + timedelta(hours=rng.randrange(-400, 900))
        member = create_member(
            client, operator, program["id"], f"会员{n:02d}", inviter_id=inviter, joined_at=at.isoformat()
        )
        ids.append(member["id"])
        joined[member["id"]] = at
        inviters[member["id"]] = inviter
    orders: list[tuple[int, int, int, datetime]] = []
    with transaction(factory) as session:
        for n in range(90):
            member_id = rng.choice(ids)
            paid = rng.choice([0, 990, 2490, 4990, 4990, 12_000])
            refunded = rng.choice([0, 0, 0, paid, paid // 2])
            at = MONTH_START + timedelta(minutes=rng.randrange(-3000, 46_000))
            orders.append((member_id, paid, refunded, at))
            session.add(
                Order(
                    program_id=program["id"],
                    external_id=f"M-{n}",
                    customer_ref_hash=f"h{n}",
                    member_id=member_id,
                    attribution_basis="link",
                    paid_fen=paid,
                    refunded_fen=refunded,
                    commission_fen=0,
                    paid_at=at,
                    commission_state=CommissionState.PENDING,
                    pricing={},
                    source=OrderSource.API,
                    created_at=utcnow(),
                )
            )
    inside = [o for o in orders if MONTH_START <= o[3] < MONTH_END]
    model: dict[str, dict[int, int]] = {"orders": {}, "gmv_fen": {}, "recruits": {}}
    for member_id, paid, refunded, _ in inside:
        model["orders"][member_id] = model["orders"].get(member_id, 0) + (
            1 if paid == 0 or refunded < paid else 0
        )
        model["gmv_fen"][member_id] = model["gmv_fen"].get(member_id, 0) + paid - refunded
    for member_id, at in joined.items():
        inviter = inviters[member_id]
        if inviter is not None and MONTH_START <= at < MONTH_END:
            model["recruits"][inviter] = model["recruits"].get(inviter, 0) + 1
    for metric, values in model.items():
        expected = sorted(((-v, m) for m, v in values.items() if v > 0))
        for limit in (1, 3, 100):
            response = client.get(
                f"/api/v1/programs/{program['id']}/leaderboard?period=2026-03&metric={metric}&limit={limit}",
                headers=operator,
            )
            assert response.status_code == 200, response.text
            body = response.json()
            assert [(r["rank"], r["member_id"], r["value"]) for r in body["rows"]] == [
                (rank, m, -v) for rank, (v, m) in enumerate(expected[:limit], start=1)
            ], (metric, limit)
            assert body["ranked"] == len(expected)
        assert len(expected) >= 3, metric  # the seed gives every board a real race
