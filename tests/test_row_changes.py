"""``tests.row_changes.RowCounts``: every table counted again only once a row may have come or gone, so a
route sweep's "a refused write changes no row count" costs a count of every table only after a write."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.clock import utcnow
from neigou.organizations.models import Organization
from tests.row_changes import RowCounts

pytestmark = pytest.mark.world_per_module


def test_rows_that_come_or_go_are_counted_and_reads_count_nothing_again(
    factory: sessionmaker[Session],
) -> None:
    rows = RowCounts(factory)
    first = rows.now()
    with factory() as session:
        session.scalars(select(Organization)).all()
    assert (rows.now(), rows.recounts) == (first, 1)  # nothing written: the last counts
    with factory() as session:
        session.add(Organization(code="counted", name="counted", created_at=utcnow()))
        session.commit()
    added = {**first, "organizations": first["organizations"] + 1}
    assert (rows.now(), rows.recounts) == (added, 2)
    with factory() as session:  # written, then rolled back: counted again, and found as it was
        session.add(Organization(code="undone", name="undone", created_at=utcnow()))
        session.flush()
        session.rollback()
    assert (rows.now(), rows.recounts) == (added, 3)
    with factory() as session:
        session.delete(session.scalars(select(Organization).where(Organization.code == "counted")).one())
        session.commit()
    assert (rows.now(), rows.recounts) == (first, 4)


def test_only_a_module_s_one_connection_keeps_the_tally() -> None:
    with pytest.raises(TypeError, match="world_per_module"):
        RowCounts(sessionmaker())
