"""Demo traffic behind the orders: a month of clicks on every share link of a program that sold
through it, so each link's and each group's funnel (clicks, then orders) has a shape day by day.

A day's clicks on a link follow its orders that day (a handful of clicks per order, most of them
before it) plus some browsing that bought nothing; WeChat mostly, some link-preview bots. About one
person's click in four claims the program's welcome coupon a minute later, as that visitor (the claim
binds the visitor to the shopper, as a claim from the landing page does), so the busiest links, the top
of the funnel by net GMV, have claims too, and a link's funnel follows a visitor from click to claim.
Clicks are written in one set-based batch (``links.clicks.store_clicks``), with references derived
from the seed so two demo builds hold the same clicks, and claims in another, as the claim writer
stores them (``links.claim_batches.store``: counters, stock, touches and audit by batch).
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from neigou.kit.actor import Actor
from neigou.links import claim_batches, claim_stream
from neigou.links.claims import Customer
from neigou.links.clicks import ClickRow, click_row, store_clicks
from neigou.links.models import ClaimSource, LinkClick, ShareLink
from neigou.links.useragent import UaClass
from neigou.orders.models import Order
from neigou.programs.service import require_program

TRAFFIC_DAYS = 30
CLICKS_PER_ORDER = (3, 9)
BROWSING = (0, 2)  # clicks a day on a link that bought nothing
UA_WEIGHTS = [(UaClass.WECHAT, 72), (UaClass.MOBILE, 14), (UaClass.DESKTOP, 4), (UaClass.BOT, 10)]
CLAIM_CHANCE = 0.25  # a person's click that claims the welcome coupon
CLOSING_HOUR = 23  # no click or claim from 23:00, local
DEMO_ACTOR = Actor(kind="cli", ref="demo", label="neigou demo")


def seed_traffic(session: Session, *, program_id: int, coupon_id: int, now: datetime, secret_key: str) -> int:
    """Clicks over the last month on the program's links that have none yet, and the claims of
    ``coupon_id`` that some of them led to; returns how many clicks."""
    rng = random.Random(20260520)
    program = require_program(session, program_id)
    zone = ZoneInfo(program.timezone)
    today = now.astimezone(zone).date()
    since = _at(today - timedelta(days=TRAFFIC_DAYS - 1), time(0), zone)
    clicked = select(LinkClick.link_id).distinct()
    links = list(
        session.scalars(
            select(ShareLink)
            .where(ShareLink.program_id == program.id, ShareLink.id.not_in(clicked))
            .order_by(ShareLink.id)
        )
    )
    by_code = {link.code: link for link in links}
    sold: Counter[tuple[str, date]] = Counter()
    for code, paid_at in session.execute(
        select(Order.link_code, Order.paid_at).where(
            Order.program_id == program.id, Order.link_code.in_(by_code), Order.paid_at >= since
        )
    ):
        sold[(str(code), paid_at.astimezone(zone).date())] += 1
    rows: list[ClickRow] = []
    for link in links:
        for back in range(TRAFFIC_DAYS - 1, -1, -1):
            day = today - timedelta(days=back)
            orders = sold[(link.code, day)]
            count = sum(rng.randint(*CLICKS_PER_ORDER) for _ in range(orders)) + rng.randint(*BROWSING)
            for number in range(count):
                at = _at(day, time(rng.randrange(7, 23), rng.randrange(60), rng.randrange(60)), zone)
                if at >= now:
                    continue
                ua = rng.choices([u for u, _ in UA_WEIGHTS], weights=[w for _, w in UA_WEIGHTS])[0]
                rows.append(
                    click_row(
                        ref=f"demo-{link.id}-{day:%m%d}-{number}",
                        link_id=link.id,
                        program_id=link.program_id,
                        member_id=link.member_id,
                        clicked_at=at,
                        visitor_id=f"demo{link.id:05d}{day:%m%d}{number:04d}",
                        ua_class=ua,
                    )
                )
    rows.sort(key=lambda row: row[4])  # by clicked_at, as the writer stores them
    stored = store_clicks(session, rows)
    claim_batches.store(
        session, _claims(rows, links, coupon_id=coupon_id, now=now, zone=zone, secret_key=secret_key)
    )
    return stored


def _claims(
    clicks: list[ClickRow],
    links: list[ShareLink],
    *,
    coupon_id: int,
    now: datetime,
    zone: ZoneInfo,
    secret_key: str,
) -> list[dict[str, Any]]:
    """Claim rows as the claim writer stores them, for about a quarter of the people's clicks (a
    generator of its own keeps the clicks' draws as they were); ids as the writer makes them."""
    rng = random.Random(20260521)
    by_id = {link.id: link for link in links}
    out: list[dict[str, Any]] = []
    for row in clicks:
        link_id, clicked_at, visitor, ua = row[1], row[4], row[5], row[6]
        if ua == UaClass.BOT.value or rng.random() >= CLAIM_CHANCE:
            continue
        link = by_id[link_id]
        at = min(clicked_at + timedelta(minutes=1), now)
        if at.astimezone(zone).hour >= CLOSING_HOUR:
            at = clicked_at  # at once: the day's shoppers have gone by 23:00
        customer = Customer.from_ref(secret_key, f"1{rng.choice('3589')}{rng.randrange(10**9):09d}")
        stream_id = f"{int(at.timestamp() * 1000)}-{len(out)}"
        out.append(
            {
                "id": claim_stream.claim_id(stream_id),
                "coupon_id": coupon_id,
                "customer_ref_hash": customer.ref_hash,
                "customer_ref_masked": customer.masked,
                "link_id": link.id,
                "program_id": link.program_id,
                "member_id": link.member_id,
                "group_id": link.group_id,
                "request_id": None,
                "source": ClaimSource.LANDING,
                "visitor_id": visitor,  # the visitor whose click it follows
                "claimed_at": at,
                "actor": (DEMO_ACTOR.kind, DEMO_ACTOR.ref, DEMO_ACTOR.label),
            }
        )
    return out


def _at(day: date, clock: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, clock, tzinfo=zone)
