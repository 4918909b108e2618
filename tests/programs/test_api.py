"""Programs, tier ladders and members through the API, with their refusals."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.audit.models import AuditEntry
from neigou.programs.models import Member, MemberTierPeriod
from tests.conftest import SECRET, row_counts
from tests.factories import PARTNER_TIERS, create_member, create_program
from tests.phone_forms import written_forms


def test_create_program_returns_defaults(client: TestClient, operator: dict[str, str]) -> None:
    response = client.post("/api/v1/programs", json={"code": "jx", "name": "京喜"}, headers=operator)
    assert response.status_code == 201
    body = response.json()
    assert body["timezone"] == "Asia/Shanghai"
    assert body["attribution"] == {"model": "last_click", "window_days": 30}
    assert body["max_levels"] == 2
    assert body["freeze_days"] == 7
    assert client.get(f"/api/v1/programs/{body['id']}", headers=operator).json()["code"] == "jx"


def test_more_than_three_levels_is_refused_citing_the_law(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    before = row_counts(factory)
    response = client.post(
        "/api/v1/programs", json={"code": "deep", "name": "Deep", "max_levels": 4}, headers=operator
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "too_many_levels"
    assert (
        response.json()["detail"]
        == "分销层级必须在 1 到 3 级之间：超过 3 级的多级分销属于传销，法律与平台规则均禁止。"
    )
    english = client.post(
        "/api/v1/programs",
        json={"code": "deep", "name": "Deep", "max_levels": 4},
        headers={**operator, "Accept-Language": "en"},
    )
    assert (english.json()["code"], english.json()["detail"]) == (
        "too_many_levels",
        "max_levels must be between 1 and 3: multi-level distribution beyond 3 paid levels is pyramid selling "
        "under Chinese law and banned by chat platforms.",
    )
    zero = client.post(
        "/api/v1/programs", json={"code": "zero", "name": "Zero", "max_levels": 0}, headers=operator
    )
    assert zero.json()["code"] == "invalid_max_levels"
    assert row_counts(factory) == before


def test_duplicate_code_and_bad_timezone(client: TestClient, operator: dict[str, str]) -> None:
    create_program(client, operator, code="dup")
    again = client.post("/api/v1/programs", json={"code": "dup", "name": "again"}, headers=operator)
    assert (again.status_code, again.json()["code"]) == (409, "program_code_taken")
    tz = client.post(
        "/api/v1/programs", json={"code": "tz", "name": "tz", "timezone": "Mars/Olympus"}, headers=operator
    )
    assert (tz.status_code, tz.json()["code"]) == (422, "invalid_timezone")
    assert "Mars" not in tz.json()["detail"]  # what was typed is not repeated
    for name in ("Factory", "posix/Asia/Shanghai", "right/UTC"):  # files ZoneInfo loads, no place's zone
        body = {"code": "tz", "name": "tz", "timezone": name}
        refused = client.post("/api/v1/programs", json=body, headers=operator)
        assert (refused.status_code, refused.json()["code"]) == (422, "invalid_timezone"), name
    london = client.post(
        "/api/v1/programs", json={"code": "tz", "name": "tz", "timezone": "Europe/London"}, headers=operator
    )
    assert (london.status_code, london.json()["timezone"]) == (201, "Europe/London")


def test_malformed_body_gets_field_errors(client: TestClient, operator: dict[str, str]) -> None:
    response = client.post(
        "/api/v1/programs", json={"code": "Bad Code!", "freeze_days": -1}, headers=operator
    )
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_error"
    assert {e["field"] for e in body["errors"]} == {"code", "name", "freeze_days"}


def test_ladder_round_trip_and_validation(client: TestClient, operator: dict[str, str]) -> None:
    program = create_program(client, operator)
    tiers = client.get(f"/api/v1/programs/{program['id']}/tiers", headers=operator).json()
    assert [t["code"] for t in tiers] == ["super_member", "mentor"]
    assert tiers[1]["upgrade"]["all"][0] == {"metric": "direct_recruits", "gte": 3, "tier": "super_member"}
    greedy = [{**PARTNER_TIERS[0], "share_bp": 9000, "override_bp": 2000}]
    response = client.put(f"/api/v1/programs/{program['id']}/tiers", json=greedy, headers=operator)
    assert (response.status_code, response.json()["code"]) == (422, "shares_exceed_pool")
    unknown = [
        {**PARTNER_TIERS[1], "upgrade": {"all": [{"metric": "direct_recruits", "gte": 1, "tier": "ghost"}]}}
    ]
    response = client.put(f"/api/v1/programs/{program['id']}/tiers", json=unknown, headers=operator)
    assert response.json()["code"] == "unknown_tier"
    # The refused ladders left the stored one untouched.
    assert client.get(f"/api/v1/programs/{program['id']}/tiers", headers=operator).json() == tiers


def test_single_level_program_refuses_overrides(client: TestClient, operator: dict[str, str]) -> None:
    program = client.post(
        "/api/v1/programs", json={"code": "one", "name": "one", "max_levels": 1}, headers=operator
    ).json()
    response = client.put(f"/api/v1/programs/{program['id']}/tiers", json=PARTNER_TIERS, headers=operator)
    assert response.json()["code"] == "override_without_levels"


def test_tier_held_by_members_cannot_be_removed(client: TestClient, operator: dict[str, str]) -> None:
    program = create_program(client, operator)
    create_member(client, operator, program["id"], tier="mentor")
    response = client.put(f"/api/v1/programs/{program['id']}/tiers", json=PARTNER_TIERS[:1], headers=operator)
    assert (response.status_code, response.json()["code"]) == (409, "tier_in_use")


def test_member_joins_at_lowest_tier_with_history_and_masked_ref(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    program = create_program(client, operator)
    member = create_member(
        client,
        operator,
        program["id"],
        name="群主·小美",
        customer_ref="13812345678",
        joined_at="2026-03-01T09:00:00+08:00",
    )
    assert member["tier"] == "super_member"
    assert member["customer_ref_masked"] == "138****5678"
    assert member["joined_at"] == "2026-03-01T01:00:00Z"
    with factory() as session:
        row = session.get(Member, member["id"])
        assert row is not None
        assert row.customer_ref_hash is not None
        assert "13812345678" not in row.customer_ref_hash
        periods = session.scalars(
            select(MemberTierPeriod).where(MemberTierPeriod.member_id == member["id"])
        ).all()
        assert [(p.tier_code, p.reason) for p in periods] == [("super_member", "joined")]
        actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
        assert actions[-1] == "member.create"
    assert SECRET  # the hash is keyed by the configured secret


def test_invite_rules(client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]) -> None:
    program = create_program(client, operator)
    other = create_program(client, operator, code="other")
    root = create_member(client, operator, program["id"], name="root", customer_ref="openid-root")
    child = create_member(client, operator, program["id"], name="child", inviter_id=root["id"])
    grandchild = create_member(client, operator, program["id"], name="grandchild", inviter_id=child["id"])
    stranger = create_member(client, operator, other["id"], name="stranger")
    before = row_counts(factory)
    cross = client.post(
        f"/api/v1/programs/{program['id']}/members",
        json={"name": "x", "inviter_id": stranger["id"]},
        headers=operator,
    )
    assert (cross.status_code, cross.json()["code"]) == (422, "inviter_not_in_program")
    missing = client.post(
        f"/api/v1/programs/{program['id']}/members",
        json={"name": "x", "inviter_id": 999999},
        headers=operator,
    )
    assert missing.json()["code"] == "inviter_not_in_program"
    self_invite = client.post(
        f"/api/v1/programs/{program['id']}/members",
        json={"name": "x", "inviter_id": root["id"], "customer_ref": "openid-root"},
        headers=operator,
    )
    assert self_invite.json()["code"] in {"member_exists", "self_invite"}
    loop = client.put(
        f"/api/v1/members/{root['id']}/inviter", json={"inviter_id": grandchild["id"]}, headers=operator
    )
    assert (loop.status_code, loop.json()["code"]) == (409, "invite_loop")
    own = client.put(
        f"/api/v1/members/{root['id']}/inviter", json={"inviter_id": root["id"]}, headers=operator
    )
    assert own.json()["code"] == "self_invite"
    assert row_counts(factory) == before
    moved = client.put(
        f"/api/v1/members/{grandchild['id']}/inviter", json={"inviter_id": root["id"]}, headers=operator
    )
    assert moved.status_code == 200
    assert moved.json()["inviter_id"] == root["id"]
    listed = client.get(f"/api/v1/programs/{program['id']}/members", headers=operator).json()
    assert {m["name"]: m["direct_recruits"] for m in listed} == {"root": 2, "child": 0, "grandchild": 0}


def test_unknown_tier_and_unknown_program(client: TestClient, operator: dict[str, str]) -> None:
    program = create_program(client, operator)
    bad = client.post(
        f"/api/v1/programs/{program['id']}/members", json={"name": "x", "tier": "emperor"}, headers=operator
    )
    assert (bad.status_code, bad.json()["code"]) == (422, "unknown_tier")
    none = client.post("/api/v1/programs/424242/members", json={"name": "x"}, headers=operator)
    assert (none.status_code, none.json()["code"]) == (404, "program_not_found")
    naive = client.post(
        f"/api/v1/programs/{program['id']}/members",
        json={"name": "x", "joined_at": "2026-03-01T09:00:00"},
        headers=operator,
    )
    assert naive.json()["code"] == "validation_error"


def test_update_a_program_profile_and_rules(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    program = create_program(client, operator, code="editable")
    path = f"/api/v1/programs/{program['id']}"
    before = row_counts(factory)
    for body, code in (
        ({"timezone": "Mars/Olympus"}, "invalid_timezone"),
        ({"timezone": "right/UTC"}, "invalid_timezone"),
        ({"max_levels": 4}, "too_many_levels"),
        ({"code": "renamed"}, "validation_error"),
        ({"name": ""}, "validation_error"),
    ):
        refused = client.patch(path, json=body, headers=operator)
        assert (refused.status_code, refused.json()["code"]) == (422, code), body
    assert row_counts(factory) == before, "a refused update writes nothing"
    changed = client.patch(
        path,
        json={
            "name": "春季内购",
            "timezone": "Asia/Tokyo",
            "freeze_days": 14,
            "attribution": {"window_days": 7},
        },
        headers=operator,
    )
    assert changed.status_code == 200, changed.text
    out = changed.json()
    assert (out["name"], out["timezone"], out["freeze_days"], out["code"]) == (
        "春季内购",
        "Asia/Tokyo",
        14,
        "editable",
    )
    assert out["attribution"] == {"model": "last_click", "window_days": 7}
    assert out["max_levels"] == program["max_levels"]  # left out: unchanged
    [entry] = client.get(
        f"/api/v1/audit-log?entity=program&entity_id={program['id']}", headers=operator
    ).json()[:1]
    assert (entry["action"], entry["before"]["name"], entry["after"]["freeze_days"]) == (
        "program.update",
        program["name"],
        14,
    )


def test_one_phone_however_written_is_one_member_of_a_program(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    program = create_program(client, operator)
    create_member(client, operator, program["id"], name="first", customer_ref="13812345678")
    before = row_counts(factory)
    forms = ("+86 138 1234 5678", "0086-138-1234-5678", "8613812345678", "１３８１２３４５６７８")
    for written in (*forms, *written_forms("13812345678")):
        again = client.post(
            f"/api/v1/programs/{program['id']}/members",
            json={"name": "again", "customer_ref": written},
            headers=operator,
        )
        assert (again.status_code, again.json()["code"]) == (409, "member_exists"), written
    assert row_counts(factory) == before
