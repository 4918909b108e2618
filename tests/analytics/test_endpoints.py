"""The acceptance endpoints over one world, on the embedded DuckDB store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from neigou.ledger.models import Account, Entry, Posting, PostingKind
from neigou.orders.models import Commission, Order
from tests.analytics.builders import AnalyticsWorld, build, order
from tests.conftest import TokenMaker, bearer
from tests.factories import create_member

pytestmark = pytest.mark.world_per_module
MARCH = "from=2026-03-01&to=2026-03-31"


@pytest.fixture(scope="module")
def world(
    module_client: TestClient,
    module_operator: dict[str, str],
    module_make_token: TokenMaker,
    module_factory: sessionmaker[Session],
) -> AnalyticsWorld:
    built = build(module_client, module_operator, module_make_token, module_factory)
    response = module_client.post("/api/v1/analytics/refresh", headers=module_operator)
    assert response.status_code == 200, response.text
    return built


def _get(client: TestClient, path: str, headers: dict[str, str], status: int = 200) -> Any:
    response = client.get(f"/api/v1/{path}", headers=headers)
    assert response.status_code == status, response.text
    return response.json()


def test_refresh_copies_new_rows_once(
    client: TestClient, operator: dict[str, str], world: AnalyticsWorld
) -> None:
    again = client.post("/api/v1/analytics/refresh", headers=operator).json()["tables"]
    assert again["orders"] == 0
    assert again["refunds"] == 0
    assert again["programs"] == 2


def test_repeat_by_channel(client: TestClient, operator: dict[str, str], world: AnalyticsWorld) -> None:
    body = _get(client, f"programs/{world.program_id}/analytics/repeat?{MARCH}&window_days=30", operator)
    assert body["channels"] == [
        {
            "channel": "group_link",
            "customers": 1,
            "repeat_customers": 1,
            "repeat_rate_bp": 10000,
            "customers_in_window": 0,
        },
        {
            "channel": "organic",
            "customers": 2,
            "repeat_customers": 1,
            "repeat_rate_bp": 5000,
            "customers_in_window": 0,
        },
    ]
    assert body["prices"] == [
        {
            "price": "hidden_coupon",
            "customers": 1,
            "repeat_customers": 1,
            "repeat_rate_bp": 10000,
            "customers_in_window": 0,
        },
        {
            "price": "public",
            "customers": 2,
            "repeat_customers": 1,
            "repeat_rate_bp": 5000,
            "customers_in_window": 0,
        },
    ]
    narrow = _get(client, f"programs/{world.program_id}/analytics/repeat?{MARCH}&window_days=4", operator)
    assert [(c["channel"], c["repeat_customers"]) for c in narrow["channels"]] == [
        ("group_link", 0),
        ("organic", 0),
    ]
    one = _get(client, f"programs/{world.program_id}/analytics/repeat?{MARCH}&channel=organic", operator)
    assert [c["channel"] for c in one["channels"]] == ["organic"]


def test_cohorts(client: TestClient, operator: dict[str, str], world: AnalyticsWorld) -> None:
    body = _get(client, f"programs/{world.program_id}/analytics/cohorts?{MARCH}", operator)
    assert body["cohorts"] == [
        {"month": "2026-03", "channel": "group_link", "customers": 1, "active": [1], "retention_bp": [10000]},
        {
            "month": "2026-03",
            "channel": "organic",
            "customers": 2,
            "active": [2, 0, 1],
            "retention_bp": [10000, 0, 5000],
        },
    ]


def test_economics_equal_the_orders_and_the_ledger(
    client: TestClient, operator: dict[str, str], world: AnalyticsWorld, factory: sessionmaker[Session]
) -> None:
    body = _get(client, f"programs/{world.program_id}/analytics/economics?{MARCH}", operator)
    assert {k: body[k] for k in ("orders", "gmv_fen", "refund_fen", "commission_fen", "net_fen")} == {
        "orders": 7,
        "gmv_fen": 2 * 2490 + 5 * 4990,
        "refund_fen": 1000 + 2490,
        "commission_fen": 60 + 30,
        "net_fen": 2 * 2490 + 5 * 4990 - 3490 - 90,
    }
    assert body["commission_by_level"] == [
        {"level": 1, "commission_fen": 60},
        {"level": 2, "commission_fen": 30},
    ]
    assert body["coupon_fen"] == 2 * 2500
    externals = ["o1", "o2", "o3", "o5", "o6", "o7", "o9"]
    with factory() as session:
        ids = select(Order.id).where(Order.program_id == world.program_id, Order.external_id.in_(externals))
        paid, refunded = session.execute(
            select(func.sum(Order.paid_fen), func.sum(Order.refunded_fen)).where(Order.id.in_(ids))
        ).one()
        commission = session.scalar(
            select(func.sum(Commission.amount_fen - Commission.reversed_fen)).where(
                Commission.order_id.in_(ids)
            )
        )
        ledger = session.scalar(
            select(-func.sum(Entry.amount_fen))
            .join(Posting, Posting.id == Entry.posting_id)
            .where(
                Posting.kind.in_([PostingKind.COMMISSION_EARNED, PostingKind.COMMISSION_REVERSED]),
                Posting.source_id.in_(ids),
                Entry.account == Account.COMMISSION_EXPENSE,
            )
        )
    assert (body["gmv_fen"], body["refund_fen"]) == (paid, refunded)
    assert ledger is not None
    assert body["commission_fen"] == commission == abs(ledger)


def test_member_reads_own_figures(client: TestClient, world: AnalyticsWorld) -> None:
    body = _get(client, f"programs/{world.program_id}/analytics/economics?{MARCH}", world.a_token)
    assert (body["orders"], body["gmv_fen"], body["refund_fen"], body["commission_fen"]) == (
        2,
        4980,
        3490,
        60,
    )
    assert body["commission_by_level"] == [{"level": 1, "commission_fen": 60}]
    repeat = _get(client, f"programs/{world.program_id}/analytics/repeat?{MARCH}", world.a_token)
    assert repeat["channels"] == [
        {
            "channel": "group_link",
            "customers": 1,
            "repeat_customers": 0,
            "repeat_rate_bp": 0,
            "customers_in_window": 0,
        }
    ]
    fission = _get(client, f"programs/{world.program_id}/analytics/fission?period=2026-03", world.a_token)
    assert (fission["members_at_start"], fission["recruits"], fission["k_factor_bp"]) == (1, 1, 10000)
    assert fission["depth"] == [{"level": 1, "members": 1}, {"level": 2, "members": 1}]
    _get(client, f"programs/{world.other_program_id}/analytics/economics?{MARCH}", world.a_token, 403)
    _get(client, f"programs/{world.program_id}/analytics/economics?{MARCH}", world.integration, 403)
    assert client.post("/api/v1/analytics/refresh", headers=world.a_token).status_code == 403


def test_a_members_commission_holds_their_override_on_recruits_sales(
    *,
    client: TestClient,
    module_make_token: TokenMaker,
    world: AnalyticsWorld,
    factory: sessionmaker[Session],
) -> None:
    """The mentor sells nothing; their 10% override on A's March sales is their commission all the same,
    on the economics and in the simulation alike, and the ledger's figure."""
    mentor = bearer(module_make_token("member", world.mentor))
    with factory() as session:
        earned = session.scalar(
            select(func.sum(Commission.amount_fen - Commission.reversed_fen))
            .join(Order, Order.id == Commission.order_id)
            .where(
                Commission.member_id == world.mentor,
                Order.paid_at >= datetime.fromisoformat("2026-03-01T00:00+08:00"),
                Order.paid_at < datetime.fromisoformat("2026-04-01T00:00+08:00"),
            )
        )
    body = _get(client, f"programs/{world.program_id}/analytics/economics?{MARCH}", mentor)
    assert (body["orders"], body["gmv_fen"], body["commission_fen"]) == (0, 0, earned)
    assert body["commission_by_level"] == [{"level": 2, "commission_fen": earned}]
    path = f"/api/v1/programs/{world.program_id}/analytics/simulations"
    same = client.post(path, json={"from": "2026-03-01", "to": "2026-03-31", "tiers": []}, headers=mentor)
    assert same.status_code == 200, same.text
    assert same.json()["actual_commission_fen"] == earned == 30
    # A sees their own commission, never the mentor's
    own = _get(client, f"programs/{world.program_id}/analytics/economics?{MARCH}", world.a_token)
    assert own["commission_by_level"] == [{"level": 1, "commission_fen": 60}]


def test_fission(client: TestClient, operator: dict[str, str], world: AnalyticsWorld) -> None:
    body = _get(client, f"programs/{world.program_id}/analytics/fission?period=2026-03", operator)
    assert (body["members_at_start"], body["recruits"], body["k_factor_bp"]) == (3, 1, 3333)
    assert body["depth"] == [
        {"level": 1, "members": 2},
        {"level": 2, "members": 1},
        {"level": 3, "members": 1},
    ]
    february = _get(client, f"programs/{world.program_id}/analytics/fission?period=2026-02", operator)
    assert (february["members_at_start"], february["recruits"], february["k_factor_bp"]) == (2, 1, 5000)
    # A joined 15 February and sold from 5 March on: 30 days or more later, o5 on 7 March… no: 20 days.
    assert february["recruits_active_after_30_days"] == 0


def test_simulation(client: TestClient, operator: dict[str, str], world: AnalyticsWorld) -> None:
    path = f"/api/v1/programs/{world.program_id}/analytics/simulations"
    same = client.post(path, json={"from": "2026-03-01", "to": "2026-03-31", "tiers": []}, headers=operator)
    assert same.status_code == 200, same.text
    assert (same.json()["actual_commission_fen"], same.json()["delta_fen"]) == (90, 0)
    body = {
        "from": "2026-03-01",
        "to": "2026-03-31",
        "tiers": [{"code": "super_member", "share_bp": 3000, "override_bp": 500}],
        "volume_change_bp": -1000,
    }
    response = client.post(path, json=body, headers=operator)
    assert response.status_code == 200, response.text
    result = response.json()
    # o1: A earns floor(2490 × 20% × 30%) = 149, worth 149 − floor(149 × 1000 / 2490) = 90 after the refund.
    assert (result["actual_commission_fen"], result["simulated_commission_fen"], result["delta_fen"]) == (
        90,
        120,
        30,
    )
    assert result["adjusted_commission_fen"] == 108
    assert "-10.00%" in result["assumption"]


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("repeat?from=2026-03-31&to=2026-03-01", "bad_range"),
        ("repeat?from=2020-01-01&to=2023-01-01", "range_too_long"),
        ("repeat?from=2026-03-01&to=2026-03-31&channel=tv", "unknown_channel"),
        ("repeat?from=2026-03-01&to=2026-03-31&window_days=0", "validation_error"),
        ("economics?from=2026-03-31&to=2026-03-01", "bad_range"),
        ("economics?from=9999-01-01&to=9999-12-31", "date_out_of_range"),
        ("cohorts?from=0001-01-01&to=0001-01-31", "date_out_of_range"),
        ("fission?period=2026-13", "bad_period"),
        ("fission?period=26-03-1", "bad_period"),
        ("fission?period=%EF%BC%92%EF%BC%90%EF%BC%92%EF%BC%96-03", "bad_period"),  # full-width: was echoed
        ("fission?period=%D9%A2%D9%A0%D9%A2%D9%A6-03", "bad_period"),  # Arabic-Indic digits
        ("fission?period=0000-01", "date_out_of_range"),  # no such year: was a 500
        ("fission?period=0001-01", "date_out_of_range"),
        ("fission?period=1969-12", "date_out_of_range"),
        ("fission?period=9999-12", "date_out_of_range"),
    ],
)
def test_bad_input_is_422(
    client: TestClient, operator: dict[str, str], world: AnalyticsWorld, query: str, code: str
) -> None:
    response = client.get(f"/api/v1/programs/{world.program_id}/analytics/{query}", headers=operator)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code
    # a refusal says what it expects, not what was typed (nor the dates it read)
    for typed in ("tv", "2026-13", "26-03-1", "2026-03-31", "2026-03-01"):
        assert typed not in response.json()["detail"]


def test_unknown_program_is_404(client: TestClient, operator: dict[str, str], world: AnalyticsWorld) -> None:
    _get(client, f"programs/999999/analytics/economics?{MARCH}", operator, 404)


def test_customer_value(client: TestClient, operator: dict[str, str], world: AnalyticsWorld) -> None:
    body = _get(client, f"programs/{world.program_id}/analytics/customers?{MARCH}", operator)
    # c1: o1 2490 − 1000 refunded − 90 commission, o2 4990; c2 and c3: 9980 each (o5 fully refunded).
    assert body["channels"] == [
        {
            "key": "group_link",
            "channel": "group_link",
            "customers": 1,
            "net_fen": 6390,
            "average_net_fen": 6390,
            "coupon_fen": 2500,
            "promotion_fen": 0,
            "percentiles": {"p10": 6390, "p25": 6390, "p50": 6390, "p75": 6390, "p90": 6390},
        },
        {
            "key": "organic",
            "channel": "organic",
            "customers": 2,
            "net_fen": 19960,
            "average_net_fen": 9980,
            "coupon_fen": 2500,
            "promotion_fen": 0,
            "percentiles": {"p10": 9980, "p25": 9980, "p50": 9980, "p75": 9980, "p90": 9980},
        },
    ]
    assert [t["net_fen"] for t in body["top"]] == [9980, 9980, 6390]
    assert all(t["reference"].startswith("C-") and len(t["reference"]) == 8 for t in body["top"])
    _get(client, f"programs/{world.program_id}/analytics/customers?{MARCH}", world.a_token, 403)


def test_prices_and_funnel(client: TestClient, operator: dict[str, str], world: AnalyticsWorld) -> None:
    prices = _get(client, f"programs/{world.program_id}/analytics/prices?{MARCH}", operator)
    assert (prices["list_fen"], prices["paid_fen"]) == (7 * 4990, 2 * 2490 + 5 * 4990)
    assert prices["discount_bp"] == 5000 * 10_000 // (7 * 4990)
    assert prices["hidden_share_bp"] == 4980 * 10_000 // 29930
    assert [(s["sku"], s["units"], s["hidden_units"]) for s in prices["skus"]] == [("LQ-SHAMPOO-500", 7, 2)]
    funnel = _get(client, f"programs/{world.program_id}/analytics/funnel?{MARCH}&by=member", operator)
    assert funnel["rows"] == [{"key": world.a, "clicks": 0, "claims": 0, "orders": 2, "net_fen": 1490}]
    assert (
        _get(client, f"programs/{world.program_id}/analytics/funnel?{MARCH}&by=group", operator)["rows"] == []
    )
    own = _get(client, f"programs/{world.program_id}/analytics/funnel?{MARCH}&by=member", world.b_token)
    assert own["rows"] == []
    bad = client.get(f"/api/v1/programs/{world.program_id}/analytics/funnel?{MARCH}&by=tv", headers=operator)
    assert bad.status_code == 422


def test_customers_and_recruits_whose_window_is_still_open_are_counted_apart(
    client: TestClient, operator: dict[str, str], world: AnalyticsWorld
) -> None:
    """As of the last refresh: r1 bought 40 and 30 days ago (a repeater, window ended); r2 5 days ago
    and r3 3 and 2 days ago are still inside their 30 days, in neither figure; a recruit who joined 10
    days ago is neither active after 30 days nor inactive yet."""
    now = datetime.now(UTC)
    ago = {days: (now - timedelta(days=days)).isoformat() for days in (40, 30, 10, 5, 3, 2)}
    for external_id, customer, days in [
        ("w1", "r1", 40),
        ("w2", "r1", 30),
        ("w3", "r2", 5),
        ("w4", "r3", 3),
        ("w5", "r3", 2),
    ]:
        order(client, operator, world.program_id, external_id, customer, at=ago[days])
    recruit = create_member(
        client, operator, world.program_id, "新人D", inviter_id=world.a, joined_at=ago[10]
    )
    assert client.post("/api/v1/analytics/refresh", headers=operator).status_code == 200
    since = (now - timedelta(days=45)).date().isoformat()
    until = (now + timedelta(days=1)).date().isoformat()
    body = _get(client, f"programs/{world.program_id}/analytics/repeat?from={since}&to={until}", operator)
    assert body["channels"] == [
        {
            "channel": "organic",
            "customers": 1,
            "repeat_customers": 1,
            "repeat_rate_bp": 10000,
            "customers_in_window": 2,
        }
    ]
    period = recruit["joined_at"][:7]
    for headers in (operator, world.a_token):
        fission = _get(client, f"programs/{world.program_id}/analytics/fission?period={period}", headers)
        assert (fission["recruits"], fission["recruits_active_after_30_days"]) == (1, 0)
        assert fission["recruits_within_30_days"] == 1
