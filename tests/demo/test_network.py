"""The demo's recruits of this month sell only in the shoppers' hours after they joined, whatever hour
the demo is built at: at night on a month's first day (when the month has had no daytime yet) and in
the last minutes of a month."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.demo.network import NEW_RECRUITS, OTHER_RECRUITS, seed_network
from neigou.demo.offers import seed_offers
from neigou.kit.db import transaction
from neigou.network.rules import period_of
from neigou.orders.models import Order
from neigou.programs.models import Member
from neigou.programs.schemas import TierIn
from tests.conftest import SECRET, TEST_ACTOR
from tests.demo.builders import partners

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _seeded(factory: sessionmaker[Session], now: datetime) -> int:
    """A program with an owner and two others who recruit, and this month's recruits seeded at ``now``."""
    with transaction(factory) as session:
        seed_offers(session, now=now - timedelta(days=60), actor=TEST_ACTOR)
        tier = TierIn(code="super_member", name="Super member", rank=1, share_bp=2000, override_bp=500)
        joined = [now - timedelta(days=90)] * (1 + len(OTHER_RECRUITS))
        program_id, owners = partners(session, tier=tier, joined=joined)
        seed_network(
            session,
            program_id=program_id,
            inviter_id=owners[0],
            other_inviter_ids=owners[1:],
            now=now,
            secret_key=SECRET,
        )
        return program_id


@pytest.mark.parametrize(
    "local",
    [
        datetime(2026, 3, 1, 0, 30, tzinfo=SHANGHAI),  # a month's first night: no daytime yet
        datetime(2026, 3, 1, 2, 0, tzinfo=SHANGHAI),
        datetime(2026, 3, 1, 8, 20, tzinfo=SHANGHAI),  # twenty minutes of daytime so far
        datetime(2026, 3, 1, 23, 10, tzinfo=SHANGHAI),
        datetime(2026, 3, 31, 23, 50, tzinfo=SHANGHAI),  # the month's last minutes
        datetime(2026, 2, 28, 23, 50, tzinfo=SHANGHAI),
        datetime(2026, 3, 17, 12, 0, tzinfo=SHANGHAI),
    ],
)
def test_recruits_sell_in_daytime_after_they_joined(factory: sessionmaker[Session], local: datetime) -> None:
    now = local.astimezone(UTC)
    program_id = _seeded(factory, now)
    month = period_of(now, "Asia/Shanghai")
    with factory() as session:
        joined = dict(
            session.execute(
                select(Member.id, Member.joined_at).where(
                    Member.program_id == program_id, Member.name.in_(NEW_RECRUITS + OTHER_RECRUITS)
                )
            ).all()
        )
        sold = session.execute(
            select(Order.member_id, Order.paid_at).where(Order.program_id == program_id)
        ).all()
    assert len(joined) == len(NEW_RECRUITS) + len(OTHER_RECRUITS)
    assert all(month.start <= at <= now for at in joined.values())  # this month's recruits
    for member_id, paid_at in sold:
        assert member_id is not None  # sold through the recruit's link
        assert joined[member_id] < paid_at < now
        assert time(8) <= paid_at.astimezone(SHANGHAI).time() <= time(22, 30), paid_at.astimezone(SHANGHAI)
    if local.day == 1 and local.hour < 8:  # the month has had no shoppers' hours yet: no sale yet
        assert sold == []
    else:  # the first recruit sells three orders, the second two
        assert sorted(Counter(member_id for member_id, _ in sold).values()) == [2, 3]
