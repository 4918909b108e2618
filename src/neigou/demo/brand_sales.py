"""Demo sales of the brand's salespeople: a month of everyday orders through each guide's share link
(a few a day, more at weekends, in the shoppers' hours of the program's zone), so the brand program's
charts have a shape too; those past the return window are complete.

Each order is one garment bought by a new shopper, so the customer book's bought-together suggestions
stay those of the guide's own customers. One ingest batch, like an import file.
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from neigou.kit.actor import Actor
from neigou.links import service as links
from neigou.links.schemas import LinkCreate
from neigou.offers import repository as offers
from neigou.orders import service
from neigou.orders.ingest import ingest
from neigou.orders.inputs import ItemIn, OrderIn
from neigou.orders.models import Order, OrderSource
from neigou.programs import repository as programs
from neigou.programs.service import require_program

DEMO_ACTOR = Actor(kind="cli", ref="demo", label="neigou demo")
SALES_DAYS = 30
COMPLETE_AFTER = timedelta(days=5)
SKUS = ["YD-TEE-CREW", "YD-JEANS-HW", "YD-HOODIE", "YD-SUNCOAT", "YD-SOCKS-5"]


def seed_brand_sales(session: Session, *, program_id: int, now: datetime, secret_key: str) -> int:
    """The month's orders of the brand program's guides; returns how many were made."""
    rng = random.Random(20260610)
    program = require_program(session, program_id)
    zone = ZoneInfo(program.timezone)
    today = now.astimezone(zone).date()
    opened = _at(today - timedelta(days=SALES_DAYS), time(9), zone)
    guides = programs.list_members(session, program_id, limit=100, offset=0)
    codes = [
        links.create_link(
            session, data=LinkCreate(member_id=guide.id, sku=rng.choice(SKUS)), actor=DEMO_ACTOR, at=opened
        ).code
        for guide in guides
    ]
    catalog = offers.products_by_sku(session, SKUS, organization_id=program.organization_id)
    prices = {p.sku: p.price_fen for p in catalog.values()}
    batch: list[OrderIn] = []
    for back in range(SALES_DAYS - 1, -1, -1):
        day = today - timedelta(days=back)
        for n in range(rng.randint(2, 6) + (2 if day.weekday() >= 5 else 0)):
            sku, quantity = rng.choice(SKUS), rng.choice((1, 1, 2))
            paid_at = _at(day, time(rng.randrange(10, 22), rng.randrange(60)), zone)
            if paid_at >= now - timedelta(minutes=5):
                continue
            batch.append(
                OrderIn(
                    external_id=f"YDM{day:%Y%m%d}{n:03d}",
                    program_id=program_id,
                    customer_ref=f"1{rng.choice('3589')}{rng.randrange(10**9):09d}",
                    link_code=rng.choice(codes),
                    items=(ItemIn(sku, quantity, prices[sku] * quantity * rng.randint(80, 100) // 100),),
                    paid_at=paid_at,
                )
            )
    taken = ingest(session, batch, secret_key=secret_key, source=OrderSource.IMPORT, now=now)
    for order_id in taken.created:
        order = session.get(Order, order_id)
        assert order is not None
        if order.paid_at + COMPLETE_AFTER <= now:
            service.complete(session, order=order, at=order.paid_at + COMPLETE_AFTER, actor=DEMO_ACTOR)
    return len(taken.created)


def _at(day: date, clock: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, clock, tzinfo=zone)
