"""Demo traffic behind the orders: a month of clicks on every share link of a program that sold
through it, so each link's and each group's funnel (clicks, then orders) has a shape day by day.

A day's clicks on a link follow its orders that day (a handful of clicks per order, most of them
before it) plus some browsing that bought nothing; WeChat mostly, some link-preview bots. Written in
one set-based batch (``links.clicks.store_clicks``), with references derived from the seed so two
demo builds hold the same clicks.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from neigou.links.clicks import ClickRow, click_row, store_clicks
from neigou.links.models import LinkClick, ShareLink
from neigou.links.useragent import UaClass
from neigou.orders.models import Order
from neigou.programs.service import require_program

TRAFFIC_DAYS = 30
CLICKS_PER_ORDER = (3, 9)
BROWSING = (0, 2)  # clicks a day on a link that bought nothing
UA_WEIGHTS = [(UaClass.WECHAT, 72), (UaClass.MOBILE, 14), (UaClass.DESKTOP, 4), (UaClass.BOT, 10)]


def seed_traffic(session: Session, *, program_id: int, now: datetime) -> int:
    """Clicks over the last month on the program's links that have none yet; returns how many."""
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
    return store_clicks(session, rows)


def _at(day: date, clock: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, clock, tzinfo=zone)
