"""Orders of an event: the live board, the leaderboard, paid holds and the after-event report."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from neigou.events.holds import settle_holds
from neigou.events.models import Invitation, Reservation, ReservationStatus
from neigou.kit.clock import utcnow
from neigou.kit.db import transaction
from neigou.offers.models import Product
from tests.events.builders import add_employees, invite
from tests.orders.builders import SKU, World, build
from tests.sign_in import console_sign_in


def _event(client: TestClient, operator: dict[str, str], world: World) -> int:
    now = utcnow()
    body = {
        "program_id": world.program_id,
        "name": "春季内购会",
        "starts_at": (now - timedelta(hours=1)).isoformat(),
        "ends_at": (now + timedelta(hours=1)).isoformat(),
        "guests_per_employee": 1,
        "stream_url": "https://live.example.com/room/1",
        "items": [{"sku": SKU, "price_fen": 3000, "stock": 10, "per_person_limit": 2}],
    }
    response = client.post("/api/v1/events", json=body, headers=operator)
    assert response.status_code == 201, response.text
    event_id: int = response.json()["id"]
    add_employees(
        client, operator, event_id, [{"employee_no": "E1", "name": "员工", "member_id": world.seller}]
    )
    return event_id


def _order(
    world: World, external_id: str, event_id: int, *, customer: str, paid_fen: int, link: str
) -> dict[str, Any]:
    return {
        "external_id": external_id,
        "program_id": world.program_id,
        "customer_ref": customer,
        "link_code": link,
        "event_id": event_id,
        "items": [{"sku": SKU, "quantity": 1, "paid_fen": paid_fen}],
        "paid_at": (utcnow() - timedelta(minutes=1)).isoformat(),
    }


def _sell(
    client: TestClient, operator: dict[str, str], world: World, event_id: int, sales: list[tuple[int, str]]
) -> None:
    """One order of the event per sale (paid fen, link), numbered EV-1, EV-2 … for shopper-1, shopper-2 …"""
    for n, (fen, link) in enumerate(sales, start=1):
        made = client.post(
            "/api/v1/orders",
            json=_order(world, f"EV-{n}", event_id, customer=f"shopper-{n}", paid_fen=fen, link=link),
            headers=operator,
        )
        assert made.status_code == 201, made.text


@pytest.fixture(params=["database", "redis"])
def api(request: pytest.FixtureRequest, client: TestClient) -> TestClient:
    if request.param == "redis":
        redis_client: TestClient = request.getfixturevalue("redis_client_app")
        return redis_client
    return client


def test_board_leaderboard_holds_and_report(
    api: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    world = build(api, operator, factory)
    event_id = _event(api, operator, world)
    reserved = api.post(
        f"/api/v1/events/{event_id}/reservations",
        json={
            "customer_ref": "shopper-1",
            "employee_no": "E1",
            "sku": SKU,
            "link_code": world.link,
            "at": (utcnow() - timedelta(minutes=5)).isoformat(),
        },
        headers=operator,
    )
    assert reserved.status_code == 201, reserved.text
    _sell(api, operator, world, event_id, [(3000, world.link), (6000, world.owner_link), (2000, world.link)])
    refund = api.post(
        "/api/v1/orders/EV-2/refunds", json={"refund_id": "R1", "amount_fen": 1500}, headers=operator
    )
    assert refund.status_code in {200, 201}, refund.text
    app: Any = api.app
    app.state.events.flush()
    # GMV is paid less refunded: the owner's 6000 refunded 1500 ranks below the seller's 5000.
    board = api.get(f"/api/v1/events/{event_id}/board", headers=operator).json()
    assert board == {
        "orders": 3,
        "gmv_fen": 9500,
        "reservations": 1,
        "top_members": [
            {"member_id": world.seller, "gmv_fen": 5000},
            {"member_id": world.owner, "gmv_fen": 4500},
        ],
        "top_skus": [{"sku": SKU, "quantity": 3, "gmv_fen": 9500}],
    }
    ranks = api.get(f"/api/v1/events/{event_id}/leaderboard", headers=operator)
    assert ranks.headers["X-Total-Count"] == "2"
    assert [(r["member_id"], r["gmv_fen"], r["rank"]) for r in ranks.json()] == [
        (world.seller, 5000, 1),
        (world.owner, 4500, 2),
    ]
    mine = api.get(f"/api/v1/events/{event_id}/leaderboard/{world.owner}", headers=operator).json()
    assert mine == {"member_id": world.owner, "gmv_fen": 4500, "rank": 2}
    nobody = api.get(f"/api/v1/events/{event_id}/leaderboard/{world.mentor}", headers=operator)
    assert (nobody.status_code, nobody.json()["code"]) == (404, "no_standing")
    with factory() as session, session.begin():
        assert settle_holds(session, at=utcnow() + timedelta(hours=1), gate=app.state.events.gate) == (1, 0)
    with factory() as session:
        assert session.scalar(select(Reservation.status)) is ReservationStatus.PAID
    report = api.get(f"/api/v1/events/{event_id}/report?refund_days=3", headers=operator).json()
    assert report["members"] == sorted(
        [
            {"key": str(world.seller), "orders": 2, "gmv_fen": 5000, "refunded_fen": 0},
            {"key": str(world.owner), "orders": 1, "gmv_fen": 6000, "refunded_fen": 1500},
        ],
        key=lambda line: int(str(line["key"])),
    )
    assert report["skus"] == [{"key": SKU, "orders": 3, "gmv_fen": 11000, "refunded_fen": 1500}]
    assert report["employees"] == []


def test_order_of_another_programs_event_is_refused(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    world = build(client, operator, factory)
    body = _order(world, "EV-X", 999_999, customer="shopper-9", paid_fen=100, link=world.link)
    refused = client.post("/api/v1/orders", json=body, headers=operator)
    assert (refused.status_code, refused.json()["code"]) == (422, "event_not_found")


def test_pages(client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]) -> None:
    world = build(client, operator, factory)
    event_id = _event(client, operator, world)
    code = client.get(f"/api/v1/events/{event_id}", headers=operator).json()["code"]
    live = client.get(f"/e/{code}")
    assert live.status_code == 200
    assert "春季内购会" in live.text
    assert 'data-testid="live-now"' in live.text
    assert "https://live.example.com/room/1" in live.text
    assert "正在直播" in live.text
    assert client.get("/e/nope0000").status_code == 404
    assert client.get("/console/events", follow_redirects=False).status_code in {303, 401}
    console_sign_in(client, factory)
    listing = client.get("/console/events")
    assert listing.status_code == 200
    assert f"/console/events/{event_id}" in listing.text
    page = client.get(f"/console/events/{event_id}")
    assert page.status_code == 200
    assert "data-board-stream=" in page.text


def _tag(page: str, testid: str) -> str:
    """The opening tag of the element with this test id."""
    found = re.search(rf'<[a-z]+ [^>]*data-testid="{testid}"[^>]*>', page)
    assert found, testid
    return found.group(0)


def _text(page: str, testid: str) -> str:
    """The text pieces of the element with this test id, joined by ``|`` (its tags dropped)."""
    found = re.search(rf'data-testid="{testid}"[^>]*>(.*?)</(?:p|ol|ul)>', page, re.S)
    assert found, testid
    return "|".join(piece.strip() for piece in re.split(r"<[^>]+>", found.group(1)) if piece.strip())


def test_console_board_names_sellers_and_products_and_says_when_nothing_sold(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    """The board ranks sellers by the whitelist's names (never ``#id``) and products by title, each list
    saying "no sales yet" while empty; the whitelist's count reads right for one employee too."""
    world = build(client, operator, factory)
    event_id = _event(client, operator, world)
    console_sign_in(client, factory)
    empty = client.get(f"/console/events/{event_id}").text
    for testid in ("board-members-empty", "board-skus-empty"):
        assert "hidden" not in _tag(empty, testid)
        assert _text(empty, testid) == "暂无成交。"
    assert _text(empty, "board-members") == ""
    assert _text(empty, "employee-count") == "白名单员工：1 名"
    english = client.get(f"/console/events/{event_id}?lang=en").text
    assert _text(english, "employee-count") == "Employees on the whitelist: 1"
    assert _text(english, "board-members-empty") == "No sales yet."
    assert "(Asia/Shanghai)" in _text(english, "event-window")

    made = client.post(
        "/api/v1/orders",
        json=_order(world, "EV-1", event_id, customer="shopper-1", paid_fen=3000, link=world.link),
        headers=operator,
    )
    assert made.status_code == 201, made.text
    app: Any = client.app
    app.state.events.flush()
    sold = client.get(f"/console/events/{event_id}").text
    assert _text(sold, "board-members") == "员工 · ¥30.00"
    assert _text(sold, "board-skus") == f"{SKU} · 1 件 · ¥30.00"
    for testid in ("board-members-empty", "board-skus-empty"):
        assert "hidden" in _tag(sold, testid)


def test_board_stream_names_every_seller_and_product(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    """The live stream sends each top seller's name (the whitelist's, else the member's) and each top
    product's title, so a seller who was not on the board at page load is never shown as ``#id``; the
    page shows the same names."""
    world = build(client, operator, factory)
    event_id = _event(client, operator, world)
    with transaction(factory) as session:
        session.execute(update(Product).where(Product.sku == SKU).values(title="澜泉洗发水"))
    _sell(client, operator, world, event_id, [(3000, world.link), (6000, world.owner_link)])
    app: Any = client.app
    app.state.events.flush()
    with client.stream("GET", f"/console/events/{event_id}/board/stream", headers=operator) as stream:
        assert stream.status_code == 200
        lines = stream.iter_lines()
        assert next(lines) == "event: board"
        pushed = json.loads(next(lines).removeprefix("data: "))
    assert pushed["top_members"] == [
        {"member_id": world.owner, "gmv_fen": 6000, "name": "owner"},
        {"member_id": world.seller, "gmv_fen": 3000, "name": "员工"},
    ]
    assert pushed["top_skus"] == [{"sku": SKU, "quantity": 2, "gmv_fen": 9000, "title": "澜泉洗发水"}]
    console_sign_in(client, factory)
    page = client.get(f"/console/events/{event_id}").text
    assert _text(page, "board-members") == "owner · ¥60.00|员工 · ¥30.00"
    assert _text(page, "board-skus") == "澜泉洗发水 · 2 件 · ¥90.00"
    assert f"#{world.owner}" not in page


def test_live_page_lists_prices_with_the_window_in_the_programs_zone(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    world = build(client, operator, factory)
    event_id = _event(client, operator, world)
    code = client.get(f"/api/v1/events/{event_id}", headers=operator).json()["code"]
    live = client.get(f"/e/{code}").text
    assert _text(live, "live-window").endswith("(Asia/Shanghai)")
    assert _text(live, "live-items") == f"{SKU}|剩余 10 件|¥30.00"
    assert "10 left" in _text(client.get(f"/e/{code}?lang=en").text, "live-items")


def test_orders_pay_for_holds_of_their_sku_up_to_the_units_ordered(
    api: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    """A hold is paid only as far as the shopper's orders of the event pay for its sku: one unit
    ordered pays one hold of one unit (the oldest), the other expires; an order refunded in full pays
    none; both paths alike."""
    world = build(api, operator, factory)
    event_id = _event(api, operator, world)
    add_employees(api, operator, event_id, [{"employee_no": "E2", "name": "员工二"}])
    for n, (customer, number, minutes) in enumerate(
        (("shopper-1", "E1", 5), ("shopper-1", "E1", 4), ("shopper-2", "E2", 5)), start=1
    ):
        made = api.post(
            f"/api/v1/events/{event_id}/reservations",
            json={
                "customer_ref": customer,
                "employee_no": number,
                "sku": SKU,
                "request_id": f"hold-{n}",
                "at": (utcnow() - timedelta(minutes=minutes)).isoformat(),
            },
            headers=operator,
        )
        assert made.status_code == 201, made.text
    _sell(api, operator, world, event_id, [(3000, world.link), (3000, world.link)])  # one unit each
    refund = api.post(
        "/api/v1/orders/EV-2/refunds", json={"refund_id": "R2", "amount_fen": 3000}, headers=operator
    )
    assert refund.status_code in {200, 201}, refund.text
    app: Any = api.app
    app.state.events.flush()
    with factory() as session, session.begin():
        assert settle_holds(session, at=utcnow() + timedelta(hours=1), gate=app.state.events.gate) == (1, 2)
    with factory() as session:
        statuses = dict(session.execute(select(Reservation.request_id, Reservation.status)).all())
    assert statuses == {
        "hold-1": ReservationStatus.PAID,
        "hold-2": ReservationStatus.EXPIRED,
        "hold-3": ReservationStatus.EXPIRED,
    }
    with factory() as session, session.begin():  # settled again: nothing more is paid
        assert settle_holds(session, at=utcnow() + timedelta(hours=1), gate=app.state.events.gate) == (0, 0)


def test_the_report_credits_an_order_to_one_invitation(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    """A shopper is bound to one invitation code of an event: the database refuses a second binding
    (migration 0047's unique index), and a code detached by that migration (a binding from before,
    ``detached:<id>``) names nobody: each order is counted once, for the code bound first."""
    world = build(client, operator, factory)
    event_id = _event(client, operator, world)
    add_employees(client, operator, event_id, [{"employee_no": "E2", "name": "员工二"}])
    (first,) = invite(client, operator, event_id, "E1", 1)
    (second,) = invite(client, operator, event_id, "E2", 1)
    made = client.post(
        f"/api/v1/events/{event_id}/reservations",
        json={"customer_ref": "shopper-1", "invitation_code": first, "sku": SKU},
        headers=operator,
    )
    assert made.status_code == 201, made.text
    with factory() as session:
        bound = session.scalar(select(Invitation).where(Invitation.code == first))
        assert bound is not None
        assert bound.bound_at is not None
    twice = (
        update(Invitation)
        .where(Invitation.code == second)
        .values(customer_ref_hash=bound.customer_ref_hash, bound_at=bound.bound_at + timedelta(minutes=1))
    )
    with pytest.raises(IntegrityError), transaction(factory) as session:
        session.execute(twice)
    with transaction(factory) as session:
        detached = session.scalar(select(Invitation).where(Invitation.code == second))
        assert detached is not None
        detached.customer_ref_hash, detached.bound_at = f"detached:{detached.id}", utcnow()
    _sell(client, operator, world, event_id, [(3000, world.link)])
    report = client.get(f"/api/v1/events/{event_id}/report?refund_days=3", headers=operator).json()
    assert report["employees"] == [{"key": "E1", "orders": 1, "gmv_fen": 3000, "refunded_fen": 0}]
