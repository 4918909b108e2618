"""An opt-out's ``at`` dates the shopper's request; the later of it and the moment the opt-out is
recorded decides which claims and reservations taken before, stored only after it, are stored erased: it
may not lie ahead of the clock (past the skew), and the opt-out's audit entry is dated by the server,
never by it (docs/privacy.md, The API)."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.audit.models import AuditEntry
from neigou.kit.clock import utcnow
from neigou.privacy.models import OptOut
from tests.conftest import row_counts

PATH = "/api/v1/privacy/opt-outs"


def test_an_opt_out_dated_ahead_is_refused_and_writes_nothing(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    before = row_counts(factory)
    for ahead in ((utcnow() + timedelta(hours=1)).isoformat(), "2999-01-01T00:00:00Z"):
        body = {"customer_ref": "13912345678", "request_id": "ahead", "at": ahead}
        refused = client.post(PATH, json=body, headers=operator)
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert (refused.json()["code"], refused.json()["field"]) == ("time_in_future", "at")
        assert "13912345678" not in refused.text
    assert row_counts(factory) == before


def test_an_opt_out_within_the_clock_skew_is_taken(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    """Another system's clock may run a little ahead (``clock_skew_seconds``, five minutes)."""
    soon = (utcnow() + timedelta(minutes=1)).isoformat()
    body = {"customer_ref": "13912345678", "request_id": "skew", "at": soon}
    assert client.post(PATH, json=body, headers=operator).status_code == 201
    with factory() as session:
        assert session.scalars(select(OptOut.request_id)).all() == ["skew"]


def test_the_audit_entry_is_dated_when_the_opt_out_was_recorded(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    given = datetime.fromisoformat("2026-03-01T12:00:00+08:00")
    started = utcnow()
    body = {"customer_ref": "13912345678", "request_id": "dated", "at": given.isoformat()}
    made = client.post(PATH, json=body, headers=operator)
    assert made.status_code == 201, made.text
    # It covers from when it was recorded, the later of the two (``test_opt_out_backdated``).
    assert started <= datetime.fromisoformat(made.json()["requested_at"]) <= utcnow()
    with factory() as session:
        [entry] = session.scalars(select(AuditEntry).where(AuditEntry.action == "privacy.opt_out")).all()
    assert started <= entry.at <= utcnow()
    assert entry.after is not None
    assert datetime.fromisoformat(entry.after["at"]) == given  # the request's own date, kept
