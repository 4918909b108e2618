"""Demo tiers: last month's evaluation has run. A brand salesperson sold past the gold-guide line
last month and is 金牌导购 from the 1st of this month (the evaluation page shows why); the partner
program's month was evaluated too, so every member's progress card reads this month's figures.
Built through the services, like the rest of the demo."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from neigou.demo.hours import in_daytime
from neigou.kit.actor import Actor
from neigou.links import service as links
from neigou.links.schemas import LinkCreate
from neigou.offers import repository as offers
from neigou.orders.ingest import ingest
from neigou.orders.inputs import ItemIn, OrderIn
from neigou.orders.models import OrderSource
from neigou.programs import repository as programs
from neigou.programs.service import require_program
from neigou.tiers.periods import period_of
from neigou.tiers.service import evaluate

DEMO_ACTOR = Actor(kind="cli", ref="demo", label="neigou demo")
SKU = "YD-JEANS-HW"
RISING_GUIDE = 3  # the first plain guide of the brand program, in joining order
ORDERS = 30


def seed_tiers(session: Session, *, partner_id: int, brand_id: int, now: datetime, secret_key: str) -> None:
    """Last month's sales of one guide, then last month's evaluation of both programs."""
    rng = random.Random(20260401)
    brand = require_program(session, brand_id)
    last = period_of(now, brand.timezone).previous()
    start, end = last.start(brand.timezone), last.end(brand.timezone)
    guide = programs.list_members(session, brand_id, limit=RISING_GUIDE + 1, offset=0)[RISING_GUIDE]
    price = offers.products_by_sku(session, [SKU], organization_id=brand.organization_id)[SKU].price_fen
    link = links.create_link(
        session, data=LinkCreate(member_id=guide.id, sku=SKU), actor=DEMO_ACTOR, at=start
    )
    step = (end - start) / (ORDERS + 1)
    zone = ZoneInfo(brand.timezone)  # in the shoppers' hours of each day
    orders = [
        OrderIn(
            external_id=f"YD{last.year}{last.month:02d}{n:04d}",
            program_id=brand_id,
            customer_ref=f"1{rng.choice('3589')}{rng.randrange(10**9):09d}",
            link_code=link.code,
            # An employee-purchase live event: customers buy jeans for the whole family.
            items=(ItemIn(SKU, quantity, price * quantity * 85 // 100),),
            paid_at=in_daytime(
                start + step * (n + 1) + timedelta(minutes=rng.randrange(60)), zone, latest=end
            ),
        )
        for n, quantity in enumerate(rng.choice((16, 18, 20)) for _ in range(ORDERS))
    ]
    ingest(session, orders, secret_key=secret_key, source=OrderSource.IMPORT, now=end)
    for program_id in (brand_id, partner_id):
        evaluate(
            session, program_id=program_id, period_text=str(last), dry_run=False, actor=DEMO_ACTOR, at=now
        )
