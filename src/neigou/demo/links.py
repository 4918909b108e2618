"""Demo share links: the sample group owner's links to the shampoo with its hidden ¥25 coupon, one per
group for a few of their groups, plus a link without coupon; a month of clicks (WeChat mostly,
some link-preview bots, a fifth of them in the last day) and claims by shoppers who came through them, spread
over the month the hidden coupon has been open, all in the shoppers' daytime hours of the program's zone
(``demo.hours``). The links were made at the start of that month's first day (local), so no click moved
into the daytime of its day lands before its link. Built through the services (claims take stock, make
touches).
"""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from neigou.demo.hours import in_daytime
from neigou.demo.offers import SHAMPOO_SKU
from neigou.groups import repository as groups
from neigou.groups.models import GroupStatus
from neigou.kit.actor import Actor
from neigou.kit.errors import ProblemError
from neigou.links import claims, service
from neigou.links.clicks import ClickRow, click_row, new_click_ref, store_clicks
from neigou.links.models import ClaimSource, ShareLink
from neigou.links.schemas import LinkCreate
from neigou.links.useragent import UaClass
from neigou.offers import repository as offers
from neigou.programs.service import require_member, require_program

DEMO_ACTOR = Actor(kind="cli", ref="demo", label="neigou demo")
LINKED_GROUPS = 4
CLICK_DAYS = 30  # the hidden coupon opened a day before (demo.offers.HIDDEN_COUPON_DAYS)
UA_WEIGHTS = [(UaClass.WECHAT, 70), (UaClass.MOBILE, 15), (UaClass.DESKTOP, 5), (UaClass.BOT, 10)]


def seed_links(
    session: Session, *, member_id: int, hidden_coupon_id: int, now: datetime, secret_key: str
) -> list[ShareLink]:
    """The sample member's links with their clicks and claims; returns the links."""
    rng = random.Random(20260415)
    hidden = offers.get_coupon(session, hidden_coupon_id)
    assert hidden is not None
    own = groups.list_groups(
        session, owner_member_id=member_id, status=GroupStatus.ACTIVE, limit=LINKED_GROUPS
    )
    # The first clicks are moved within their local day (``in_daytime``), maybe to before the instant
    # ``CLICK_DAYS`` ago: the links date from that day's midnight.
    member = require_member(session, member_id)
    zone = ZoneInfo(require_program(session, member.program_id).timezone)
    local = (now - timedelta(days=CLICK_DAYS)).astimezone(zone)
    made = datetime.combine(local.date(), time(0), tzinfo=zone)
    links = [
        service.create_link(
            session,
            data=LinkCreate(member_id=member_id, sku=SHAMPOO_SKU, coupon_id=hidden.id, group_id=group.id),
            actor=DEMO_ACTOR,
            at=made,
        )
        for group in own
    ]
    links.append(
        service.create_link(
            session,
            data=LinkCreate(member_id=member_id, sku="LQ-CONDITIONER-400"),
            actor=DEMO_ACTOR,
            at=made,
        )
    )
    for index, link in enumerate(links):
        _clicks_and_claims(
            session, rng, link, now=now, busy=index == 0, coupon_id=hidden.id, secret_key=secret_key
        )
    return links


def _clicks_and_claims(
    session: Session,
    rng: random.Random,
    link: ShareLink,
    *,
    now: datetime,
    busy: bool,
    coupon_id: int,
    secret_key: str,
) -> None:
    zone = ZoneInfo(require_program(session, link.program_id).timezone)

    def daytime(at: datetime) -> datetime:
        return in_daytime(at, zone, latest=now - timedelta(minutes=1))

    def click(at: datetime, visitor: str, ua: UaClass) -> ClickRow:
        return click_row(
            ref=new_click_ref(),
            link_id=link.id,
            program_id=link.program_id,
            member_id=link.member_id,
            clicked_at=at,
            visitor_id=visitor,
            ua_class=ua,
        )

    events: list[ClickRow] = []
    claimers: list[tuple[str, datetime]] = []
    for number in range(rng.randint(150, 220) if busy else rng.randint(40, 80)):
        recent = number % 5 == 0
        at = daytime(
            now - timedelta(minutes=rng.randint(5, 20 * 60))
            if recent
            else now - timedelta(minutes=rng.randint(24 * 60, CLICK_DAYS * 24 * 60))
        )
        visitor = f"demo{link.id:04d}v{number:05d}x"
        ua = rng.choices([u for u, _ in UA_WEIGHTS], weights=[w for _, w in UA_WEIGHTS])[0]
        events.append(click(at, visitor, ua))
        if link.coupon_id is not None and ua is not UaClass.BOT and rng.random() < 0.3:
            claimers.append((visitor, at + timedelta(minutes=1)))
    if busy and link.coupon_id is not None:
        # At least one shopper a day over the month claims through the busiest link, so the claims
        # chart has no empty day whatever the hour the demo is built (a generator of its own keeps
        # the draws above as they were).
        daily = random.Random(link.id)
        for day in range(1, CLICK_DAYS):
            at = daytime(now - timedelta(days=day, minutes=daily.randint(0, 60)))
            visitor = f"demo{link.id:04d}d{day:05d}x"
            events.append(click(at, visitor, UaClass.WECHAT))
            claimers.append((visitor, at + timedelta(minutes=1)))
    store_clicks(session, sorted(events, key=lambda row: row[4]))  # by clicked_at
    for visitor, at in claimers:
        phone = f"1{rng.choice('3589')}{rng.randrange(10**9):09d}"
        try:
            with session.begin_nested():
                claims.claim_coupon(
                    session,
                    coupon_id=coupon_id,
                    customer=claims.Customer.from_ref(secret_key, phone),
                    link_code=link.code,
                    source=ClaimSource.LANDING,
                    actor=DEMO_ACTOR,
                    visitor_id=visitor,
                    at=min(at, now),
                )
        except ProblemError:
            continue
