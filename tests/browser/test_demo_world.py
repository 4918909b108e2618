"""The demo world looks like the field: real-looking names used once, sales and clicks in most groups,
a month of history in the program's zone, and money that reads right whatever hour it was built at."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from neigou.groups.models import Group, GroupCount
from neigou.ledger import repository as ledger
from neigou.ledger.models import Posting, Withdrawal, WithdrawalStatus
from neigou.links.models import CouponClaim, LinkClick, ShareLink
from neigou.orders.models import Order
from neigou.programs.models import Member
from tests.demo_world import DemoTemplate

pytestmark = pytest.mark.sqlite_only


def test_names_are_unique_without_role_prefixes_and_most_groups_sell(demo_url: str) -> None:
    engine = create_engine(demo_url)
    try:
        with engine.connect() as conn:
            names = list(conn.scalars(select(Member.name)))
            assert len(names) == len(set(names)), "no two members share a name"
            assert not [n for n in names if "·" in n or n.startswith(("群主", "导师", "会员", "导购"))]
            groups = conn.scalar(select(func.count()).select_from(Group)) or 0
            selling = conn.scalar(select(func.count(func.distinct(Order.group_id)))) or 0
    finally:
        engine.dispose()
    assert groups > 50
    assert selling * 10 >= groups * 8, f"only {selling} of {groups} groups have sales"


HISTORY = {
    "orders": select(Order.paid_at),
    "clicks": select(LinkClick.clicked_at),
    "claims": select(CouponClaim.claimed_at),
    "group counts": select(GroupCount.observed_at),
    "ledger postings": select(Posting.at),
}


def test_a_month_of_history_in_the_programs_zone_and_nothing_in_the_future(
    demo_template: DemoTemplate,
) -> None:
    """Every chart has a shape: each kind of fact falls on at least 28 of the last 30 days (in the
    program's zone), no day holds them all, and nothing is dated after the demo was built."""
    engine = create_engine(f"sqlite:///{demo_template.path}")
    zone = ZoneInfo("Asia/Shanghai")
    try:
        with engine.connect() as conn:
            built = demo_template.built_at
            today = built.astimezone(zone).date()
            month = {today - timedelta(days=back) for back in range(30)}
            programs = {
                "partner program's orders": demo_template.world.partner_program_id,
                "brand program's orders": demo_template.world.brand_program_id,
            }
            each = {name: select(Order.paid_at).where(Order.program_id == p) for name, p in programs.items()}
            for name, query in {**HISTORY, **each}.items():
                times = list(conn.scalars(query))
                assert times, name
                assert max(times) <= built, f"{name} dated after the demo was built"
                per_day = Counter(t.astimezone(zone).date() for t in times)
                assert len(month & set(per_day)) >= 28, f"{name} fall on {len(month & set(per_day))} days"
                assert max(per_day.values()) * 4 < len(times), f"{name} pile up on one day"
            groups = conn.scalar(select(func.count()).select_from(Group)) or 0
            clicked = conn.scalar(
                select(func.count(func.distinct(ShareLink.group_id))).join(
                    LinkClick, LinkClick.link_id == ShareLink.id
                )
            )
    finally:
        engine.dispose()
    assert (clicked or 0) * 10 >= groups * 8, f"only {clicked} of {groups} groups have clicks"


def test_available_balances_are_negative_only_where_the_demo_shows_a_refund_after_payout(
    demo_template: DemoTemplate, demo_factory: sessionmaker[Session]
) -> None:
    """Whatever hour it was built at: no member's available balance is below zero but the one owner's
    whose refund after payout the demo shows, the sample owner has been paid out before, and this week's
    withdrawals wait for review."""
    world = demo_template.world
    with demo_factory() as session:
        members = list(session.scalars(select(Member.id)))
        balances = ledger.balances(session, members)
        waiting = session.scalar(
            select(func.count())
            .select_from(Withdrawal)
            .where(Withdrawal.status == WithdrawalStatus.REQUESTED)
        )
    negative = [m for m in members if balances[m].available_fen < 0]
    assert negative == [world.clawed_back_member_id]
    assert world.clawed_back_member_id != world.sample_member_id
    assert balances[world.sample_member_id].withdrawn_fen > 0
    assert (waiting or 0) > 0
