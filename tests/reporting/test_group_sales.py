"""Group sales: a link made for a group carries it through clicks, claims, orders and commission;
exact figures per group over days in Asia/Shanghai; the leaderboard; who may read what."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.groups.compliance import local_date
from neigou.kit.clock import utcnow
from neigou.orders.models import Commission, Order
from neigou.reporting.group_sales import GroupSales, Ranking, leaderboard
from tests.conftest import TokenMaker, bearer, row_counts
from tests.factories import create_member
from tests.links.builders import shop_secret, signed_path
from tests.offers.factories import coupon
from tests.reporting.sales_world import FROM, TO, SalesWorld, build, order, place_activity

pytestmark = pytest.mark.world_per_module


@pytest.fixture(scope="module")
def world(
    module_client: TestClient,
    module_operator: dict[str, str],
    module_make_token: TokenMaker,
    module_factory: sessionmaker[Session],
) -> SalesWorld:
    return build(module_client, module_operator, module_make_token, module_factory)


def _sales(
    client: TestClient, headers: dict[str, str], program_id: int, query: str = f"from={FROM}&to={TO}"
) -> dict[str, Any]:
    response = client.get(f"/api/v1/programs/{program_id}/group-sales?{query}", headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _row(report: dict[str, Any], group_id: int) -> dict[str, Any]:
    rows = [g for g in report["groups"] if g["group_id"] == group_id]
    assert len(rows) == 1, report
    row: dict[str, Any] = rows[0]
    return row


FIGURES = (
    "clicks",
    "claims",
    "orders",
    "fully_refunded_orders",
    "paid_fen",
    "refunded_fen",
    "gmv_fen",
    "commission_fen",
    "owner_commission_fen",
    "members_start",
    "members_end",
    "members_growth",
)


def _figures(row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(row[k] for k in FIGURES)


def test_a_group_link_carries_the_group_to_clicks_claims_orders_and_commission(
    client: TestClient,
    app: FastAPI,
    operator: dict[str, str],
    world: SalesWorld,
    factory: sessionmaker[Session],
) -> None:
    now = utcnow()
    open_now = coupon(
        client,
        operator,
        500,
        name="群福利券",
        visibility="hidden",
        skus=["LQ-SHAMPOO-500"],
        starts_at=(now - timedelta(days=1)).isoformat(),
        ends_at=(now + timedelta(days=1)).isoformat(),
    )
    made = client.post(
        "/api/v1/links",
        json={
            "member_id": world.owner_a,
            "sku": "LQ-SHAMPOO-500",
            "coupon_id": open_now["id"],
            "group_id": world.a2,
        },
        headers=world.owner_a_token,
    )
    assert made.status_code == 201, made.text
    code = made.json()["code"]
    assert made.json()["group_id"] == world.a2
    secret = shop_secret(client, operator, world.program_id)
    assert client.get(signed_path(secret, code, "openid-7"), follow_redirects=False).status_code == 302
    assert app.state.links.flush() == 1
    claimed = client.post(
        f"/api/v1/coupons/{open_now['id']}/claims",
        json={"customer_ref": "13900000007", "link_code": code},
        headers=world.integration,
    )
    assert claimed.status_code == 201, claimed.text
    paid_at = utcnow().isoformat()  # after the click: a touch counts only before the order
    by_link = order(client, world.integration, world, "FLOW-1", 10_000, paid_at=paid_at, link_code=code)
    # No code on the order: the shopper's click (customer_ref on the link) attributes it, group included.
    by_touch = order(
        client, world.integration, world, "FLOW-2", 5000, paid_at=paid_at, customer_ref="openid-7"
    )
    assert (by_link["member_id"], by_link["group_id"]) == (world.owner_a, world.a2)
    assert (by_touch["member_id"], by_touch["group_id"]) == (world.owner_a, world.a2)
    assert [(c["member_id"], c["level"], c["amount_fen"]) for c in by_link["commissions"]] == [
        (world.owner_a, 1, 400),
        (world.mentor, 2, 200),
    ]
    with factory() as session:
        stored = session.execute(
            select(Order.external_id, Order.group_id, Commission.member_id, Commission.amount_fen)
            .join(Commission, Commission.order_id == Order.id)
            .order_by(Order.external_id, Commission.level)
        ).all()
    assert [tuple(r) for r in stored] == [
        ("FLOW-1", world.a2, world.owner_a, 400),
        ("FLOW-1", world.a2, world.mentor, 200),
        ("FLOW-2", world.a2, world.owner_a, 200),
        ("FLOW-2", world.a2, world.mentor, 100),
    ]
    today = local_date(utcnow(), "Asia/Shanghai")
    days = (
        f"from={today - timedelta(days=1)}&to={today}"  # just after midnight there, the click was yesterday
    )
    row = _row(_sales(client, operator, world.program_id, days), world.a2)
    assert (row["clicks"], row["claims"], row["orders"], row["gmv_fen"]) == (1, 1, 2, 15_000)
    assert (row["commission_fen"], row["owner_commission_fen"]) == (900, 600)


def test_exact_figures_over_days_in_asia_shanghai(
    client: TestClient, operator: dict[str, str], world: SalesWorld, factory: sessionmaker[Session]
) -> None:
    place_activity(client, operator, factory, world)
    report = _sales(client, operator, world.program_id)
    assert (report["from"], report["to"], report["timezone"]) == (FROM, TO, "Asia/Shanghai")
    assert [g["group_id"] for g in report["groups"]] == [world.a1, world.a2, world.b1]
    # A1: the edges' seconds count inside, the seconds beyond them outside; the bot's click does not count;
    # A1-LAST refunded 5 000 of 20 000 (commission 800 → 600, 400 → 300); A1-FULL refunded in full.
    assert _figures(_row(report, world.a1)) == (2, 2, 2, 1, 38_000, 13_000, 25_000, 1500, 1000, 200, 240, 40)
    assert _figures(_row(report, world.a2)) == (0, 0, 0, 0, 0, 0, 0, 0, 0, None, None, None)
    # B1 was first counted inside the range: it grows from that count.
    assert _figures(_row(report, world.b1)) == (1, 1, 2, 0, 35_000, 0, 35_000, 1400, 1400, 250, 280, 30)
    assert report["totals"] == {
        "groups": 3,
        "clicks": 3,
        "claims": 3,
        "orders": 4,
        "gmv_fen": 60_000,
        "commission_fen": 2900,
        "owner_commission_fen": 2400,
    }
    # One day: only the first day's sales (A1-FIRST and B1-1), and counts as they stood that day.
    day = _sales(client, operator, world.program_id, f"from={FROM}&to={FROM}")
    assert _figures(_row(day, world.a1)) == (1, 1, 1, 0, 10_000, 0, 10_000, 600, 400, 200, 200, 0)
    assert _figures(_row(day, world.b1)) == (1, 0, 1, 0, 30_000, 0, 30_000, 1200, 1200, 250, 250, 0)
    # An operator may narrow to one owner.
    owner_b = _sales(
        client, operator, world.program_id, f"from={FROM}&to={TO}&owner_member_id={world.owner_b}"
    )
    assert [g["group_id"] for g in owner_b["groups"]] == [world.b1]


def test_a_member_reads_only_their_own_groups(
    client: TestClient,
    operator: dict[str, str],
    world: SalesWorld,
    factory: sessionmaker[Session],
    make_token: TokenMaker,
) -> None:
    place_activity(client, operator, factory, world)
    mine = _sales(client, world.owner_b_token, world.program_id)
    assert [g["group_id"] for g in mine["groups"]] == [world.b1]
    assert mine["totals"]["owner_commission_fen"] == 1400
    stranger_id = create_member(client, operator, _other_program(client, operator), "stranger")["id"]
    stranger = bearer(make_token("member", stranger_id))
    before = row_counts(factory)
    peek = client.get(
        f"/api/v1/programs/{world.program_id}/group-sales?owner_member_id={world.owner_a}",
        headers=world.owner_b_token,
    )
    assert (peek.status_code, peek.json()["code"]) == (403, "other_member")
    board = client.get(f"/api/v1/programs/{world.program_id}/group-leaderboard", headers=world.owner_b_token)
    assert board.status_code == 403
    foreign = client.get(f"/api/v1/programs/{world.program_id}/group-sales", headers=stranger)
    assert (foreign.status_code, foreign.json()["code"]) == (403, "other_program")
    assert row_counts(factory) == before


def test_an_owner_sees_their_own_commission_not_their_mentors_override(
    client: TestClient, operator: dict[str, str], world: SalesWorld, factory: sessionmaker[Session]
) -> None:
    """A1's orders pay owner A 1 000 and A's mentor a 500 override: the operator sees both, owner A
    only their own part (as on ``/m/groups`` and in ``/m/analytics``)."""
    place_activity(client, operator, factory, world)
    assert (_row(_sales(client, operator, world.program_id), world.a1)["commission_fen"]) == 1500
    mine = _sales(client, world.owner_a_token, world.program_id)
    assert [(g["group_id"], g["commission_fen"], g["owner_commission_fen"]) for g in mine["groups"]] == [
        (world.a1, 1000, 1000),
        (world.a2, 0, 0),
    ]
    assert (mine["totals"]["commission_fen"], mine["totals"]["owner_commission_fen"]) == (1000, 1000)


def _other_program(client: TestClient, operator: dict[str, str]) -> int:
    response = client.post("/api/v1/programs", json={"code": "other", "name": "Other"}, headers=operator)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def _board(
    client: TestClient, operator: dict[str, str], world: SalesWorld, by: str
) -> list[tuple[int, int, Any]]:
    response = client.get(
        f"/api/v1/programs/{world.program_id}/group-leaderboard?from={FROM}&to={TO}&by={by}", headers=operator
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["by"], body["from"], body["to"]) == (by, FROM, TO)
    return [(g["rank"], g["group_id"], g["value"]) for g in body["groups"]]


def test_leaderboard_orders_by_gmv_orders_and_growth_with_a_stable_tie_break(
    client: TestClient, operator: dict[str, str], world: SalesWorld, factory: sessionmaker[Session]
) -> None:
    place_activity(client, operator, factory, world)
    assert _board(client, operator, world, "gmv") == [
        (1, world.b1, 35_000),
        (2, world.a1, 25_000),
        (3, world.a2, 0),
    ]
    # A1 and B1 both have two orders: the older group (smaller id) ranks first.
    assert _board(client, operator, world, "orders") == [(1, world.a1, 2), (2, world.b1, 2), (3, world.a2, 0)]
    # A2 has no count: it has no growth and comes last.
    assert _board(client, operator, world, "growth") == [
        (1, world.a1, 40),
        (2, world.b1, 30),
        (3, world.a2, None),
    ]
    top = client.get(
        f"/api/v1/programs/{world.program_id}/group-leaderboard?from={FROM}&to={TO}&limit=1", headers=operator
    ).json()
    assert [(g["rank"], g["group_id"], g["gmv_fen"], g["owner_name"]) for g in top["groups"]] == [
        (1, world.b1, 35_000, "群主·李阿强")
    ]


def test_leaderboard_ties_are_broken_by_group_id_whatever_the_input_order() -> None:
    rows = [
        GroupSales(
            group_id=gid,
            name=f"g{gid}",
            platform="wechat",
            status="active",
            owner_member_id=1,
            owner_name="o",
            paid_fen=paid,
        )
        for gid, paid in [(9, 100), (3, 100), (5, 300), (1, 0)]
    ]
    for ordering in (rows, list(reversed(rows))):
        ranked = leaderboard(ordering, by=Ranking.GMV, limit=10)
        assert [(rank, row.group_id) for rank, row in ranked] == [(1, 5), (2, 3), (3, 9), (4, 1)]


@pytest.mark.parametrize(
    ("query", "code", "detail"),
    [
        (
            "from=2026-03-12&to=2026-03-11",
            "bad_range",
            "开始日期不能晚于结束日期。",  # the dates sent are not repeated
        ),
        ("from=2025-01-01&to=2026-03-11", "range_too_long", "查询范围最多 366 天。"),
        ("from=2026-02-30", "validation_error", "请求字段缺失或格式错误：query.from。"),
        ("to=yesterday", "validation_error", "请求字段缺失或格式错误：query.to。"),
    ],
)
def test_bad_ranges_are_refused_with_a_problem(
    client: TestClient, operator: dict[str, str], world: SalesWorld, *, query: str, code: str, detail: str
) -> None:
    for path in ("group-sales", "group-leaderboard"):
        response = client.get(f"/api/v1/programs/{world.program_id}/{path}?{query}", headers=operator)
        assert (response.status_code, response.json()["code"]) == (422, code), response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["detail"] == detail


def test_unknown_program_and_ranking_are_refused(client: TestClient, operator: dict[str, str]) -> None:
    for path in ("group-sales", "group-leaderboard"):
        missing = client.get(f"/api/v1/programs/999999/{path}", headers=operator)
        assert (missing.status_code, missing.json()["code"]) == (404, "program_not_found")
    wrong = client.get("/api/v1/programs/999999/group-leaderboard?by=clicks", headers=operator)
    assert (wrong.status_code, wrong.json()["code"]) == (422, "validation_error")
