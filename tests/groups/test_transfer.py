"""Handing a group over to another member (PATCH /groups/{id} with owner_member_id): operators only,
to a member who has joined the group's program; audited; the group's links stay their maker's."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth.models import Role
from neigou.kit.clock import utcnow
from tests.conftest import TokenMaker, bearer, row_counts
from tests.factories import create_member, create_program
from tests.groups.builders import create_group
from tests.offers import factories as offers


def _world(client: TestClient, operator: dict[str, str], make_token: TokenMaker) -> dict[str, Any]:
    program = create_program(client, operator, code="handover")
    old = create_member(client, operator, program["id"], name="老群主")
    new = create_member(client, operator, program["id"], name="新群主")
    group = create_group(client, operator, old["id"], name="内购1群")
    return {
        "program": program["id"],
        "old": old["id"],
        "new": new["id"],
        "group": group["id"],
        "old_token": bearer(make_token(Role.MEMBER, old["id"])),
        "new_token": bearer(make_token(Role.MEMBER, new["id"])),
    }


def test_an_operator_hands_a_group_over_and_links_stay_their_makers(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker
) -> None:
    w = _world(client, operator, make_token)
    offers.product(client, operator, "HANDOVER-SKU", 1000)
    link = {"member_id": w["old"], "sku": "HANDOVER-SKU", "group_id": w["group"]}
    made = client.post("/api/v1/links", json=link, headers=operator)
    assert made.status_code == 201, made.text
    moved = client.patch(f"/api/v1/groups/{w['group']}", json={"owner_member_id": w["new"]}, headers=operator)
    assert moved.status_code == 200, moved.text
    assert (moved.json()["owner_member_id"], moved.json()["name"]) == (w["new"], "内购1群")
    assert client.get(f"/api/v1/groups/{w['group']}", headers=w["new_token"]).status_code == 200
    lost = client.get(f"/api/v1/groups/{w['group']}", headers=w["old_token"])
    assert (lost.status_code, lost.json()["code"]) == (403, "other_member")
    owned = client.get("/api/v1/groups", params={"owner_member_id": w["new"]}, headers=operator).json()
    assert [g["id"] for g in owned] == [w["group"]]
    # The old link keeps its maker; a new link for the group is the new owner's to make.
    kept = client.get(f"/api/v1/links/{made.json()['code']}", headers=operator).json()
    assert (kept["member_id"], kept["group_id"]) == (w["old"], w["group"])
    again = client.post("/api/v1/links", json=link, headers=operator)
    assert (again.status_code, again.json()["code"]) == (422, "group_not_owned")
    theirs = client.post("/api/v1/links", json={**link, "member_id": w["new"]}, headers=operator)
    assert theirs.status_code == 201, theirs.text
    audit = client.get(
        "/api/v1/audit-log", params={"entity": "group", "entity_id": w["group"]}, headers=operator
    ).json()
    assert audit[0]["action"] == "group.transfer"
    assert (audit[0]["before"]["owner_member_id"], audit[0]["after"]["owner_member_id"]) == (
        w["old"],
        w["new"],
    )


def test_a_member_cannot_give_a_group_away(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], make_token: TokenMaker
) -> None:
    w = _world(client, operator, make_token)
    before = row_counts(factory)
    refused = client.patch(
        f"/api/v1/groups/{w['group']}", json={"owner_member_id": w["new"]}, headers=w["old_token"]
    )
    assert (refused.status_code, refused.json()["code"]) == (403, "owner_change_forbidden")
    assert refused.headers["content-type"] == "application/problem+json"
    assert row_counts(factory) == before
    same = client.patch(
        f"/api/v1/groups/{w['group']}",
        json={"owner_member_id": w["old"], "name": "内购一群"},
        headers=w["old_token"],
    )
    assert same.status_code == 200, same.text
    assert (same.json()["owner_member_id"], same.json()["name"]) == (w["old"], "内购一群")


def test_the_new_owner_must_have_joined_the_groups_program(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], make_token: TokenMaker
) -> None:
    w = _world(client, operator, make_token)
    elsewhere = create_program(client, operator, code="elsewhere")
    stranger = create_member(client, operator, elsewhere["id"], name="外人")
    joining = create_member(
        client, operator, w["program"], name="下月加入", joined_at=(utcnow() + timedelta(days=30)).isoformat()
    )
    namesake = create_member(client, operator, w["program"], name="同名")
    create_group(client, operator, namesake["id"], name="内购1群")
    before = row_counts(factory)
    for owner, status, code in (
        (stranger["id"], 422, "owner_not_in_program"),
        (joining["id"], 409, "owner_not_joined"),
        (namesake["id"], 409, "group_name_taken"),
        (999_999, 404, "member_not_found"),
    ):
        answer = client.patch(
            f"/api/v1/groups/{w['group']}", json={"owner_member_id": owner}, headers=operator
        )
        assert (answer.status_code, answer.json()["code"]) == (status, code), answer.text
    assert row_counts(factory) == before
    assert client.get(f"/api/v1/groups/{w['group']}", headers=operator).json()["owner_member_id"] == w["old"]
