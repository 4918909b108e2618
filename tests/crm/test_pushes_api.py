"""Pushes through the API: a message per customer and product with the push's own tracked link,
skips with reasons, quiet hours, the frequency cap, idempotency, and figures from orders."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.links.models import ShareLink
from tests.campaigns import builders as fb
from tests.conftest import TokenMaker, bearer, row_counts
from tests.crm.push_builders import AT, PushWorld, push

pytestmark = [pytest.mark.world_per_module, pytest.mark.usefixtures("push_clock")]


def test_one_message_per_customer_and_product_with_its_own_link(
    client: TestClient, factory: sessionmaker[Session], world: PushWorld
) -> None:
    made = push(
        client, world, customer_ids=[world.wang, world.zhao, world.li, world.chen], skus=[fb.SHAMPOO, fb.TEE]
    )
    assert [(m["customer_id"], m["sku"]) for m in made["messages"]] == [
        (world.wang, fb.SHAMPOO),
        (world.wang, fb.TEE),
        (world.li, fb.SHAMPOO),
        (world.li, fb.TEE),
    ]
    assert made["skipped"] == [
        {"customer_id": world.zhao, "reason": "no_consent"},
        {"customer_id": world.chen, "reason": "no_consent"},
    ]
    first = made["messages"][0]
    assert first["text"] == (
        f"王女士您好，飘柔 去屑洗发水 500ml 群内价 ¥24.90（App 价 ¥49.90）：http://testserver/l/{first['link_code']}"
    )
    assert made["messages"][3]["text"].startswith("亲您好，衣朵 纯棉圆领T恤 ¥59.00：")
    assert {m["send_at"] for m in made["messages"]} == {"2026-03-24T04:00:00Z"}
    assert {m["status"] for m in made["messages"]} == {"pending"}
    with factory() as session:
        links = session.scalars(
            select(ShareLink).where(ShareLink.code.in_([m["link_code"] for m in made["messages"]]))
        ).all()
    assert len(links) == 4
    assert {(lk.push_id, lk.member_id, lk.campaign_id) for lk in links} == {
        (made["id"], world.feed.owner, world.feed.campaign_id)
    }
    assert {lk.sku: lk.coupon_id for lk in links} == {fb.SHAMPOO: world.feed.coupon_id, fb.TEE: None}


def test_inside_quiet_hours_the_messages_wait_for_the_morning(client: TestClient, world: PushWorld) -> None:
    night = AT + timedelta(hours=11)  # 23:00 in Shanghai
    made = push(client, world, customer_ids=[world.wang], skus=[fb.TEE], at=night.isoformat())
    assert made["messages"][0]["send_at"] == "2026-03-25T00:00:00Z"  # 08:00 the next day


def test_the_cap_allows_two_pushes_a_week(client: TestClient, world: PushWorld) -> None:
    for days in (0, 2):
        made = push(
            client,
            world,
            customer_ids=[world.wang],
            skus=[fb.TEE],
            at=(AT + timedelta(days=days)).isoformat(),
        )
        assert made["skipped"] == []
    third = push(
        client,
        world,
        customer_ids=[world.wang, world.li],
        skus=[fb.TEE],
        at=(AT + timedelta(days=4)).isoformat(),
    )
    assert third["skipped"] == [{"customer_id": world.wang, "reason": "frequency_cap"}]
    assert [m["customer_id"] for m in third["messages"]] == [world.li]
    later = push(
        client, world, customer_ids=[world.wang], skus=[fb.TEE], at=(AT + timedelta(days=7)).isoformat()
    )
    assert later["skipped"] == []


def test_an_opted_out_customer_gets_nothing(
    client: TestClient, operator: dict[str, str], world: PushWorld
) -> None:
    opt_out = {
        "customer_ref": world.refs[world.li],
        "request_id": "optout-li",
        "program_id": world.feed.program_id,
    }
    assert client.post("/api/v1/privacy/opt-outs", json=opt_out, headers=operator).status_code == 201
    made = push(client, world, customer_ids=[world.li, world.wang], skus=[fb.TEE])
    assert made["skipped"] == [{"customer_id": world.li, "reason": "opted_out"}]


def test_a_repeated_key_returns_the_first_push(
    client: TestClient, factory: sessionmaker[Session], world: PushWorld
) -> None:
    key = {**world.feed.owner_headers, "Idempotency-Key": "push-0001"}
    first = push(client, world, headers=key, customer_ids=[world.wang, world.zhao], skus=[fb.SHAMPOO])
    before = row_counts(factory)
    again = push(client, world, headers=key, customer_ids=[world.wang, world.zhao], skus=[fb.SHAMPOO])
    assert again == first
    assert row_counts(factory) == before
    other = push(client, world, 409, headers=key, customer_ids=[world.wang], skus=[fb.SHAMPOO])
    assert other["code"] == "idempotency_key_reused"
    assert row_counts(factory) == before


@pytest.mark.parametrize(
    "refusal",
    [
        ({"skus": [fb.TEE]}, 422, "validation_error"),
        ({"customer_ids": [1], "segment_id": 1, "skus": [fb.TEE]}, 422, "validation_error"),
        ({"customer_ids": ["{other}"], "skus": [fb.TEE]}, 404, "customer_not_found"),
        ({"customer_ids": ["{wang}"], "skus": ["NOPE"]}, 422, "unknown_sku"),
        ({"customer_ids": ["{wang}"], "skus": [fb.TEE, fb.TEE]}, 422, "duplicate_sku"),
        ({"customer_ids": ["{wang}", "{wang}"], "skus": [fb.TEE]}, 422, "duplicate_customer"),
        ({"customer_ids": ["{wang}"], "skus": [fb.TEE], "template": "{phone}"}, 422, "template_invalid"),
        (
            {"customer_ids": ["{wang}"], "skus": [fb.TEE], "at": "3500-01-01T00:00:00Z"},
            422,
            "date_out_of_range",
        ),
    ],
)
def test_refused_pushes_write_nothing(
    client: TestClient,
    factory: sessionmaker[Session],
    world: PushWorld,
    refusal: tuple[dict[str, Any], int, str],
) -> None:
    body, status, code = refusal
    ids = {"{other}": world.other_customer, "{wang}": world.wang}
    if "customer_ids" in body:
        body = {
            **body,
            "customer_ids": [ids.get(c, c) if isinstance(c, str) else c for c in body["customer_ids"]],
        }
    before = row_counts(factory)
    answer = push(client, world, status, **body)
    assert answer["code"] == code
    assert row_counts(factory) == before


def test_an_off_sale_product_is_refused_by_its_place(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], world: PushWorld
) -> None:
    """A withdrawn product is named by its place in ``skus``, never by its sku (here a phone number)."""
    phone = "13912345678"
    made = client.post(
        "/api/v1/products",
        json={"sku": phone, "title": "下架品", "price_fen": 100, "commission_rate_bp": 100, "active": False},
        headers=operator,
    )
    assert made.status_code == 201, made.text
    before = row_counts(factory)
    answer = push(client, world, 422, customer_ids=[world.wang], skus=[fb.TEE, phone])
    assert (answer["code"], answer["detail"]) == ("product_inactive", "skus[1] 所指的商品已下架。")
    assert phone not in str(answer)
    assert row_counts(factory) == before


def test_a_member_reaches_only_their_own_pushes(
    client: TestClient, make_token: TokenMaker, world: PushWorld
) -> None:
    made = push(client, world, customer_ids=[world.wang], skus=[fb.TEE])
    other = bearer(make_token("member", world.feed.other_owner))
    assert client.get(f"/api/v1/pushes/{made['id']}", headers=other).status_code == 404
    message = made["messages"][0]["id"]
    sent = client.post(f"/api/v1/pushes/{made['id']}/messages/{message}/sent", headers=other)
    assert (sent.status_code, sent.json()["code"]) == (404, "push_not_found")
    assert client.get(f"/api/v1/pushes/{made['id']}", headers=world.feed.owner_headers).status_code == 200


def test_figures_count_clicks_claims_and_orders_through_the_push(
    client: TestClient, operator: dict[str, str], world: PushWorld
) -> None:
    made = push(client, world, customer_ids=[world.wang, world.li], skus=[fb.SHAMPOO])
    wang, li = made["messages"]
    assert client.get(f"/l/{wang['link_code']}", follow_redirects=False).status_code == 302
    order = {
        "external_id": "push-order-1",
        "program_id": world.feed.program_id,
        "customer_ref": world.refs[world.wang],
        "link_code": wang["link_code"],
        "items": [{"sku": fb.SHAMPOO, "quantity": 2, "paid_fen": 4980}],
        "paid_at": (AT + timedelta(hours=1)).isoformat(),
    }
    assert client.post("/api/v1/orders", json=order, headers=operator).status_code == 201
    sent = client.post(
        f"/api/v1/pushes/{made['id']}/messages/{li['id']}/sent", headers=world.feed.owner_headers
    )
    assert (sent.status_code, sent.json()["status"]) == (200, "sent")
    report = client.get(f"/api/v1/pushes/{made['id']}", headers=world.feed.owner_headers).json()
    assert (report["sent"], report["orders"], report["gmv_fen"]) == (1, 1, 4980)
    by_customer = {m["customer_id"]: m for m in report["messages"]}
    assert (by_customer[world.wang]["orders"], by_customer[world.wang]["gmv_fen"]) == (1, 4980)
    assert (by_customer[world.li]["orders"], by_customer[world.li]["status"]) == (0, "sent")
    listed = client.get(f"/api/v1/members/{world.feed.owner}/pushes", headers=world.feed.owner_headers)
    assert listed.headers["x-total-count"] == "1"
    assert (listed.json()[0]["orders"], listed.json()[0]["gmv_fen"], listed.json()[0]["messages"]) == (
        1,
        4980,
        2,
    )
    figures = client.get(f"/api/v1/programs/{world.feed.program_id}/crm/figures", headers=operator).json()
    assert figures == {
        "messages": 2,
        "sent": 1,
        "clicks": figures["clicks"],
        "claims": 0,
        "orders": 1,
        "gmv_fen": 4980,
    }


def test_an_order_through_a_push_is_the_push_channel_in_analytics(
    client: TestClient, operator: dict[str, str], world: PushWorld
) -> None:
    made = push(client, world, customer_ids=[world.wang], skus=[fb.TEE])
    order = {
        "external_id": "push-order-analytics",
        "program_id": world.feed.program_id,
        "customer_ref": world.refs[world.wang],
        "link_code": made["messages"][0]["link_code"],
        "items": [{"sku": fb.TEE, "quantity": 1, "paid_fen": 5900}],
        "paid_at": (AT + timedelta(hours=2)).isoformat(),
    }
    assert client.post("/api/v1/orders", json=order, headers=operator).status_code == 201
    assert client.post("/api/v1/analytics/refresh", headers=operator).status_code == 200
    repeat = client.get(
        f"/api/v1/programs/{world.feed.program_id}/analytics/repeat?from=2026-03-01&to=2026-03-31&window_days=30",
        headers=operator,
    )
    assert repeat.json()["channels"] == [
        {
            "channel": "push",
            "customers": 1,
            "repeat_customers": 0,
            "repeat_rate_bp": 0,
            "customers_in_window": 0,
        }
    ]
