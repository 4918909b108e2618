"""Brushing opens a case at order ingest; the case holds the commission through settlement until an
operator clears it (released at the next settlement) or confirms it (reversed, exactly once)."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from neigou.ledger.models import Posting
from tests.conftest import row_counts
from tests.orders import builders as orders
from tests.orders.builders import PAID_AT, assert_ledger_balanced, balance, settle
from tests.risk.builders import MENTOR_FEN, OWNER_FEN, SELLER_FEN, brush, cases, complete, resolve

HELD = 10 * (SELLER_FEN + OWNER_FEN + MENTOR_FEN)


def _brushed(client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]) -> orders.World:
    world = orders.build(client, operator, factory, freeze_days=7)
    brush(client, operator, world, 10)  # 10 orders of ¥5, 6 minutes apart: 54 minutes
    for i in range(10):
        complete(client, operator, world.program_id, f"B-{i}", PAID_AT + timedelta(days=1))
    return world


def test_ten_small_orders_within_an_hour_open_a_case_at_ingest(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    world = _brushed(client, operator, factory)
    [case] = cases(client, operator, world.program_id, "open")
    assert case["rule"] == "order_brushing"
    assert case["member_id"] == world.seller
    assert len(case["order_ids"]) == 10
    assert case["held_fen"] == HELD
    assert case["severity"] == "medium"
    assert case["evidence"]["burst_orders"] == 10
    assert case["evidence"]["burst_paid_fen"] == 5000
    assert case["explanation"]["en"].startswith("10 orders of at most ¥5.00 within 60 minutes")
    assert "10" in case["explanation"]["zh"]
    assert case["explanation"]["zh"] != case["explanation"]["en"]
    assert cases(client, operator, world.program_id, "cleared") == []


def test_below_each_threshold_nothing_opens(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    world = orders.build(client, operator, factory)
    brush(client, operator, world, 9, prefix="NINE")  # one order short
    brush(client, operator, world, 10, prefix="BIG", paid_fen=501, start=PAID_AT + timedelta(days=2))
    brush(
        client,
        operator,
        world,
        10,
        prefix="SLOW",
        step=timedelta(minutes=7),
        start=PAID_AT + timedelta(days=4),
    )
    scan = client.post(
        f"/api/v1/programs/{world.program_id}/risk/scan",
        json={"as_of": (PAID_AT + timedelta(days=6)).isoformat()},
        headers=operator,
    )
    assert scan.status_code == 200, scan.text
    assert scan.json()["opened"] == 0
    assert cases(client, operator, world.program_id) == []


def test_a_held_order_stays_frozen_through_settlement_until_cleared(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    world = _brushed(client, operator, factory)
    [case] = cases(client, operator, world.program_id, "open")
    after_freeze = PAID_AT + timedelta(days=9)
    assert settle(client, operator, world.program_id, after_freeze)["orders"] == 0
    assert balance(client, operator, world.seller) == {
        "pending_fen": 0,
        "frozen_fen": 10 * SELLER_FEN,
        "available_fen": 0,
        "withdrawn_fen": 0,
    }
    cleared = resolve(client, operator, case["id"], "clear", note="real shoppers")
    assert cleared.status_code == 200, cleared.text
    assert (cleared.json()["status"], cleared.json()["note"]) == ("cleared", "real shoppers")
    assert balance(client, operator, world.seller)["frozen_fen"] == 10 * SELLER_FEN  # until the next run
    assert settle(client, operator, world.program_id, after_freeze)["released_fen"] == HELD
    assert balance(client, operator, world.seller)["available_fen"] == 10 * SELLER_FEN
    again = resolve(client, operator, case["id"], "clear")
    assert again.status_code == 200
    assert again.json()["status"] == "cleared"
    assert settle(client, operator, world.program_id, after_freeze)["released_fen"] == 0
    assert balance(client, operator, world.seller)["available_fen"] == 10 * SELLER_FEN
    assert_ledger_balanced(factory)


def test_confirm_reverses_the_held_commission_once(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    world = _brushed(client, operator, factory)
    [case] = cases(client, operator, world.program_id, "open")
    confirmed = resolve(client, operator, case["id"], "confirm", note="brushing", suspend=True)
    assert confirmed.status_code == 200, confirmed.text
    body = confirmed.json()
    assert (body["status"], body["reversed_fen"], body["suspended"]) == ("confirmed", HELD, True)
    assert balance(client, operator, world.seller)["frozen_fen"] == 0
    assert balance(client, operator, world.owner)["frozen_fen"] == 0
    before = row_counts(factory)
    assert resolve(client, operator, case["id"], "confirm").json()["reversed_fen"] == HELD
    clash = resolve(client, operator, case["id"], "clear")
    assert (clash.status_code, clash.json()["code"]) == (409, "case_resolved")
    assert row_counts(factory) == before
    with factory() as session:
        keys = session.scalar(select(func.count()).where(Posting.key == f"risk_case:{case['id']}:confirm"))
    assert keys == 1
    # Settlement after the freeze moves nothing; a later refund of a reversed order takes nothing more.
    assert settle(client, operator, world.program_id, PAID_AT + timedelta(days=9))["released_fen"] == 0
    refund = client.post(
        f"/api/v1/orders/B-0/refunds?program_id={world.program_id}",
        json={"refund_id": "R-B-0", "amount_fen": 500, "at": (PAID_AT + timedelta(days=10)).isoformat()},
        headers=operator,
    )
    assert refund.status_code in {200, 201}, refund.text
    assert balance(client, operator, world.seller) == {
        "pending_fen": 0,
        "frozen_fen": 0,
        "available_fen": 0,
        "withdrawn_fen": 0,
    }
    assert_ledger_balanced(factory)
    # The suspended member makes no new links and withdraws nothing.
    link = client.post("/api/v1/links", json={"member_id": world.seller, "sku": orders.SKU}, headers=operator)
    assert (link.status_code, link.json()["code"]) == (409, "member_suspended")
    withdrawal = client.post(
        f"/api/v1/members/{world.seller}/withdrawals",
        json={"amount_fen": 100, "request_id": "w1"},
        headers=operator,
    )
    assert (withdrawal.status_code, withdrawal.json()["code"]) == (409, "member_suspended")


def test_confirm_takes_released_commission_from_available(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    world = orders.build(client, operator, factory, freeze_days=0)
    for i in range(10):
        orders.post_order(
            client,
            operator,
            orders.order_body(
                world, f"A-{i}", (orders.SKU, 1, 500), at=PAID_AT + i * timedelta(minutes=6), customer=f"a{i}"
            ),
        )
    [case] = cases(client, operator, world.program_id, "open")
    assert resolve(client, operator, case["id"], "clear").status_code == 200
    for i in range(10):
        complete(client, operator, world.program_id, f"A-{i}", PAID_AT + timedelta(days=1))
    settle(client, operator, world.program_id, PAID_AT + timedelta(days=1))
    assert balance(client, operator, world.seller)["available_fen"] == 10 * SELLER_FEN
    # Ten more the next day: a new case for the new orders only (the cleared ones stay cleared).
    brush(client, operator, world, 10, prefix="N", start=PAID_AT + timedelta(days=2))
    [fresh] = cases(client, operator, world.program_id, "open")
    assert len(fresh["order_ids"]) == 10
    assert not set(fresh["order_ids"]) & set(case["order_ids"])
    for i in range(10):
        complete(client, operator, world.program_id, f"N-{i}", PAID_AT + timedelta(days=3))
    settle(client, operator, world.program_id, PAID_AT + timedelta(days=3))
    assert balance(client, operator, world.seller)["frozen_fen"] == 10 * SELLER_FEN
    assert resolve(client, operator, fresh["id"], "confirm").status_code == 200
    assert balance(client, operator, world.seller) == {
        "pending_fen": 0,
        "frozen_fen": 0,
        "available_fen": 10 * SELLER_FEN,
        "withdrawn_fen": 0,
    }
    assert_ledger_balanced(factory)


def test_high_severity_case_holds_withdrawals(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    world = orders.build(client, operator, factory, freeze_days=0)
    orders.post_order(client, operator, orders.order_body(world, "BIG-1", (orders.SKU, 1, 100_000)))
    complete(client, operator, world.program_id, "BIG-1", PAID_AT)
    settle(client, operator, world.program_id, PAID_AT)
    brush(
        client, operator, world, 20, prefix="H", step=timedelta(minutes=3), start=PAID_AT + timedelta(days=1)
    )
    [case] = cases(client, operator, world.program_id, "open")
    assert case["severity"] == "high"
    path = f"/api/v1/members/{world.seller}/withdrawals"
    held = client.post(path, json={"amount_fen": 1000, "request_id": "w-held"}, headers=operator)
    assert (held.status_code, held.json()["code"]) == (409, "withdrawals_held")
    assert resolve(client, operator, case["id"], "clear").status_code == 200
    assert (
        client.post(path, json={"amount_fen": 1000, "request_id": "w-held"}, headers=operator).status_code
        == 201
    )
