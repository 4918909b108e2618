"""Tier keep rules through the API: a tier kept only while its keep rule is met within its window of
months, and the rule's refusals."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.clock import utcnow
from tests.factories import PARTNER_TIERS
from tests.tiers.builders import (
    APRIL_FIRST,
    MID_MARCH,
    SHANGHAI,
    build,
    current_tier,
    evaluate,
    sell,
    seller_commission,
)

KEEP_TIERS = [
    PARTNER_TIERS[0],
    {
        **PARTNER_TIERS[1],
        "upgrade": {
            **PARTNER_TIERS[1]["upgrade"],
            "keep": {"periods": 2, "all": [{"metric": "orders", "gte": 5}]},
        },
    },
]


def test_keep_rule_demotes_after_consecutive_short_periods(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w = build(client, operator, factory, tiers=KEEP_TIERS, seller_tier="mentor")
    sell(client, operator, w, 5, at=datetime(2026, 1, 20, tzinfo=SHANGHAI), prefix="JAN")
    sell(client, operator, w, 4, at=datetime(2026, 2, 20, tzinfo=SHANGHAI), prefix="FEB")
    assert evaluate(client, operator, w, "2026-02")["changes"] == []  # one short month only
    sell(client, operator, w, 4, at=MID_MARCH, prefix="MAR")
    march = evaluate(client, operator, w, "2026-03")
    change = march["changes"][0]
    assert (change["member_id"], change["from"], change["to"], change["kind"]) == (
        w.seller,
        "mentor",
        "super_member",
        "demotion",
    )
    assert [(r["code"], r["actual"], r["required"]) for r in change["reasons"]] == [
        ("keep_rule_missed", 2, 2),
        ("keep_condition_missed", 4, 5),
    ]
    assert change["reasons"][0]["zh"] == "连续 2 个月未达到导师保级条件。"
    assert current_tier(factory, w.seller) == "super_member"
    april = sell(client, operator, w, 1, at=APRIL_FIRST, prefix="APR")
    assert seller_commission(april[0], w.seller) == 600  # paid before the run: still a mentor
    after = sell(client, operator, w, 1, at=utcnow() + timedelta(minutes=5), prefix="NOW")
    assert seller_commission(after[0], w.seller) == 400  # demoted from the run (plus the clock skew) on


def test_keep_rule_holds_when_one_month_of_the_window_met_it(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w = build(client, operator, factory, tiers=KEEP_TIERS, seller_tier="mentor")
    sell(client, operator, w, 5, at=datetime(2026, 2, 20, tzinfo=SHANGHAI), prefix="FEB")
    assert evaluate(client, operator, w, "2026-03", dry_run=True)["changes"] == []


def test_keep_rule_validation(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w = build(client, operator, factory)
    too_long = [
        PARTNER_TIERS[0],
        {
            **PARTNER_TIERS[1],
            "upgrade": {
                **PARTNER_TIERS[1]["upgrade"],
                "keep": {"periods": 13, "all": [{"metric": "orders", "gte": 1}]},
            },
        },
    ]
    response = client.put(f"/api/v1/programs/{w.program_id}/tiers", json=too_long, headers=operator)
    assert (response.status_code, response.json()["code"]) == (422, "keep_periods_out_of_range")
    lowest = [
        {
            **PARTNER_TIERS[0],
            "upgrade": {
                "period": "month",
                "all": [{"metric": "orders", "gte": 1}],
                "keep": {"periods": 1, "all": [{"metric": "orders", "gte": 1}]},
            },
        },
        PARTNER_TIERS[1],
    ]
    response = client.put(f"/api/v1/programs/{w.program_id}/tiers", json=lowest, headers=operator)
    assert (response.status_code, response.json()["code"]) == (422, "keep_on_lowest_tier")
    assert response.json()["problems"][0]["tier"] == "super_member"
    ok = client.put(f"/api/v1/programs/{w.program_id}/tiers", json=KEEP_TIERS, headers=operator)
    assert ok.status_code == 200, ok.text
    assert ok.json()[1]["upgrade"]["keep"] == {
        "periods": 2,
        "all": [{"metric": "orders", "gte": 5, "tier": None}],
    }
