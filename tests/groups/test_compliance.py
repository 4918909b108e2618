"""Group compliance over HTTP: the field's 250 / 400 / +3 schedule, end of day in Asia/Shanghai,
schedules over time, forecasts, and one query for any number of groups."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event

from tests.conftest import bearer
from tests.factories import create_member, create_program
from tests.groups.builders import FIELD_SCHEDULE, compliance, create_group, post_count, put_targets, standing


@pytest.fixture
def program(client: TestClient, operator: dict[str, str]) -> dict[str, Any]:
    created = create_program(client, operator, code="fx", timezone="Asia/Shanghai")
    assert put_targets(client, operator, created["id"], FIELD_SCHEDULE).status_code == 200
    return created


@pytest.mark.parametrize(
    ("on", "required"),
    [
        ("2026-03-23", None),
        ("2026-03-24", 250),
        ("2026-04-01", 250),
        ("2026-04-02", 400),
        ("2026-04-03", 403),
        ("2026-04-10", 424),
    ],
)
def test_the_field_schedule_requires_exactly(
    client: TestClient, operator: dict[str, str], program: dict[str, Any], on: str, required: int | None
) -> None:
    owner = create_member(client, operator, program["id"], name="群主·王小美")
    group = create_group(client, operator, owner["id"])
    report = compliance(client, operator, program["id"], on)
    row = standing(report, group["id"])
    assert report["required"] == required
    assert row["required"] == required
    assert row["actual"] is None
    assert row["met"] is (required is None)
    assert row["owner_member_id"] == owner["id"]


def test_a_count_belongs_to_the_day_it_was_observed_in_shanghai(
    client: TestClient, operator: dict[str, str], program: dict[str, Any]
) -> None:
    owner = create_member(client, operator, program["id"])
    late = create_group(client, operator, owner["id"], name="晚上统计")
    midnight = create_group(client, operator, owner["id"], name="零点统计")
    assert post_count(client, operator, late["id"], 260, "2026-03-24T23:59:59+08:00").status_code == 201
    assert post_count(client, operator, midnight["id"], 260, "2026-03-25T00:00:00+08:00").status_code == 201

    day = compliance(client, operator, program["id"], "2026-03-24")
    row = standing(day, late["id"])
    assert (row["required"], row["actual"], row["met"]) == (250, 260, True)
    assert row["observed_at"] == "2026-03-24T15:59:59Z"
    assert (standing(day, midnight["id"])["actual"], standing(day, midnight["id"])["met"]) == (None, False)
    next_day = compliance(client, operator, program["id"], "2026-03-25")
    assert (standing(next_day, midnight["id"])["actual"], standing(next_day, midnight["id"])["met"]) == (
        260,
        True,
    )
    assert day["summary"] == {
        "groups": 2,
        "met": 1,
        "missed": 1,
        "without_count": 1,
        "at_risk": 2,
        "members": 260,
    }


def test_latest_count_wins_and_a_drop_below_target_misses(
    client: TestClient, operator: dict[str, str], program: dict[str, Any]
) -> None:
    owner = create_member(client, operator, program["id"])
    group = create_group(client, operator, owner["id"])
    post_count(client, operator, group["id"], 300, "2026-04-01T09:00:00+08:00")
    post_count(client, operator, group["id"], 240, "2026-04-01T20:00:00Z")  # 04:00 on 2 April in Shanghai
    assert standing(compliance(client, operator, program["id"], "2026-04-01"), group["id"])["actual"] == 300
    row = standing(compliance(client, operator, program["id"], "2026-04-02"), group["id"])
    assert (row["required"], row["actual"], row["met"]) == (400, 240, False)


def test_a_later_schedule_applies_from_its_start(
    client: TestClient, operator: dict[str, str], program: dict[str, Any]
) -> None:
    owner = create_member(client, operator, program["id"])
    group = create_group(client, operator, owner["id"])
    relaxed = {"points": [{"date": "2026-04-05", "min_members": 350}], "daily_increase_after": 1}
    response = put_targets(client, operator, program["id"], {**relaxed, "starts_on": "2026-04-03"})
    assert response.status_code == 200, response.text
    assert response.json()["starts_on"] == "2026-04-03"
    assert standing(compliance(client, operator, program["id"], "2026-04-02"), group["id"])["required"] == 400
    assert (
        standing(compliance(client, operator, program["id"], "2026-04-03"), group["id"])["required"] is None
    )
    assert standing(compliance(client, operator, program["id"], "2026-04-07"), group["id"])["required"] == 352
    schedules = client.get(f"/api/v1/programs/{program['id']}/group-targets", headers=operator).json()
    assert [s["starts_on"] for s in schedules] == ["2026-03-24", "2026-04-03"]
    # The same start date replaces that schedule.
    put_targets(
        client, operator, program["id"], {**relaxed, "starts_on": "2026-04-03", "daily_increase_after": 5}
    )
    assert standing(compliance(client, operator, program["id"], "2026-04-07"), group["id"])["required"] == 360


def test_forecast_and_at_risk_list(
    client: TestClient, operator: dict[str, str], program: dict[str, Any]
) -> None:
    owner = create_member(client, operator, program["id"], name="群主·李")
    slow = create_group(client, operator, owner["id"], name="慢群")
    fast = create_group(client, operator, owner["id"], name="快群")
    for day, (slow_count, fast_count) in enumerate(
        [(320, 330), (326, 345), (332, 360), (338, 375)], start=24
    ):
        stamp = f"2026-03-{day}T21:00:00+08:00"
        post_count(client, operator, slow["id"], slow_count, stamp)
        post_count(client, operator, fast["id"], fast_count, stamp)
    report = compliance(client, operator, program["id"], "2026-03-27")
    assert report["checkpoint"] == {"date": "2026-04-02", "required": 400}
    # 6 a day from 338 on 27 March: 338 + 6 × 6 = 374 by 2 April, 26 short.
    assert standing(report, slow["id"])["forecast"] == {
        "date": "2026-04-02",
        "required": 400,
        "projected": 374,
        "short_by": 26,
        "at_risk": True,
        "pace_per_week": 42,
    }
    assert standing(report, fast["id"])["forecast"]["projected"] == 375 + 15 * 6
    assert report["at_risk"] == [slow["id"]]
    assert report["owners"] == [
        {
            "owner_member_id": owner["id"],
            "owner_name": "群主·李",
            "groups": 2,
            "met": 2,
            "missed": 0,
            "at_risk": 1,
            "members": 338 + 375,
        }
    ]


def test_compliance_reads_counts_in_one_query_for_any_number_of_groups(
    client: TestClient, operator: dict[str, str], program: dict[str, Any], engine: Engine
) -> None:
    owner = create_member(client, operator, program["id"])

    def statements_for_report() -> int:
        seen: list[str] = []

        def count(*args: Any) -> None:
            seen.append(str(args[2]))

        event.listen(engine, "before_cursor_execute", count)
        try:
            compliance(client, operator, program["id"], "2026-03-30")
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(seen)

    for index in range(2):
        group = create_group(client, operator, owner["id"], name=f"群{index}")
        post_count(client, operator, group["id"], 300, "2026-03-29T10:00:00+08:00")
    few = statements_for_report()
    for index in range(2, 12):
        group = create_group(client, operator, owner["id"], name=f"群{index}")
        post_count(client, operator, group["id"], 300, "2026-03-29T10:00:00+08:00")
    assert statements_for_report() == few


def test_bad_schedules_are_refused_whole(
    client: TestClient, operator: dict[str, str], program: dict[str, Any]
) -> None:
    twice = {"points": [{"date": "2026-05-01", "min_members": 1}, {"date": "2026-05-01", "min_members": 2}]}
    refused = put_targets(client, operator, program["id"], twice)
    assert (refused.status_code, refused.json()["code"]) == (422, "duplicate_point_date")
    empty = put_targets(client, operator, program["id"], {"points": []})
    assert (empty.status_code, empty.json()["code"]) == (422, "validation_error")
    missing = put_targets(client, operator, 999999, FIELD_SCHEDULE)
    assert (missing.status_code, missing.json()["code"]) == (404, "program_not_found")
    schedules = client.get(f"/api/v1/programs/{program['id']}/group-targets", headers=operator).json()
    assert len(schedules) == 1


def test_the_report_pages_its_groups_and_filters_by_owner(
    client: TestClient, operator: dict[str, str], program: dict[str, Any], make_token: Any
) -> None:
    first = create_member(client, operator, program["id"], "first")
    second = create_member(client, operator, program["id"], "second")
    mine = [create_group(client, operator, first["id"], name=f"甲{n}")["id"] for n in range(3)]
    theirs = [create_group(client, operator, second["id"], name=f"乙{n}")["id"] for n in range(2)]
    url = f"/api/v1/programs/{program['id']}/group-compliance?date=2026-03-30"

    whole = client.get(url, headers=operator)
    assert whole.headers["x-total-count"] == "5"
    assert [g["group_id"] for g in whole.json()["groups"]] == mine + theirs
    paged = client.get(url + "&limit=2&offset=2", headers=operator)
    assert paged.status_code == 200, paged.text
    assert [g["group_id"] for g in paged.json()["groups"]] == [mine[2], theirs[0]]
    assert paged.headers["x-total-count"] == "5"
    assert 'rel="next"' in paged.headers["link"]
    owned = client.get(url + f"&owner_member_id={second['id']}", headers=operator)
    assert [g["group_id"] for g in owned.json()["groups"]] == theirs
    assert owned.headers["x-total-count"] == "2"
    assert client.get(url + "&limit=0", headers=operator).status_code == 422

    member = bearer(make_token("member", first["id"]))
    own = client.get(url, headers=member)
    assert [g["group_id"] for g in own.json()["groups"]] == mine
    other = client.get(url + f"&owner_member_id={second['id']}", headers=member)
    assert (other.status_code, other.json()["groups"], other.headers["x-total-count"]) == (200, [], "0")
