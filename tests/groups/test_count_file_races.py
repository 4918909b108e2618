"""Two imports of the same member-count file at once (a retried upload): the second counts the first's
rows as repeats instead of failing on their unique key. Real parallel connections on both databases."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from neigou.audit import service as audit
from neigou.groups import count_files
from neigou.groups.models import GroupCount
from neigou.kit.columns import ImportRefused
from tests.conftest import TEST_ACTOR
from tests.factories import create_member, create_program
from tests.groups.builders import create_group
from tests.lock_waits import lock_waits, paused, two_sides

HEADER = "owner_member_id,group,member_count,observed_at\n"


def _file(owner: int, second_count: int) -> str:
    return (
        HEADER
        + f"{owner},内购1群,300,2026-03-01T21:00:00+08:00\n"
        + f"{owner},内购1群,{second_count},2026-03-02T21:00:00+08:00\n"
    )


@pytest.fixture
def owner(client: TestClient, operator: dict[str, str]) -> tuple[int, int]:
    program = create_program(client, operator, code="count-races")
    member = create_member(client, operator, program["id"], name="群主")
    create_group(client, operator, member["id"], name="内购1群")
    return program["id"], member["id"]


def _race(
    factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch, program_id: int, first: str, second: str
) -> tuple[object, object]:
    waits = lock_waits(factory, 2)
    # Each side holds once its rows are written (the import's audit entry comes right after them).
    monkeypatch.setattr(count_files, "audit", SimpleNamespace(record=paused(audit.record, waits)))

    def side(text: str):  # type: ignore[no-untyped-def]
        def work(session: Session) -> count_files.ImportResult:
            return count_files.import_counts(session, content=text, actor=TEST_ACTOR, program_id=program_id)

        return work

    return two_sides(factory, side(first), side(second), waits)


def _stored(factory: sessionmaker[Session]) -> list[int]:
    with factory() as session:
        return list(session.scalars(select(GroupCount.member_count).order_by(GroupCount.observed_at)))


def test_a_parallel_repeat_of_a_file_counts_its_rows_as_duplicates(
    factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch, owner: tuple[int, int]
) -> None:
    program_id, member = owner
    text = _file(member, 310)
    first, second = _race(factory, monkeypatch, program_id, text, text)
    assert first == count_files.ImportResult(imported=2, needs_review=0, duplicates=0)
    assert second == count_files.ImportResult(imported=0, needs_review=0, duplicates=2)
    assert _stored(factory) == [300, 310]


def test_a_parallel_file_with_another_count_for_the_same_time_is_refused_whole(
    factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch, owner: tuple[int, int]
) -> None:
    program_id, member = owner
    first, second = _race(factory, monkeypatch, program_id, _file(member, 310), _file(member, 320))
    assert first == count_files.ImportResult(imported=2, needs_review=0, duplicates=0)
    assert isinstance(second, ImportRefused), second
    assert second.code == "import_rejected"
    assert [e.code for e in second.errors] == ["observation_conflict"]
    assert _stored(factory) == [300, 310]
    with factory() as session:
        assert session.scalar(select(func.count(GroupCount.id))) == 2
