"""Groups and counts over HTTP: who may do what, idempotent counts, implausible counts held for review."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth.models import Role
from tests.conftest import TokenMaker, bearer, row_counts
from tests.factories import create_member, create_program
from tests.groups.builders import FIELD_SCHEDULE, compliance, create_group, post_count, put_targets, standing


@pytest.fixture
def world(client: TestClient, operator: dict[str, str], make_token: TokenMaker) -> dict[str, Any]:
    program = create_program(client, operator, code="fx")
    put_targets(client, operator, program["id"], FIELD_SCHEDULE)
    owner = create_member(client, operator, program["id"], name="群主·王")
    neighbour = create_member(client, operator, program["id"], name="群主·李")
    return {
        "program": program,
        "owner": owner,
        "neighbour": neighbour,
        "owner_headers": bearer(make_token(Role.MEMBER, owner["id"])),
        "neighbour_headers": bearer(make_token(Role.MEMBER, neighbour["id"])),
    }


def test_operator_creates_reads_lists_and_updates_a_group(
    client: TestClient, operator: dict[str, str], world: dict[str, Any]
) -> None:
    group = create_group(client, operator, world["owner"]["id"], external_id="wx-123")
    assert group | {"id": 0, "created_at": "", "updated_at": ""} == {
        "id": 0,
        "program_id": world["program"]["id"],
        "owner_member_id": world["owner"]["id"],
        "name": "内购1群",
        "platform": "wechat",
        "external_id": "wx-123",
        "status": "active",
        "created_at": "",
        "updated_at": "",
    }
    assert client.get(f"/api/v1/groups/{group['id']}", headers=operator).json()["name"] == "内购1群"
    listed = client.get(f"/api/v1/groups?program_id={world['program']['id']}", headers=operator).json()
    assert [g["id"] for g in listed] == [group["id"]]
    patched = client.patch(
        f"/api/v1/groups/{group['id']}", json={"name": "内购旗舰群", "status": "archived"}, headers=operator
    )
    assert (patched.status_code, patched.json()["name"], patched.json()["status"]) == (
        200,
        "内购旗舰群",
        "archived",
    )
    audit = client.get(f"/api/v1/audit-log?entity=group&entity_id={group['id']}", headers=operator).json()
    assert [e["action"] for e in audit] == ["group.update", "group.create"]
    assert audit[0]["before"]["name"] == "内购1群"
    # Archived groups leave compliance and take no more counts.
    assert compliance(client, operator, world["program"]["id"], "2026-03-24")["groups"] == []
    refused = post_count(client, operator, group["id"], 300, "2026-03-24T20:00:00+08:00")
    assert (refused.status_code, refused.json()["code"]) == (409, "group_archived")


def test_duplicates_and_unknown_owners_are_refused(
    client: TestClient, operator: dict[str, str], world: dict[str, Any], factory: sessionmaker[Session]
) -> None:
    create_group(client, operator, world["owner"]["id"], external_id="wx-1")
    before = row_counts(factory)
    same_name = client.post(
        "/api/v1/groups",
        json={"owner_member_id": world["owner"]["id"], "name": "内购1群", "platform": "qq"},
        headers=operator,
    )
    assert (same_name.status_code, same_name.json()["code"]) == (409, "group_name_taken")
    assert same_name.json()["detail"] == "该群主已有同名的群。"  # the name typed is not repeated
    same_id = client.post(
        "/api/v1/groups",
        json={
            "owner_member_id": world["neighbour"]["id"],
            "name": "x",
            "platform": "wechat",
            "external_id": "wx-1",
        },
        headers=operator,
    )
    assert (same_id.status_code, same_id.json()["code"]) == (409, "external_id_taken")
    assert "wx-1" not in same_id.json()["detail"]
    nobody = client.post(
        "/api/v1/groups",
        json={"owner_member_id": 999999, "name": "x", "platform": "wechat"},
        headers=operator,
    )
    assert (nobody.status_code, nobody.json()["code"]) == (404, "member_not_found")
    no_owner = client.post("/api/v1/groups", json={"name": "x", "platform": "wechat"}, headers=operator)
    assert (no_owner.status_code, no_owner.json()["code"]) == (422, "owner_required")
    bad_platform = client.post(
        "/api/v1/groups",
        json={"owner_member_id": world["owner"]["id"], "name": "y", "platform": "line"},
        headers=operator,
    )
    assert bad_platform.status_code == 422
    assert row_counts(factory) == before


def test_members_reach_only_their_own_groups(
    client: TestClient, operator: dict[str, str], world: dict[str, Any], factory: sessionmaker[Session]
) -> None:
    mine = create_group(client, world["owner_headers"], None, name="我的群")
    assert mine["owner_member_id"] == world["owner"]["id"]
    theirs = create_group(client, operator, world["neighbour"]["id"], name="邻居的群")
    before = row_counts(factory)
    me = world["owner_headers"]
    for response in (
        client.get(f"/api/v1/groups/{theirs['id']}", headers=me),
        client.patch(f"/api/v1/groups/{theirs['id']}", json={"name": "抢来的"}, headers=me),
        post_count(client, me, theirs["id"], 300, "2026-03-24T20:00:00+08:00"),
        client.get(f"/api/v1/groups/{theirs['id']}/counts", headers=me),
        client.get(f"/api/v1/groups?owner_member_id={world['neighbour']['id']}", headers=me),
        client.post(
            "/api/v1/groups",
            json={"owner_member_id": world["neighbour"]["id"], "name": "冒名", "platform": "wechat"},
            headers=me,
        ),
    ):
        assert (response.status_code, response.json()["code"]) == (403, "other_member"), response.text
    assert row_counts(factory) == before
    assert [g["id"] for g in client.get("/api/v1/groups", headers=me).json()] == [mine["id"]]
    assert post_count(client, me, mine["id"], 260, "2026-03-24T20:00:00+08:00").status_code == 201
    report = compliance(client, me, world["program"]["id"], "2026-03-24")
    assert [g["group_id"] for g in report["groups"]] == [mine["id"]]
    review = client.post(f"/api/v1/groups/{mine['id']}/counts/1/review", json={"accept": True}, headers=me)
    assert review.status_code == 403


def test_a_count_is_stored_once_per_group_and_time(
    client: TestClient, operator: dict[str, str], world: dict[str, Any], factory: sessionmaker[Session]
) -> None:
    group = create_group(client, operator, world["owner"]["id"])
    first = post_count(client, operator, group["id"], 300, "2026-03-24T20:00:00+08:00")
    assert first.status_code == 201
    assert first.json()["review"] == "ok"
    before = row_counts(factory)
    again = post_count(client, operator, group["id"], 300, "2026-03-24T12:00:00Z")  # the same instant
    assert (again.status_code, again.json()["id"]) == (200, first.json()["id"])
    clash = post_count(client, operator, group["id"], 301, "2026-03-24T20:00:00+08:00")
    assert (clash.status_code, clash.json()["code"]) == (409, "observation_conflict")
    naive = post_count(client, operator, group["id"], 300, "2026-03-24T20:00:00")
    assert naive.status_code == 422
    future = post_count(client, operator, group["id"], 300, "2099-01-01T00:00:00+08:00")
    assert (future.status_code, future.json()["code"]) == (422, "observed_in_future")
    assert row_counts(factory) == before
    counts = client.get(f"/api/v1/groups/{group['id']}/counts", headers=operator).json()
    assert [(c["member_count"], c["source"]) for c in counts] == [(300, "api")]


def test_implausible_counts_wait_for_an_operator(
    client: TestClient, operator: dict[str, str], world: dict[str, Any]
) -> None:
    group = create_group(client, operator, world["owner"]["id"])
    program_id = world["program"]["id"]
    post_count(client, operator, group["id"], 300, "2026-03-23T20:00:00+08:00")
    fine = post_count(client, world["owner_headers"], group["id"], 340, "2026-03-24T20:00:00+08:00")
    assert fine.json()["review"] == "ok"
    jump = post_count(client, world["owner_headers"], group["id"], 420, "2026-03-25T20:00:00+08:00")
    assert (jump.json()["review"], jump.json()["review_reason"]) == ("needs_review", "implausible_jump")
    too_big = post_count(client, operator, group["id"], 501, "2026-03-26T20:00:00+08:00")
    assert (too_big.json()["review"], too_big.json()["review_reason"]) == (
        "needs_review",
        "over_platform_limit",
    )
    # Held counts do not count: 25 March still shows 340.
    assert standing(compliance(client, operator, program_id, "2026-03-25"), group["id"])["actual"] == 340
    review = f"/api/v1/programs/{program_id}/group-counts/needs-review"
    held = client.get(review, headers=operator)
    assert [c["id"] for c in held.json()] == [jump.json()["id"], too_big.json()["id"]]
    assert held.headers["x-total-count"] == "2"
    second = client.get(f"{review}?limit=1&offset=1", headers=operator)
    assert ([c["id"] for c in second.json()], second.headers["x-total-count"]) == (
        [too_big.json()["id"]],
        "2",
    )
    for bad in ("limit=0", "limit=501", "offset=-1"):
        assert client.get(f"{review}?{bad}", headers=operator).status_code == 422
    accepted = client.post(
        f"/api/v1/groups/{group['id']}/counts/{jump.json()['id']}/review",
        json={"accept": True},
        headers=operator,
    )
    assert (accepted.status_code, accepted.json()["review"]) == (200, "accepted")
    rejected = client.post(
        f"/api/v1/groups/{group['id']}/counts/{too_big.json()['id']}/review",
        json={"accept": False},
        headers=operator,
    )
    assert rejected.json()["review"] == "rejected"
    assert standing(compliance(client, operator, program_id, "2026-03-25"), group["id"])["actual"] == 420
    assert standing(compliance(client, operator, program_id, "2026-03-26"), group["id"])["actual"] == 420
    twice = client.post(
        f"/api/v1/groups/{group['id']}/counts/{jump.json()['id']}/review",
        json={"accept": False},
        headers=operator,
    )
    assert (twice.status_code, twice.json()["code"]) == (409, "not_awaiting_review")
    wrong_group = client.post(
        f"/api/v1/groups/999/counts/{jump.json()['id']}/review", json={"accept": True}, headers=operator
    )
    assert (wrong_group.status_code, wrong_group.json()["code"]) == (404, "count_not_found")


def test_settings_change_the_size_limit_and_hide_the_webhook_key(
    client: TestClient, operator: dict[str, str], world: dict[str, Any]
) -> None:
    program_id = world["program"]["id"]
    defaults = client.get(f"/api/v1/programs/{program_id}/group-settings", headers=operator).json()
    assert defaults["size_limits"] == {"wechat": 500, "wecom": 500, "qq": 3000, "other": None}
    assert (
        defaults["webhook_configured"],
        defaults["jump_members_per_day"],
        defaults["jump_bp_per_day"],
    ) == (False, 50, 2000)
    changed = client.put(
        f"/api/v1/programs/{program_id}/group-settings",
        json={
            "size_limits": {"wechat": 200},
            "webhook_url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=secret-key",
        },
        headers=operator,
    ).json()
    assert changed["size_limits"]["wechat"] == 200
    assert changed["webhook_url_masked"] == "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?…"
    audit = client.get(f"/api/v1/audit-log?entity=program&entity_id={program_id}", headers=operator).text
    assert "secret-key" not in audit
    group = create_group(client, operator, world["owner"]["id"])
    held = post_count(client, operator, group["id"], 201, "2026-03-24T20:00:00+08:00").json()
    assert held["review_reason"] == "over_platform_limit"
    bad = client.put(
        f"/api/v1/programs/{program_id}/group-settings", json={"webhook_url": "ftp://x"}, headers=operator
    )
    assert bad.status_code == 422


def test_a_webhook_url_with_a_host_nfkc_would_change_is_422(
    client: TestClient, operator: dict[str, str], world: dict[str, Any]
) -> None:
    """Schemathesis found it: a full-width ``＠`` in the host made masking the URL raise (500)."""
    program_id = world["program"]["id"]
    answer = client.put(
        f"/api/v1/programs/{program_id}/group-settings",
        json={"webhook_url": "https://＠\x83example.com/hook"},
        headers=operator,
    )
    assert (answer.status_code, answer.json()["code"]) == (422, "validation_error"), answer.text
