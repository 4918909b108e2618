"""The demo world looks like the field: real-looking names used once, sales in most groups."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, func, select

from neigou.groups.models import Group
from neigou.orders.models import Order
from neigou.programs.models import Member

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
