"""The demo world has the sample owner's share links, with clicks and claims the workspace shows."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from neigou.links import repository as links
from neigou.links.models import CouponClaim, Touch
from tests.demo_activity import (
    after_their_window_began,
    before_joining,
    before_their_coupon,
    before_their_group,
    before_their_link,
    before_what_they_depend_on,
    claims_without_their_click,
    joined_before_their_inviter,
    night_hours,
)
from tests.demo_world import DemoTemplate, demo_factory, demo_template, demo_url  # noqa: F401 - fixtures


@pytest.mark.sqlite_only
def test_demo_links(demo_template: DemoTemplate, demo_factory: sessionmaker[Session]) -> None:  # noqa: F811
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
def test_demo_activity_in_daytime_and_claims_with_their_visitor(
    demo_factory: sessionmaker[Session],  # noqa: F811
) -> None:
    with demo_factory() as session:
        assert night_hours(session) == Counter()
        assert claims_without_their_click(session) == []
        assert (session.scalar(select(func.count(CouponClaim.id))) or 0) > 100


@pytest.mark.sqlite_only
def test_demo_credits_no_member_before_they_joined(demo_factory: sessionmaker[Session]) -> None:  # noqa: F811
    """Links, clicks, claims, orders, commissions and ledger entries all follow their member's joining,
    and every member joined after the member who brought them in."""
    with demo_factory() as session:
        assert before_joining(session) == Counter()
        assert joined_before_their_inviter(session) == []


@pytest.mark.sqlite_only
def test_demo_dates_nothing_before_what_it_depends_on(demo_factory: sessionmaker[Session]) -> None:  # noqa: F811
    """Each chat group is made after its owner joined and before its counts, links, claims and sales;
    clicks, claims and orders follow the link and the coupon they go through; sales and links follow
    their product, pushes their customer's entry in the book; campaigns, promotions and the group target
    schedule are made once their program and products exist and no later than their window began."""
    with demo_factory() as session:
        assert before_their_group(session) == Counter()
        assert before_their_link(session) == Counter()
        assert before_their_coupon(session) == Counter()
        assert before_what_they_depend_on(session) == Counter()
        assert after_their_window_began(session) == Counter()
