"""An event's window as reservations see it: live from its start (inclusive) to its end (exclusive),
whatever offsets the times are written with, on the database path and behind the Redis gate."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from fastapi.testclient import TestClient

from neigou.kit.clock import utcnow
from tests.events.builders import SKU, add_employees, create_event
from tests.factories import create_program

KIRITIMATI = timezone(timedelta(hours=14))  # no daylight saving, the far side of the date line
SAO_PAULO = timezone(timedelta(hours=-3))  # no daylight saving since 2019


@pytest.fixture(params=["database", "redis"])
def api(request: pytest.FixtureRequest, client: TestClient) -> TestClient:
    if request.param == "redis":
        redis_client: TestClient = request.getfixturevalue("redis_client_app")
        return redis_client
    return client


def _reserve(api: TestClient, operator: dict[str, str], event_id: int, ref: str, at: datetime) -> Any:
    body = {"sku": SKU, "customer_ref": ref, "employee_no": "E1", "at": at.isoformat()}
    return api.post(f"/api/v1/events/{event_id}/reservations", json=body, headers=operator)


def test_the_window_includes_its_start_and_excludes_its_end_in_any_offset(
    api: TestClient, operator: dict[str, str]
) -> None:
    program = create_program(api, operator, timezone="America/Sao_Paulo")
    ends = utcnow().replace(microsecond=0) - timedelta(hours=1)
    starts = ends - timedelta(hours=2)
    event_id = create_event(
        api,
        operator,
        program["id"],
        starts_at=starts.astimezone(KIRITIMATI).isoformat(),
        ends_at=ends.astimezone(SAO_PAULO).isoformat(),
    )
    add_employees(api, operator, event_id, [{"employee_no": "E1", "name": "员工一"}])
    at_start = _reserve(api, operator, event_id, "c1", starts.astimezone(SAO_PAULO))
    assert at_start.status_code == 201, at_start.text
    last = _reserve(api, operator, event_id, "c1", (ends - timedelta(microseconds=1)).astimezone(KIRITIMATI))
    assert last.status_code == 201, last.text
    for ref, at in (
        ("c3", ends.astimezone(KIRITIMATI)),
        ("c4", ends.astimezone(SAO_PAULO)),
        ("c5", starts - timedelta(microseconds=1)),
    ):
        refused = _reserve(api, operator, event_id, ref, at)
        assert (refused.status_code, refused.json()["code"]) == (409, "not_live"), at
