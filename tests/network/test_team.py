"""The team view: recruits down to max_levels (never deeper) with the month's orders and GMV."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth.models import Role
from tests.conftest import TokenMaker, bearer
from tests.network.builders import NetWorld, build_network, get_team


def _rows(team: dict[str, Any]) -> list[tuple[str, int, int, int]]:
    return [(m["name"], m["level"], m["orders"], m["gmv_fen"]) for m in team["members"]]


pytestmark = pytest.mark.world_per_module


@pytest.fixture(scope="module")
def net(
    module_client: TestClient, module_operator: dict[str, str], module_factory: sessionmaker[Session]
) -> NetWorld:
    return build_network(module_client, module_operator, module_factory, max_levels=2)


def test_team_has_exact_march_sales_net_of_refunds(
    client: TestClient, operator: dict[str, str], net: NetWorld
) -> None:
    team = get_team(client, operator, net.base.mentor, "2026-03")
    assert team["period"] == "2026-03"
    assert team["period_start"].startswith("2026-02-28T16:00:00")
    assert team["period_end"].startswith("2026-03-31T16:00:00")
    assert team["max_levels"] == 2
    # Level 1 then level 2, each by joining time; the level-3 recruit (新人丁) is beyond max_levels.
    assert _rows(team) == [
        ("owner", 1, 1, 5_000),
        ("新人丙", 1, 0, 0),
        ("seller", 2, 3, 32_000),
        ("新人甲", 2, 0, 0),
        ("新人乙", 2, 0, 0),
    ]
    assert [(lv["level"], lv["members"], lv["orders"], lv["gmv_fen"]) for lv in team["levels"]] == [
        (1, 2, 1, 5_000),
        (2, 3, 3, 32_000),
    ]
    assert (team["own_orders"], team["own_gmv_fen"]) == (0, 0)
    assert (team["total_members"], team["limit"], team["offset"]) == (5, 100, 0)
    seller = next(m for m in team["members"] if m["name"] == "seller")
    assert (seller["tier"], seller["tier_name"], seller["inviter_id"], seller["inviter_name"]) == (
        "super_member",
        "超级会员",
        net.base.owner,
        "owner",
    )


def test_team_pages_keep_the_order_and_the_level_totals(
    client: TestClient, operator: dict[str, str], net: NetWorld
) -> None:
    whole = get_team(client, operator, net.base.mentor, "2026-03")
    pages = [
        get_team(client, operator, net.base.mentor, f"2026-03&limit=2&offset={offset}")
        for offset in (0, 2, 4, 6)
    ]
    assert [len(page["members"]) for page in pages] == [2, 2, 1, 0]
    assert [m for page in pages for m in page["members"]] == whole["members"]
    for page in pages:  # every page carries the totals of the whole team
        assert (page["levels"], page["total_members"], page["limit"]) == (whole["levels"], 5, 2)
    for query in ("limit=0", "limit=501", "offset=-1"):
        response = client.get(f"/api/v1/members/{net.base.mentor}/team?{query}", headers=operator)
        assert response.status_code == 422, query
        assert response.headers["content-type"] == "application/problem+json"


def test_month_boundary_in_shanghai(client: TestClient, operator: dict[str, str], net: NetWorld) -> None:
    april = get_team(client, operator, net.base.owner, "2026-04")
    # 00:00 on 1 April (Shanghai) is April's; 23:59:59 on 31 March stayed in March.
    assert _rows(april) == [
        ("seller", 1, 1, 40_000),
        ("新人甲", 1, 0, 0),
        ("新人乙", 1, 0, 0),
        ("新人丁", 2, 0, 0),
    ]
    march = get_team(client, operator, net.base.owner, "2026-03")
    assert (march["own_orders"], march["own_gmv_fen"]) == (1, 5_000)
    assert _rows(march)[0] == ("seller", 1, 3, 32_000)
    february = get_team(client, operator, net.base.owner, "2026-02")
    assert _rows(february)[0] == ("seller", 1, 0, 0)


def test_one_level_program_shows_direct_recruits_only(client: TestClient, operator: dict[str, str]) -> None:
    program = client.post(
        "/api/v1/programs", json={"code": "guides", "name": "导购", "max_levels": 1}, headers=operator
    ).json()
    ids: dict[str, int] = {}
    for name, inviter in (("店长", None), ("导购甲", "店长"), ("导购乙", "导购甲")):
        body = {"name": name, "inviter_id": ids[inviter] if inviter else None}
        ids[name] = client.post(
            f"/api/v1/programs/{program['id']}/members", json=body, headers=operator
        ).json()["id"]
    team = get_team(client, operator, ids["店长"], "2026-03")
    assert _rows(team) == [("导购甲", 1, 0, 0)]
    assert [lv["level"] for lv in team["levels"]] == [1]


def test_member_sees_own_team_only(
    client: TestClient, operator: dict[str, str], net: NetWorld, make_token: TokenMaker
) -> None:
    owner = bearer(make_token(Role.MEMBER, net.base.owner))
    assert [m["name"] for m in get_team(client, owner, net.base.owner, "2026-03")["members"]][:1] == [
        "seller"
    ]
    denied = client.get(f"/api/v1/members/{net.base.mentor}/team", headers=owner)
    assert (denied.status_code, denied.json()["code"]) == (403, "other_member")


def test_bad_period_is_a_problem_not_a_500(
    client: TestClient, operator: dict[str, str], net: NetWorld
) -> None:
    for bad in ("2026-13", "March", "1999-01", "2026-3"):
        response = client.get(f"/api/v1/members/{net.base.mentor}/team?period={bad}", headers=operator)
        assert response.status_code == 422, bad
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "invalid_period"
    missing = client.get("/api/v1/members/999999/team", headers=operator)
    assert (missing.status_code, missing.json()["code"]) == (404, "member_not_found")
