"""Demo recruits of this month: the sample owner's team grows in the current month of the program's
zone (one recruit a level down) and two of the new recruits already sell, in the shoppers' hours after
they joined (not yet in the night of a month's first day, before its first daytime); a few other owners
recruit too, so the team page and the leaderboards (recruits included) show this month's figures. Built
through the services, like the rest of the demo."""

from __future__ import annotations

import random
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from neigou.demo.hours import spread_in_daytime
from neigou.kit.actor import Actor
from neigou.links import service as links
from neigou.links.schemas import LinkCreate
from neigou.network.rules import period_of
from neigou.orders.ingest import ingest
from neigou.orders.inputs import ItemIn, OrderIn
from neigou.orders.models import OrderSource
from neigou.programs import service as programs
from neigou.programs.models import Member
from neigou.programs.schemas import MemberCreate

DEMO_ACTOR = Actor(kind="cli", ref="demo", label="neigou demo")
NEW_RECRUITS = ("周若溪", "邱俊熙", "葛晓雯")
OTHER_RECRUITS = ("常可馨", "龚浩宇", "侯思源")
SKU, PRICE_FEN = "HS-NUTS-30", 8990


def seed_network(
    session: Session,
    *,
    program_id: int,
    inviter_id: int,
    other_inviter_ids: list[int],
    now: datetime,
    secret_key: str,
) -> None:
    """This month's recruits in the sample owner's team and a few other owners' (see the module)."""
    rng = random.Random(20261203)
    program = programs.require_program(session, program_id)
    month = period_of(now, program.timezone)
    elapsed = now - month.start
    zone = ZoneInfo(program.timezone)
    first: Member | None = None
    for index, name in enumerate(NEW_RECRUITS):
        joined_at = month.start + elapsed * (index + 1) / (len(NEW_RECRUITS) + 2)
        # The last one was brought in by the first: the team page has a second level to show.
        inviter = first.id if first is not None and index == len(NEW_RECRUITS) - 1 else inviter_id
        member = _join(
            session,
            program_id=program_id,
            name=name,
            inviter_id=inviter,
            joined_at=joined_at,
            rng=rng,
            secret_key=secret_key,
        )
        first = first or member
        if index >= 2:
            continue
        link = links.create_link(
            session, data=LinkCreate(member_id=member.id, sku=SKU), actor=DEMO_ACTOR, at=joined_at
        )
        # Its sales fall in the shoppers' hours between its join and the build; a recruit that has had
        # none yet (joined in the night of a month's first day) has not sold yet.
        quantities = (1, 2, 1)[: 3 - index]
        paid = spread_in_daytime(len(quantities), zone, after=joined_at, before=now)
        orders = [
            OrderIn(
                external_id=f"JDNEW{member.id:05d}{n:02d}",
                program_id=program_id,
                customer_ref=f"1{rng.choice('3589')}{rng.randrange(10**9):09d}",
                link_code=link.code,
                items=(ItemIn(SKU, quantity, PRICE_FEN * quantity * 80 // 100),),
                paid_at=paid_at,
            )
            for n, (quantity, paid_at) in enumerate(zip(quantities, paid, strict=False))
        ]
        if orders:
            ingest(session, orders, secret_key=secret_key, source=OrderSource.IMPORT, now=now)
    for index, (name, other) in enumerate(zip(OTHER_RECRUITS, other_inviter_ids, strict=False)):
        joined_at = month.start + elapsed * (index + 1) / (len(OTHER_RECRUITS) + 2)
        _join(
            session,
            program_id=program_id,
            name=name,
            inviter_id=other,
            joined_at=joined_at,
            rng=rng,
            secret_key=secret_key,
        )


def _join(
    session: Session,
    *,
    program_id: int,
    name: str,
    inviter_id: int,
    joined_at: datetime,
    rng: random.Random,
    secret_key: str,
) -> Member:
    return programs.create_member(
        session,
        program_id=program_id,
        secret_key=secret_key,
        actor=DEMO_ACTOR,
        data=MemberCreate(
            name=name,
            customer_ref=f"1{rng.choice('3589')}{rng.randrange(10**9):09d}",
            inviter_id=inviter_id,
            joined_at=joined_at,
        ),
    )
