"""Migration 0038 rewrites the employee numbers stored under migration 0036's rule in the current one
(``kit.employee_numbers``): a soft hyphen, an Arabic letter mark, a Mongolian vowel separator, the
deprecated format controls and the interlinear annotation marks go. Rows of one event that would collide
are all kept (the row already in the one form keeps it, else the first row takes it, the others stay as
they were, logged by id, never by number), as are numbers the rule refuses; on SQLite and PostgreSQL."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import text

from neigou.kit.employee_numbers import employee_no
from neigou.migrations.runner import upgrade
from tests.migrating import CREATED, insert_id, programs_at


def test_migration_0038_drops_the_marks_0036_kept_and_keeps_colliding_rows(
    scratch_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    engine, (program,) = programs_at(scratch_url, "0037", "p")
    with engine.begin() as conn:
        events = [
            insert_id(
                conn,
                "events",
                program_id=program,
                code=f"EV{n}",
                name="内购会",
                starts_at=CREATED,
                ends_at="2026-01-02 00:00:00",
                guests_per_employee=2,
                hold_minutes=15,
                created_at=CREATED,
            )
            for n in range(2)
        ]
        numbers = {
            # event 0: marks 0036's rule kept, each a number of its own
            "soft": (events[0], "HR\u00ad007"),
            "arabic": (events[0], "\u061cHR008"),
            "mongolian": (events[0], "HR\u180e009"),
            "deprecated": (events[0], "HR\u206a010\u206f"),
            "annotation": (events[0], "\ufff9HR011\ufffb"),
            "plain": (events[0], "HR012"),
            # two forms of HR013: the first takes it, the second stays
            "first": (events[0], "HR\u00ad013"),
            "second": (events[0], "HR0\u00ad13"),
            # event 1: the one form is already a row's; a number the rule refuses; one of nothing visible
            "late": (events[1], "HR\u00ad007"),
            "holder": (events[1], "HR007"),
            "circled": (events[1], "HR\u00ad\u2460"),
            "blank": (events[1], "\u00ad"),
        }
        ids = {
            key: insert_id(conn, "event_employees", event_id=e, employee_no=n, name=key, invitations=1)
            for key, (e, n) in numbers.items()
        }
        invitation = insert_id(
            conn,
            "event_invitations",
            event_id=events[1],
            employee_id=ids["late"],
            code="CLATE",
            created_at=CREATED,
        )
    with caplog.at_level(logging.WARNING):
        upgrade(scratch_url)
    with engine.connect() as conn:
        stored = {
            int(i): str(n) for i, n in conn.execute(text("SELECT id, employee_no FROM event_employees"))
        }
        invited = conn.execute(
            text("SELECT employee_id FROM event_invitations WHERE id = :i"), {"i": invitation}
        )
        invited_id = invited.scalar_one()
    engine.dispose()
    assert stored == {
        ids["soft"]: "HR007",
        ids["arabic"]: "HR008",
        ids["mongolian"]: "HR009",
        ids["deprecated"]: "HR010",
        ids["annotation"]: "HR011",
        ids["plain"]: "HR012",
        ids["first"]: "HR013",
        ids["second"]: "HR0\u00ad13",
        ids["late"]: "HR\u00ad007",
        ids["holder"]: "HR007",
        ids["circled"]: "HR\u00ad\u2460",
        ids["blank"]: "\u00ad",
    }
    # what was rewritten is what the rule reads now
    for key in ("soft", "arabic", "mongolian", "deprecated", "annotation", "first"):
        assert stored[ids[key]] == employee_no(numbers[key][1])
    assert invited_id == ids["late"]
    said = caplog.text
    for key in ("second", "late", "circled", "blank"):
        assert str(ids[key]) in said
    assert "hr0" not in said.lower()
