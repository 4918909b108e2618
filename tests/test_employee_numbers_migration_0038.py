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
from tests.migrating import (
    CREATED,
    PROGRAMS_REVISION,
    employee_numbers,
    events_with_employees,
    insert_id,
    programs_at,
)
from tests.migration_templates import ScratchAt


def test_migration_0038_drops_the_marks_0036_kept_and_keeps_colliding_rows(
    scratch_at: ScratchAt, caplog: pytest.LogCaptureFixture
) -> None:
    scratch_url = scratch_at(PROGRAMS_REVISION)
    engine, (program,) = programs_at(scratch_url, "0037", "p")
    with engine.begin() as conn:
        numbers = {
            # event 0: marks 0036's rule kept, each a number of its own
            "soft": (0, "HR\u00ad007"),
            "arabic": (0, "\u061cHR008"),
            "mongolian": (0, "HR\u180e009"),
            "deprecated": (0, "HR\u206a010\u206f"),
            "annotation": (0, "\ufff9HR011\ufffb"),
            "plain": (0, "HR012"),
            # two forms of HR013: the first takes it, the second stays
            "first": (0, "HR\u00ad013"),
            "second": (0, "HR0\u00ad13"),
            # event 1: the one form is already a row's; a number the rule refuses; one of nothing visible
            "late": (1, "HR\u00ad007"),
            "holder": (1, "HR007"),
            "circled": (1, "HR\u00ad\u2460"),
            "blank": (1, "\u00ad"),
        }
        events, ids = events_with_employees(conn, program, 2, numbers)
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
        stored = employee_numbers(conn)
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
