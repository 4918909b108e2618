"""Economics per day, tier and sku; customer value per channel and tier; prices from claims; the
event and push channels — over the analytics world with an event order, an order through a link made
for a push, and a claim added, on DuckDB and chDB."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.analytics import breakdowns, reports
from neigou.analytics.extract import refresh
from neigou.analytics.reports import Span
from neigou.analytics.store import open_store
from neigou.crm.models import Push, PushChannel
from neigou.kit.db import transaction
from neigou.kit.ids import customer_ref_hash, customer_ref_mask
from neigou.links import service as links
from neigou.links.models import ClaimSource, CouponClaim, ShareLink
from neigou.links.schemas import LinkCreate
from tests.analytics.builders import LINK_FEN, LIST_FEN, SKU, AnalyticsWorld, build
from tests.conftest import SECRET, TEST_ACTOR, TokenMaker
from tests.events.builders import create_event

pytestmark = pytest.mark.world_per_module
MARCH = "from=2026-03-01&to=2026-03-31"
EVENT_FEN = 3990


@pytest.fixture(scope="module")
def world(
    module_client: TestClient,
    module_operator: dict[str, str],
    module_make_token: TokenMaker,
    module_factory: sessionmaker[Session],
) -> AnalyticsWorld:
    built = build(module_client, module_operator, module_make_token, module_factory)
    items = [{"sku": SKU, "price_fen": EVENT_FEN, "stock": 10, "per_person_limit": 2}]
    event_id = create_event(module_client, module_operator, built.program_id, items=items)
    body = {
        "external_id": "e1",
        "program_id": built.program_id,
        "customer_ref": "c5",
        "event_id": event_id,
        "items": [{"sku": SKU, "quantity": 1, "paid_fen": EVENT_FEN}],
        "paid_at": "2026-03-12T10:00:00+08:00",
    }
    response = module_client.post("/api/v1/orders", json=body, headers=module_operator)
    assert response.status_code == 201, response.text
    at = datetime.fromisoformat("2026-03-01T09:00:00+08:00")
    with transaction(module_factory) as session:
        push = Push(program_id=built.program_id, member_id=built.b, channel=PushChannel.TASK, created_at=at)
        session.add(push)
        session.flush()
        pushed = links.create_link(
            session, data=LinkCreate(member_id=built.b, sku=SKU), actor=TEST_ACTOR, at=at
        )
        pushed.push_id = push.id
    body |= {"external_id": "p1", "customer_ref": "c7", "link_code": pushed.code, "event_id": None}
    body |= {
        "items": [{"sku": SKU, "quantity": 1, "paid_fen": LIST_FEN}],
        "paid_at": "2026-03-14T10:00:00+08:00",
    }
    response = module_client.post("/api/v1/orders", json=body, headers=module_operator)
    assert response.status_code == 201, response.text
    with transaction(module_factory) as session:
        link = session.scalars(select(ShareLink).where(ShareLink.member_id == built.a)).one()
        session.add(
            CouponClaim(
                coupon_id=link.coupon_id,
                customer_ref_hash=customer_ref_hash(SECRET, "c6"),
                customer_ref_masked=customer_ref_mask("c6"),
                link_id=link.id,
                program_id=built.program_id,
                member_id=built.a,
                source=ClaimSource.API,
                claimed_at=datetime.fromisoformat("2026-03-09T10:00:00+08:00"),
            )
        )
    response = module_client.post("/api/v1/analytics/refresh", headers=module_operator)
    assert response.status_code == 200, response.text
    return built


def _get(client: TestClient, path: str, headers: dict[str, str], status: int = 200) -> Any:
    response = client.get(f"/api/v1/{path}", headers=headers)
    assert response.status_code == status, response.text
    return response.json()


FIGURES = ("orders", "gmv_fen", "refund_fen", "commission_fen", "net_fen", "coupon_fen", "promotion_fen")


def test_economics_by_day_tier_and_sku_add_up_to_the_totals(
    client: TestClient, operator: dict[str, str], world: AnalyticsWorld
) -> None:
    path = f"programs/{world.program_id}/analytics/economics?{MARCH}"
    total = _get(client, path, operator)
    assert total["rows"] is None
    assert total["orders"] == 9
    by_day = _get(client, f"{path}&by=day", operator)["rows"]
    assert [r["key"] for r in by_day] == sorted(r["key"] for r in by_day)
    fifth = next(r for r in by_day if r["key"] == "2026-03-05")
    assert (fifth["orders"], fifth["gmv_fen"], fifth["refund_fen"]) == (1, LINK_FEN, 1000)
    # 23:59:59 on 6 March in Shanghai is the 6th, not the 7th.
    assert next(r for r in by_day if r["key"] == "2026-03-06")["gmv_fen"] == LIST_FEN
    by_tier = {r["key"]: r for r in _get(client, f"{path}&by=tier", operator)["rows"]}
    assert set(by_tier) == {"super_member", ""}
    assert by_tier["super_member"]["orders"] == 3  # A's two through the link, B's through the push
    assert by_tier["super_member"]["commission_fen"] == total["commission_fen"]
    for by in ("day", "tier", "group", "sku", "brand"):
        rows = _get(client, f"{path}&by={by}", operator)["rows"]
        for figure in FIGURES:
            assert sum(r[figure] for r in rows) == total[figure], (by, figure)
    assert [r["key"] for r in _get(client, f"{path}&by=sku", operator)["rows"]] == [SKU]
    bad = client.get(f"/api/v1/{path}&by=week", headers=operator)
    assert bad.status_code == 422
    assert bad.json()["code"] == "validation_error"
    # A member's rows are their own orders only.
    own = _get(client, f"{path}&by=day", world.a_token)["rows"]
    assert sum(r["orders"] for r in own) == 2


def test_event_and_push_orders_are_their_own_channels(
    client: TestClient, operator: dict[str, str], world: AnalyticsWorld
) -> None:
    body = _get(client, f"programs/{world.program_id}/analytics/repeat?{MARCH}", operator)
    channels = {r["channel"]: r["customers"] for r in body["channels"]}
    assert channels == {"event": 1, "push": 1, "group_link": 1, "organic": 2}
    only = _get(client, f"programs/{world.program_id}/analytics/repeat?{MARCH}&channel=event", operator)
    assert [r["channel"] for r in only["channels"]] == ["event"]


def test_customer_value_by_channel_and_tier(
    client: TestClient, operator: dict[str, str], world: AnalyticsWorld
) -> None:
    path = f"programs/{world.program_id}/analytics/customers?{MARCH}"
    by_channel = _get(client, path, operator)
    assert by_channel["by"] == "channel"
    event = next(c for c in by_channel["channels"] if c["key"] == "event")
    assert (event["channel"], event["customers"], event["net_fen"]) == ("event", 1, EVENT_FEN)
    by_tier = _get(client, f"{path}&by=tier", operator)
    tiers = {c["key"]: c for c in by_tier["channels"]}
    assert set(tiers) == {"super_member", ""}
    assert all(c["channel"] is None for c in by_tier["channels"])
    assert tiers["super_member"]["customers"] == 2  # c1 through A's link, c7 through B's push
    assert sum(c["customers"] for c in by_tier["channels"]) == 5
    assert sum(c["net_fen"] for c in by_tier["channels"]) == sum(c["net_fen"] for c in by_channel["channels"])
    assert all(t["reference"].startswith("C-") for t in by_tier["top"])
    assert client.get(f"/api/v1/{path}&by=sku", headers=operator).status_code == 422


def test_prices_from_claims_and_quotes(
    client: TestClient, operator: dict[str, str], world: AnalyticsWorld
) -> None:
    prices = _get(client, f"programs/{world.program_id}/analytics/prices?{MARCH}", operator)
    assert prices["claims"] == 1
    assert prices["claimed_skus"] == [
        {
            "sku": SKU,
            "claims": 1,
            "hidden_claims": 1,
            "average_list_fen": LIST_FEN,
            "average_group_fen": LIST_FEN - 2500,
            "discount_bp": 2500 * 10_000 // LIST_FEN,
        }
    ]
    assert prices["claim_discount_bp"] == 2500 * 10_000 // LIST_FEN
    # B sold nothing and shared no link: no claims are B's.
    assert _get(client, f"programs/{world.program_id}/analytics/prices?{MARCH}", world.b_token)["claims"] == 0


@pytest.mark.chdb
def test_breakdowns_are_the_same_on_chdb(
    world: AnalyticsWorld, factory: sessionmaker[Session], tmp_path: Path
) -> None:
    pytest.importorskip("chdb")
    duck = open_store(f"duckdb:///{tmp_path / 'a.duckdb'}")
    clickhouse = open_store(f"chdb:///{tmp_path / 'chdb'}")
    try:
        with factory() as session:
            assert refresh(session, duck) == refresh(session, clickhouse)
        for member in (0, world.a):
            span = Span(world.program_id, date(2026, 3, 1), date(2026, 3, 31), member)
            for by in breakdowns.ECONOMICS_KEYS:
                assert breakdowns.economics_by(clickhouse, span, by=by) == breakdowns.economics_by(
                    duck, span, by=by
                )
            assert breakdowns.claim_prices(clickhouse, span) == breakdowns.claim_prices(duck, span)
            for by in reports.VALUE_KEYS:
                assert reports.customer_value(clickhouse, span, by=by) == reports.customer_value(
                    duck, span, by=by
                )
            assert reports.repeat(clickhouse, span, window_days=30) == reports.repeat(
                duck, span, window_days=30
            )
        assert breakdowns.claim_prices(duck, Span(world.program_id, date(2026, 3, 1), date(2026, 3, 31)))
    finally:
        duck.close()
        clickhouse.close()
