"""Platform order rows in each platform's own shape, and a helper that posts them to a feed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from neigou.platforms.rows import BEIJING
from tests.orders.builders import PAID_AT, World, build

ORDERED = PAID_AT.astimezone(BEIJING)


def wall(at: datetime) -> str:
    """A time as the platforms write it: Beijing wall-clock text."""
    return at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")


def jd_row(
    order_id: int = 300001,
    sku_id: int = 100012,
    *,
    valid_code: int = 16,
    sku_num: int = 1,
    returned: int = 0,
    paid: str = "100.00",
    fee: str = "20.00",
    actual_fee: str | None = None,
    sub_union_id: str | None = None,
    modified: timedelta = timedelta(0),
    finished: timedelta | None = None,
    pay_month: str | int = 0,
) -> dict[str, Any]:
    """A JD 联盟 order row (``order.row.query``), amounts in yuan as JSON numbers or text."""
    return {
        "id": f"{order_id}-{sku_id}",
        "orderId": order_id,
        "parentId": 0,
        "orderTime": wall(PAID_AT),
        "finishTime": wall(PAID_AT + finished) if finished is not None else "",
        "modifyTime": wall(PAID_AT + modified),
        "skuId": sku_id,
        "skuName": "洗发水 500ml",
        "skuNum": sku_num,
        "skuReturnNum": returned,
        "skuFrozenNum": 0,
        "price": paid,
        "estimateCosPrice": paid,
        "actualCosPrice": paid if actual_fee is not None else 0,
        "commissionRate": 20,
        "finalRate": 100,
        "estimateFee": fee,
        "actualFee": actual_fee if actual_fee is not None else 0,
        "validCode": valid_code,
        "positionId": 3003477075,
        "subUnionId": sub_union_id,
        "unionId": 1000383,
        "payMonth": pay_month,
    }


JD_AMOUNTS = ("price", "estimateCosPrice", "actualCosPrice", "estimateFee", "actualFee")


def jd_numbers(row: dict[str, Any]) -> dict[str, Any]:
    """A JD 联盟 row with its amounts as JD's API writes them, JSON numbers (``39.9``), not text."""
    return {k: float(v) if k in JD_AMOUNTS and isinstance(v, str) else v for k, v in row.items()}


def pdd_row(
    order_sn: str = "261101-000000001",
    *,
    status: int = 0,
    amount_fen: int = 2490,
    promotion_fen: int = 498,
    custom: str | None = None,
    modified: timedelta = timedelta(0),
) -> dict[str, Any]:
    """A 多多进宝 order (``order.list.increment.get``): amounts in fen, times in epoch seconds."""
    pay = int(PAID_AT.timestamp())
    return {
        "order_sn": order_sn,
        "goods_id": 57411,
        "goods_name": "纸巾 24 包",
        "goods_quantity": 2,
        "goods_price": 1245,
        "order_amount": amount_fen,
        "promotion_rate": 200,
        "promotion_amount": promotion_fen,
        "order_status": status,
        "order_status_desc": "已支付",
        "order_create_time": pay - 60,
        "order_pay_time": pay,
        "order_receive_time": pay + 3 * 86400 if status in (2, 3, 5) else None,
        "order_settle_time": pay + 10 * 86400 if status == 5 else None,
        "order_modify_at": pay + int(modified.total_seconds()),
        "custom_parameters": custom,
        "p_id": "8888_123",
    }


def taobao_row(
    trade_id: str = "1800000000000000001",
    *,
    parent: str = "1800000000000000000",
    status: int = 12,
    paid: str = "59.00",
    fee: str = "5.90",
    settled_fee: str | None = None,
    relation_id: str | None = None,
    modified: timedelta = timedelta(0),
) -> dict[str, Any]:
    """A 淘宝联盟 sub-order (``tbk.order.details.get``), amounts in yuan as text."""
    return {
        "trade_parent_id": parent,
        "trade_id": trade_id,
        "item_id": 612345678901,
        "item_title": "T 恤",
        "item_num": 1,
        "alipay_total_price": paid,
        "pub_share_pre_fee": fee,
        "pub_share_fee": settled_fee,
        "tk_status": status,
        "tk_create_time": wall(PAID_AT - timedelta(minutes=1)),
        "tk_paid_time": wall(PAID_AT),
        "tk_earning_time": wall(PAID_AT + timedelta(days=10)) if status == 3 else None,
        "modified_time": wall(PAID_AT + modified),
        "relation_id": relation_id,
        "special_id": None,
    }


@dataclass
class Feeds:
    """A world and an integration of its program, for a module's feed tests."""

    w: World
    integration_id: int


def feeds_world(client: TestClient, operator: dict[str, str], factory: Any) -> Feeds:
    """A new world with an integration of its program."""
    w = build(client, operator, factory)
    return Feeds(w, integration(client, operator, w))


def integration(client: TestClient, operator: dict[str, str], w: World) -> int:
    """A new integration of the world's program."""
    response = client.post(
        f"/api/v1/programs/{w.program_id}/integrations", json={"name": "京东联盟"}, headers=operator
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def feed(
    client: TestClient,
    headers: dict[str, str],
    integration_id: int,
    platform: str,
    rows: list[dict[str, Any]],
    *,
    status: int = 200,
) -> dict[str, Any]:
    """POST the rows to the feed and insist on ``status``."""
    response = client.post(
        f"/api/v1/integrations/{integration_id}/feeds/{platform}", json={"rows": rows}, headers=headers
    )
    assert response.status_code == status, response.text
    out: dict[str, Any] = response.json()
    return out


def order_of(client: TestClient, headers: dict[str, str], f: Feeds, external_id: object) -> dict[str, Any]:
    """The neigou order taken in for a platform order, as the API shows it."""
    response = client.get(f"/api/v1/orders/{external_id}?program_id={f.w.program_id}", headers=headers)
    assert response.status_code == 200, response.text
    out: dict[str, Any] = response.json()
    return out
