"""The demo's 多多进宝 feed: a second integration of the partner program and a handful of last month's
orders as the platform lists them (``pdd.ddk.order.list.increment.get``: one goods per order, amounts in
fen, times in epoch seconds, the share link's code passed back in ``custom_parameters`` as a JSON
object's ``uid``), applied through the feed service day by day as the platform reported them: paid,
group formed (成团), received, settled, one that failed the platform's audit (审核失败, invalid: refunded
in full), and one whose shopper the shop compensated for a crushed box with a partial refund through the
platform's after-sale: 多多进宝 lists the order with its amount lowered (the feed refunds the line that
much) but keeps its fee estimated on the full amount until settlement, so the month's reconciliation
shows it with the cause ``amount``. A platform order's refunds come only from its rows: neigou refuses
an order-wide refund of it (``platform_order_refund``).

Every order is paid in the shoppers' daytime hours after its link was made, and nothing is reported or
refunded after ``now``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from neigou.demo.hours import in_daytime, spread_in_daytime
from neigou.demo.platform_feeds import apply_day_by_day
from neigou.integrations import service as integrations
from neigou.integrations.schemas import IntegrationBody
from neigou.kit.actor import Actor
from neigou.kit.sealed import Sealer, derived_key
from neigou.links import repository as links_repo
from neigou.platforms.rows import Platform
from neigou.programs.service import require_program

# (goods_id, goods_name, unit price in fen)
GOODS = [
    (57411, "纸巾 24 包", 1245),
    (61820, "洗衣凝珠 52 颗", 3990),
    (70315, "蓝莓 125g×4 盒", 2990),
]
PROMOTION_RATE = 200  # 多多进宝 counts the rate in 千分比: 20%
# Each order's goods, quantity and what the platform reports on it: (days after payment, order_status).
# 0 paid, 1 group formed, 2 received, 4 audit failed, 5 settled.
STORIES: list[tuple[int, int, tuple[tuple[int, int], ...]]] = [
    (0, 2, ((0, 0), (1, 1), (3, 2), (13, 5))),
    (1, 1, ((0, 0), (2, 2), (12, 5))),
    (2, 1, ((0, 1), (4, 2))),
    (0, 1, ((0, 0), (3, 2), (5, 4))),
    (1, 2, ((0, 0), (1, 1))),
    (2, 2, ((0, 0), (1, 1), (3, 2))),  # compensated: see COMPENSATED
]
COMPENSATED = 5  # the story whose shopper got part of the money back through the platform, a day after paying
COMPENSATION_FEN = 1000
STATUS_DESC = {0: "已支付", 1: "已成团", 2: "确认收货", 4: "审核失败", 5: "已结算"}


@dataclass
class _Order:
    """One 多多进宝 order and the rows the platform reports on it over time."""

    order_sn: str
    goods: tuple[int, str, int]
    quantity: int
    code: str
    paid_at: datetime
    off_fen: int = 0  # what the platform's after-sale took off the order's amount so far
    rows: list[tuple[datetime, dict[str, Any]]] = field(default_factory=list)

    def report(
        self, at: datetime, status: int, *, received: datetime | None, settled: datetime | None
    ) -> None:
        """A row as the platform lists the order at ``at``."""
        amount = self.goods[2] * self.quantity  # the fee stays estimated on it until settlement
        pay = int(self.paid_at.timestamp())
        self.rows.append(
            (
                at,
                {
                    "order_sn": self.order_sn,
                    "goods_id": self.goods[0],
                    "goods_name": self.goods[1],
                    "goods_quantity": self.quantity,
                    "goods_price": self.goods[2],
                    "order_amount": amount - self.off_fen,
                    "promotion_rate": PROMOTION_RATE,
                    "promotion_amount": amount * PROMOTION_RATE // 1000,
                    "order_status": status,
                    "order_status_desc": STATUS_DESC[status],
                    "order_create_time": pay - 90,
                    "order_pay_time": pay,
                    "order_receive_time": int(received.timestamp()) if received else None,
                    "order_settle_time": int(settled.timestamp()) if settled else None,
                    "order_modify_at": int(at.timestamp()),
                    "custom_parameters": json.dumps({"uid": self.code}),
                    "p_id": "8888_20261105",
                },
            )
        )


def seed_pdd_feed(session: Session, *, program_id: int, now: datetime, secret_key: str, actor: Actor) -> int:
    """The 多多进宝 integration and its applied rows; returns the integration's id."""
    zone = ZoneInfo(require_program(session, program_id).timezone)
    latest = now - timedelta(minutes=1)
    month_start, month_end = _last_month(now.astimezone(zone).date(), zone)
    links = sorted(
        links_repo.list_links(session, program_id=program_id, limit=1000), key=lambda link: link.created_at
    )
    integration = integrations.create(
        session,
        program_id=program_id,
        data=IntegrationBody(name="多多进宝 Duoduo Jinbao"),
        sealer=Sealer([derived_key(secret_key)]),
        allow_private=False,  # no outbound URL
        actor=actor,
        at=month_start - timedelta(days=3),
    ).row
    if not links:
        return integration.id
    after = max(month_start, links[0].created_at)
    paid = spread_in_daytime(len(STORIES), zone, after=after, before=min(month_end, latest))
    orders = [
        _story(n, paid_at, [link.code for link in links if link.created_at < paid_at], zone, latest)
        for n, paid_at in enumerate(paid)
    ]
    apply_day_by_day(
        session,
        integration=integration,
        platform=Platform.PDD,
        rows=[reported for order in orders for reported in order.rows],
        modified=lambda row: int(row["order_modify_at"]),
        zone=zone,
        now=now,
        secret_key=secret_key,
        actor=actor,
    )
    return integration.id


def _last_month(today: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """Last month in the program's zone, as UTC instants [start, end)."""
    end = datetime.combine(today.replace(day=1), time(0), tzinfo=zone)
    start = datetime.combine((end - timedelta(days=1)).date().replace(day=1), time(0), tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def _story(n: int, paid_at: datetime, codes: list[str], zone: ZoneInfo, latest: datetime) -> _Order:
    """The ``n``th story's order, paid at ``paid_at`` through one of the links made before it, with every
    report the platform made on it by ``latest``."""
    goods, quantity, steps = STORIES[n]
    paid_at = paid_at.replace(microsecond=0)
    order = _Order(
        order_sn=f"{paid_at.astimezone(zone):%y%m%d}-{402_518_004_270_000 + n * 35_711_137}",
        goods=GOODS[goods],
        quantity=quantity,
        code=codes[n * 7 % len(codes)],
        paid_at=paid_at,
    )
    received = settled = None
    for days, status in steps:
        at = paid_at if days == 0 else in_daytime(paid_at + timedelta(days=days), zone, latest=latest)
        if days and not paid_at < at <= latest:
            break
        if n == COMPENSATED and days >= 1:
            order.off_fen = COMPENSATION_FEN
        received = at if status == 2 else received
        settled = at if status == 5 else None
        order.report(at, status, received=received, settled=settled)
    return order
