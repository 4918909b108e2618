"""The latest count of each group before several cut-offs, read in one statement: the same as one read
of ``latest_counts`` per cut-off, whatever their order, on both databases."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from neigou.groups import repository as repo
from tests.factories import create_member, create_program
from tests.groups.builders import create_group, post_count
from tests.statements import statements


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _world(client: TestClient, operator: dict[str, str]) -> dict[str, Any]:
    """Three groups of one owner: one counted three times, one once, one never."""
    program = create_program(client, operator, code="lc", timezone="Asia/Shanghai")
    owner = create_member(client, operator, program["id"])
    busy, once, never = (create_group(client, operator, owner["id"], name=f"群{i}")["id"] for i in range(3))
    for count, at in ((200, "2026-03-20T10:00:00+08:00"), (210, "2026-03-21T10:00:00+08:00")):
        assert post_count(client, operator, busy, count, at).status_code == 201
    assert post_count(client, operator, busy, 220, "2026-03-22T10:00:00+08:00").status_code == 201
    assert post_count(client, operator, once, 90, "2026-03-21T10:00:00+08:00").status_code == 201
    return {"program": program["id"], "groups": [busy, once, never], "busy": busy, "once": once}


CUTOFFS = [
    _at("2026-03-23T00:00:00+08:00"),  # after every count
    _at("2026-03-21T10:00:00+08:00"),  # exactly at two counts: they are not before it
    _at("2026-03-19T00:00:00+08:00"),  # before every count
    _at("2026-03-21T10:00:01+08:00"),
    _at("2026-03-21T10:00:00+08:00"),  # twice
]


def test_several_cutoffs_read_at_once_match_one_read_each(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w = _world(client, operator)
    with factory() as session:
        engine = session.get_bind()
        assert isinstance(engine, Engine)
        for scope in ({"group_ids": w["groups"]}, {"program_id": w["program"]}):
            with statements(engine) as sent:
                together = repo.latest_counts_at(session, befores=CUTOFFS, **scope)
            apart = [repo.latest_counts(session, before=cutoff, **scope) for cutoff in CUTOFFS]
            assert together == apart, scope
            assert len([s for s in sent if "group_counts" in s]) == 1
        assert together[0] == {
            w["busy"]: (220, _at("2026-03-22T02:00:00+00:00")),
            w["once"]: (90, _at("2026-03-21T02:00:00+00:00")),
        }
        assert together[1] == together[4] == {w["busy"]: (200, _at("2026-03-20T02:00:00+00:00"))}
        assert together[2] == {}
        assert together[3] == {
            w["busy"]: (210, _at("2026-03-21T02:00:00+00:00")),
            w["once"]: (90, _at("2026-03-21T02:00:00+00:00")),
        }
        with statements(engine) as none:
            assert repo.latest_counts_at(session, befores=CUTOFFS, group_ids=[]) == [{}] * len(CUTOFFS)
            assert repo.latest_counts_at(session, befores=[], program_id=w["program"]) == []
        assert none == []
