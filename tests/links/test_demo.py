"""The demo world has the sample owner's share links, with clicks and claims the workspace shows."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from neigou.links import repository as links
from neigou.links.models import CouponClaim, Touch
from tests.demo_activity import out_of_order
from tests.demo_world import DemoTemplate


@pytest.mark.sqlite_only
def test_demo_links(demo_template: DemoTemplate, demo_factory: sessionmaker[Session]) -> None:
    world = demo_template.world
    with demo_factory() as session:
        rows = links.list_links(session, member_id=world.sample_member_id)
        stats = links.link_stats(session, [link.id for link in rows])
        touches = session.scalar(select(func.count(Touch.id))) or 0
    assert len(rows) >= 5  # the orders demo may add its own
    with_group = [link for link in rows if link.coupon_id is not None and link.group_id is not None]
    assert len(with_group) >= 4
    assert sum(1 for link in rows if stats[link.id].clicks > 0) >= 5
    assert sum(stats[link.id].claims for link in rows) > 10
    assert touches > sum(
        stats[link.id].claims for link in rows
    )  # claims and the identified clicks before them


@pytest.mark.sqlite_only
def test_demo_activity_in_daytime_and_after_what_it_depends_on(
    demo_factory: sessionmaker[Session],
) -> None:
    """Clicks, claims and orders fall in the shoppers' hours and claims carry the visitor of their click;
    links, clicks, claims, orders, commissions and ledger entries follow their member's joining, and every
    member joined after the member who brought them in; each chat group is made after its owner joined
    and before its counts, links, claims and sales; clicks, claims and orders follow the link and the
    coupon they go through; sales and links follow their product, pushes their customer's entry in the
    book; campaigns, promotions, coupons and the group target schedule are made once their program and
    products exist and no later than their window began."""
    with demo_factory() as session:
        assert out_of_order(session) == {}
        assert (session.scalar(select(func.count(CouponClaim.id))) or 0) > 100
