"""Days outside the supported range (``0001-01-01``, ``9999-12-31``) answer 422 ``date_out_of_range``
on group sales, leaderboards, compliance, alerts, targets and their console pages, never 500."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth.models import Role
from tests.conftest import TokenMaker, bearer
from tests.factories import create_member, create_program
from tests.groups.builders import create_group, post_count, put_targets
from tests.sign_in import console_sign_in

pytestmark = pytest.mark.world_per_module

EDGES = ["0001-01-01", "0001-01-02", "1969-12-31", "3000-01-01", "9999-12-31"]


@pytest.fixture(scope="module")
def world(
    module_client: TestClient,
    module_operator: dict[str, str],
    module_make_token: TokenMaker,
    module_factory: sessionmaker[Session],
) -> dict[str, Any]:
    program = create_program(module_client, module_operator, code="range")
    owner = create_member(module_client, module_operator, program["id"], "owner")
    group = create_group(module_client, module_operator, owner["id"])
    post_count(module_client, module_operator, group["id"], 120, "2026-03-20T12:00:00+08:00")
    return {
        "program": program["id"],
        "group": group["id"],
        "member": bearer(module_make_token(Role.MEMBER, owner["id"])),
    }


def _out_of_range(response: Any) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "date_out_of_range", response.text


@pytest.mark.parametrize("day", EDGES)
def test_api_reports_refuse_days_outside_the_range(
    client: TestClient, operator: dict[str, str], world: dict[str, Any], day: str
) -> None:
    p = world["program"]
    for url in [
        f"/api/v1/programs/{p}/group-sales?to={day}",
        f"/api/v1/programs/{p}/group-sales?from={day}",
        f"/api/v1/programs/{p}/group-leaderboard?from={day}&to={day}",
        f"/api/v1/programs/{p}/group-compliance?date={day}",
        f"/api/v1/programs/{p}/group-alerts?date={day}",
    ]:
        _out_of_range(client.get(url, headers=operator))
    _out_of_range(client.get(f"/api/v1/programs/{p}/group-sales?to={day}", headers=world["member"]))
    targets = {"points": [{"date": day, "min_members": 10}]}
    _out_of_range(put_targets(client, operator, p, targets))
    dated = {"points": [{"date": "2026-03-01", "min_members": 10}], "starts_on": day}
    _out_of_range(put_targets(client, operator, p, dated))


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
def test_counts_observed_at_the_edges_of_time_are_refused(
    client: TestClient, operator: dict[str, str], world: dict[str, Any], day: str
) -> None:
    _out_of_range(post_count(client, operator, world["group"], 130, f"{day}T12:00:00+08:00"))


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
def test_console_pages_answer_422_for_days_outside_the_range(
    client: TestClient, factory: sessionmaker[Session], world: dict[str, Any], day: str
) -> None:
    console_sign_in(client, factory)
    p = world["program"]
    for url in [
        f"/console/programs/{p}/groups?date={day}",
        f"/console/programs/{p}/groups/leaderboard?from={day}",
        f"/console/programs/{p}/groups/leaderboard?to={day}",
    ]:
        page = client.get(url)
        assert page.status_code == 422, (url, page.text[:300])


def test_days_inside_the_range_still_answer(
    client: TestClient, operator: dict[str, str], world: dict[str, Any]
) -> None:
    p = world["program"]
    sales = client.get(f"/api/v1/programs/{p}/group-sales?from=2026-03-01&to=2026-03-20", headers=operator)
    assert sales.status_code == 200, sales.text
    assert (
        client.get(f"/api/v1/programs/{p}/group-compliance?date=2026-03-20", headers=operator).status_code
        == 200
    )
