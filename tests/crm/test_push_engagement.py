"""Engagement: customers gone dormant, groups far below the program's median clicks per member, and a
push to a saved segment."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.db import transaction
from neigou.links.clicks import new_click_ref
from neigou.links.models import LinkClick
from neigou.links.useragent import UaClass
from tests.campaigns import builders as fb
from tests.crm.push_builders import AT, PushWorld, push
from tests.groups.builders import create_group, post_count
from tests.links.builders import make_link

pytestmark = pytest.mark.world_per_module


def _clicks(factory: sessionmaker[Session], link: dict[str, object], n: int, world: PushWorld) -> None:
    with transaction(factory) as session:
        session.add_all(
            LinkClick(
                ref=new_click_ref(),
                link_id=link["id"],
                program_id=world.feed.program_id,
                member_id=link["member_id"],
                clicked_at=AT - timedelta(days=1, minutes=k),
                visitor_id=None,
                ua_class=UaClass.MOBILE,
            )
            for k in range(n)
        )


def test_dormant_customers_had_no_click_and_no_order(
    client: TestClient, operator: dict[str, str], world: PushWorld
) -> None:
    order = {
        "external_id": "dormant-check",
        "program_id": world.feed.program_id,
        "customer_ref": world.refs[world.wang],
        "items": [{"sku": fb.TEE, "quantity": 1, "paid_fen": 5900}],
        "paid_at": (AT - timedelta(days=5)).isoformat(),
    }
    assert client.post("/api/v1/orders", json=order, headers=operator).status_code == 201
    path = f"/api/v1/programs/{world.feed.program_id}/crm/dormant-customers"
    answer = client.get(path, params={"days": 30, "at": AT.isoformat()}, headers=operator)
    assert [c["id"] for c in answer.json()] == [world.li, world.zhao, world.chen, world.other_customer]
    assert answer.headers["x-total-count"] == "4"
    assert answer.json()[0]["customer_ref_masked"] == "138****0002"
    recent = client.get(path, params={"days": 3, "at": AT.isoformat()}, headers=operator).json()
    assert world.wang in [c["id"] for c in recent]


def test_muted_groups_fall_far_below_the_median(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], world: PushWorld
) -> None:
    fourth = create_group(client, operator, world.feed.owner, name="内购4群")["id"]
    groups = [*world.feed.groups, fourth]
    for group, clicks in zip(groups, (40, 30, 2, 20), strict=True):
        observed = (AT - timedelta(days=2)).isoformat()
        assert post_count(client, operator, group, 100, observed).status_code == 201
        link = make_link(client, operator, member_id=world.feed.owner, sku=fb.TEE, group_id=group)
        _clicks(factory, link, clicks, world)
    answer = client.get(
        f"/api/v1/programs/{world.feed.program_id}/crm/muted-groups",
        params={"days": 7, "at": AT.isoformat()},
        headers=operator,
    ).json()
    assert answer == [
        {
            "group_id": world.feed.groups[2],
            "owner_member_id": world.feed.owner,
            "name": "内购3群",
            "member_count": 100,
            "clicks": 2,
            "clicks_per_100": 2,
            "median_per_100": 25,
        }
    ]
    # Two silent groups more: rates 0, 0, 2, 20, 30, 40, the median (2 + 20) // 2 = 11; three are muted,
    # ranked and paged by the database.
    silent = [create_group(client, operator, world.feed.owner, name=f"静音{n}群")["id"] for n in (1, 2)]
    for group in silent:
        assert (
            post_count(client, operator, group, 50, (AT - timedelta(days=2)).isoformat()).status_code == 201
        )
    path = f"/api/v1/programs/{world.feed.program_id}/crm/muted-groups"
    first = client.get(path, params={"days": 90, "at": AT.isoformat(), "limit": 2}, headers=operator)
    assert first.status_code == 200, first.text
    assert first.headers["X-Total-Count"] == "3"
    assert "offset=2" in first.headers["Link"]
    assert [(g["group_id"], g["clicks_per_100"], g["median_per_100"]) for g in first.json()] == [
        (silent[0], 0, 11),
        (silent[1], 0, 11),
    ]
    rest = client.get(
        path, params={"days": 90, "at": AT.isoformat(), "limit": 2, "offset": 2}, headers=operator
    )
    assert [(g["name"], g["clicks"]) for g in rest.json()] == [("内购3群", 2)]
    assert "Link" not in rest.headers
    past = client.get(path, params={"days": 90, "at": AT.isoformat(), "offset": 5}, headers=operator)
    assert (past.json(), past.headers["X-Total-Count"]) == ([], "3")
    # A window past a quarter is refused (translated), however the request reads.
    long = client.get(path, params={"days": 91}, headers={**operator, "Accept-Language": "zh-CN"})
    assert (long.status_code, long.json()["code"]) == (422, "validation_error"), long.text
    assert "90" in long.text


def test_a_push_to_a_segment_reaches_its_customers(client: TestClient, world: PushWorld) -> None:
    segment = client.post(
        f"/api/v1/members/{world.feed.owner}/segments",
        json={"name": "全部"},
        headers=world.feed.owner_headers,
    )
    assert segment.status_code == 201, segment.text
    made = push(client, world, segment_id=segment.json()["id"], skus=[fb.TEE])
    assert made["segment_id"] == segment.json()["id"]
    assert [m["customer_id"] for m in made["messages"]] == [world.wang, world.li]
    assert made["skipped"] == [
        {"customer_id": world.zhao, "reason": "no_consent"},
        {"customer_id": world.chen, "reason": "no_consent"},
    ]
    other = client.post(
        f"/api/v1/members/{world.feed.other_owner}/segments",
        json={"name": "别人的"},
        headers=world.feed.owner_headers,
    )
    assert other.status_code == 403
    missing = push(client, world, 404, segment_id=999999, skus=[fb.TEE])
    assert missing["code"] == "segment_not_found"
