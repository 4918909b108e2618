"""The demo's chat groups and the sample owner's share links are dated before what goes through them,
whatever hour the demo is built at: a group before its counts, links and claims (and after its owner
joined), a link before its clicks and claims (late in the evening, a click a month ago moved into its
day's shoppers' hours may fall before the instant a month ago), and a coupon before its claims."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from neigou.demo.groups import seed_groups
from neigou.demo.links import seed_links
from neigou.demo.offers import seed_offers
from neigou.kit.db import transaction
from neigou.links.models import CouponClaim, LinkClick
from neigou.programs.schemas import TierIn
from tests.conftest import SECRET, TEST_ACTOR
from tests.demo.builders import partners
from tests.demo_activity import before_joining, before_their_coupon, before_their_group, before_their_link

SHANGHAI = ZoneInfo("Asia/Shanghai")

# The demo is seeded on SQLite (``neigou demo``), and what is checked here is the times the seeding chose,
# not a database's: run once, on SQLite, like the demo world's tests.
pytestmark = pytest.mark.sqlite_only


def _seeded(factory: sessionmaker[Session], now: datetime) -> None:
    """A program with two group owners, their groups and the sample owner's links, seeded at ``now``."""
    with transaction(factory) as session:
        made = seed_offers(session, now=now, actor=TEST_ACTOR)
        tier = TierIn(code="super_member", name="Super member", rank=1, share_bp=2000)
        program_id, owners = partners(
            session, tier=tier, joined=[now - timedelta(days=90 - n * 40) for n in range(2)]
        )
        seed_groups(
            session,
            program_id=program_id,
            owner_ids=owners,
            sample_owner_id=owners[0],
            now=now,
        )
        seed_links(
            session,
            member_id=owners[0],
            hidden_coupon_id=made.hidden_coupon_id,
            now=now,
            secret_key=SECRET,
        )


@pytest.mark.parametrize(
    "local",
    [
        datetime(2026, 3, 17, 2, 0, tzinfo=SHANGHAI),
        datetime(2026, 3, 17, 12, 0, tzinfo=SHANGHAI),
        datetime(2026, 3, 17, 21, 30, tzinfo=SHANGHAI),  # a click a month ago moves to earlier that day
        datetime(2026, 3, 17, 22, 15, tzinfo=SHANGHAI),
    ],
)
def test_groups_links_and_coupons_predate_their_activity(
    factory: sessionmaker[Session], local: datetime
) -> None:
    _seeded(factory, local.astimezone(UTC))
    with factory() as session:
        assert before_their_group(session) == Counter()
        assert before_their_link(session) == Counter()
        assert before_their_coupon(session) == Counter()
        assert before_joining(session) == Counter()
        assert (session.scalar(select(func.count(LinkClick.id))) or 0) > 200
        assert (session.scalar(select(func.count(CouponClaim.id))) or 0) > 50
