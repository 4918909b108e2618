"""An event's window as reservations see it: live from its start (inclusive) to its end (exclusive),
whatever offsets the times are written with, and at the server's now at the latest, on the database path
and behind the Redis gate."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from neigou.events.models import EventItem, Reservation
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


def test_an_at_ahead_within_the_clock_skew_counts_as_now(
    api: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    """A caller's clock may run up to the skew (five minutes) ahead, and its ``at`` is taken as now: an
    event that opens in two minutes is not live yet (409 ``not_live``, nothing taken, though ``at`` is
    its start), and a live event's hold expires ``hold_minutes`` after now, not after the caller's time."""
    program = create_program(api, operator)
    now = utcnow()
    opens = now + timedelta(minutes=2)
    soon = create_event(api, operator, program["id"], starts_at=opens.isoformat())
    live = create_event(api, operator, program["id"], hold_minutes=15)
    for event_id in (soon, live):
        add_employees(api, operator, event_id, [{"employee_no": "E1", "name": "员工一"}])
    early = _reserve(api, operator, soon, "c1", opens)
    assert (early.status_code, early.json()["code"]) == (409, "not_live"), early.text
    ahead = _reserve(api, operator, live, "c1", utcnow() + timedelta(minutes=4))
    after = utcnow()
    assert ahead.status_code == 201, ahead.text
    assert datetime.fromisoformat(ahead.json()["expires_at"]) <= after + timedelta(minutes=15)
    app: Any = api.app
    app.state.events.flush()
    with factory() as session:
        rows = session.execute(
            select(Reservation.event_id, Reservation.reserved_at, Reservation.expires_at)
        ).all()
        assert [event_id for event_id, _, _ in rows] == [live]
        ((_, reserved_at, expires_at),) = rows
        assert now <= reserved_at <= after
        assert expires_at == reserved_at + timedelta(minutes=15)
        reserved = select(EventItem.event_id, func.sum(EventItem.reserved)).group_by(EventItem.event_id)
        assert dict(session.execute(reserved).all()) == {soon: 0, live: 1}
