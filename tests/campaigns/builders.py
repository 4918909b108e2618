"""A world for campaigns, the feed and posts: a partner program, two group owners with groups, products
and a hidden coupon, and a live campaign with a commission boost (all through the API)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any
from unittest import mock

from fastapi.testclient import TestClient

from neigou.campaigns import endpoints as campaign_endpoints
from neigou.feed import posts
from neigou.kit.clock import not_before_now, utcnow
from tests.conftest import TokenMaker, bearer
from tests.factories import create_member, create_program
from tests.groups.builders import create_group
from tests.offers import factories as offers

AT = datetime(2026, 3, 24, 4, 0, tzinfo=UTC)  # noon in Shanghai
STARTS = AT - timedelta(hours=4)
ENDS = AT + timedelta(days=2)
SHAMPOO = "LQ-SHAMPOO"  # ¥49.90 in the app, ¥24.90 with the hidden ¥25 coupon
TEE = "YD-TEE"  # ¥59.00, no coupon of its own
BOOST_BP = 500


@dataclass
class FeedWorld:
    """Ids and tokens of the world."""

    program_id: int
    owner: int
    mentor: int
    other_owner: int
    groups: list[int]
    other_group: int
    coupon_id: int
    campaign_id: int
    owner_headers: dict[str, str]


def campaign_body(program_id: int, **extra: Any) -> dict[str, Any]:
    """A campaign of the shampoo and the tee with the boost, live from STARTS to ENDS."""
    body: dict[str, Any] = {
        "program_id": program_id,
        "name": "周末洗护节",
        "skus": [SHAMPOO, TEE],
        "commission_boost_bp": BOOST_BP,
        "starts_at": STARTS.isoformat(),
        "ends_at": ENDS.isoformat(),
        "copy": "蓬松去屑，一瓶用三个月",
    }
    body.update(extra)
    return body


@contextmanager
def campaigns_clock(now: datetime) -> Iterator[None]:
    """Campaigns published through the API inside are published at ``now``: a world's campaign that ran in
    the past (the API refuses one that has already ended) is published as at its start."""
    with mock.patch.object(campaign_endpoints, "utcnow", return_value=now):
        yield


def create_campaign(client: TestClient, headers: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    """POST /campaigns and insist on 201; a campaign that has ended is published as at its start."""
    starts = datetime.fromisoformat(body["starts_at"])
    with campaigns_clock(min(starts, utcnow())):
        response = client.post("/api/v1/campaigns", json=body, headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def create_live_campaign(
    client: TestClient, headers: dict[str, str], program_id: int, *, now: datetime | None = None, **extra: Any
) -> dict[str, Any]:
    """Today's campaign ("今日爆款", no coupon unless given): live from an hour before ``now`` (the real
    clock's unless given) to two days after, for the pages that read the real clock's feed."""
    at = now or utcnow()
    body = campaign_body(
        program_id,
        name="今日爆款",
        starts_at=(at - timedelta(hours=1)).isoformat(),
        ends_at=(at + timedelta(days=2)).isoformat(),
        **extra,
    )
    return create_campaign(client, headers, body)


def build(client: TestClient, operator: dict[str, str], make_token: TokenMaker) -> FeedWorld:
    """The world; the owner is a super member (20%), the mentor 30%."""
    program = create_program(client, operator, code="feed-partners")
    joined = (AT - timedelta(days=60)).isoformat()
    owner = create_member(client, operator, program["id"], "owner", tier="super_member", joined_at=joined)
    mentor = create_member(client, operator, program["id"], "mentor", tier="mentor", joined_at=joined)
    other = create_member(client, operator, program["id"], "other", tier="super_member", joined_at=joined)
    groups = [create_group(client, operator, owner["id"], name=f"内购{n}群")["id"] for n in (1, 2, 3)]
    other_group = create_group(client, operator, other["id"], name="别人的群")["id"]
    offers.product(client, operator, SHAMPOO, 4990, title="飘柔 去屑洗发水 500ml", commission_rate_bp=2000)
    offers.product(client, operator, TEE, 5900, title="衣朵 纯棉圆领T恤", commission_rate_bp=1000)
    coupon = offers.coupon(
        client,
        operator,
        2500,
        skus=[SHAMPOO],
        visibility="hidden",
        starts_at=(AT - timedelta(days=1)).isoformat(),
        ends_at=(AT + timedelta(days=10)).isoformat(),
    )
    campaign = create_campaign(client, operator, campaign_body(program["id"], coupon_id=coupon["id"]))
    return FeedWorld(
        program_id=program["id"],
        owner=owner["id"],
        mentor=mentor["id"],
        other_owner=other["id"],
        groups=groups,
        other_group=other_group,
        coupon_id=coupon["id"],
        campaign_id=campaign["id"],
        owner_headers=bearer(make_token("member", owner["id"])),
    )


@contextmanager
def posts_clock(now: datetime) -> Iterator[None]:
    """Posts made inside are made at ``now`` (the suite's posts are made at ``tests.suite.WORLDS_NOW``):
    a post's ``at`` before it means ``now``."""
    with mock.patch.object(posts, "not_before_now", partial(not_before_now, now=now)):
        yield


def feed(
    client: TestClient, headers: dict[str, str], member_id: int, at: datetime, **query: Any
) -> dict[str, Any]:
    """GET the member's feed at ``at``."""
    params = {"at": at.isoformat(), **query}
    response = client.get(f"/api/v1/members/{member_id}/feed", params=params, headers=headers)
    assert response.status_code == 200, response.text
    out: dict[str, Any] = response.json()
    return out


# The authorization matrix (tests/authz) calls every campaign and feed route with these.
def matrix_campaign(program_id: int) -> dict[str, Any]:
    """A campaign body of the matrix's program and sku."""
    return {
        "program_id": program_id,
        "name": "矩阵活动",
        "skus": [offers.MATRIX_SKU],
        # Starting now by the real clock (a new campaign cannot start in the past), open until 2099.
        "starts_at": utcnow().isoformat(),
        "ends_at": "2099-01-01T00:00:00+08:00",
    }
