"""Migration 0040 rewrites every chat group's stored platform id to its one form (``kit.ids.canonical``),
so the uniqueness check finds an id stored before in another form; two groups of one program and platform
that would hold the same id are left as they were and logged by id, never by their platform id. On SQLite
and PostgreSQL (docs/groups.md)."""

from __future__ import annotations

import importlib
import logging

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from neigou.groups import repository
from neigou.kit.ids import canonical
from neigou.migrations.runner import upgrade
from tests.migrating import CREATED, PROGRAMS_REVISION, insert_id, programs_at
from tests.migration_templates import ScratchAt

_migration = importlib.import_module("neigou.migrations.versions.0040_group_external_ids_one_form")

# (platform, stored) → what the migration leaves
STORED = {
    ("wechat", "\twrOgA1"): "wrOgA1",
    ("wechat", "ｗｒＯｇＡ２"): "wrOgA2",
    ("wechat", "\u200bwrOgA3"): "wrOgA3",
    ("wechat", "wrOgA4"): "wrOgA4",
    ("wecom", "wrOgA4 "): "wrOgA4",  # another platform: no collision
    ("wechat", "\u200bwrOg\u200bY"): "wrOg\u200bY",  # a mark inside stays, the one at the edge goes
    ("wechat", "\u200b"): "\u200b",  # nothing visible: left, logged
    # collisions: one in the form and one becoming it, two becoming one form: all left as they were
    ("wechat", "wrOgC1"): "wrOgC1",
    ("wechat", "wrOgC1 "): "wrOgC1 ",
    ("wechat", " wrOgC2"): " wrOgC2",
    ("wechat", "ｗｒＯｇＣ２"): "ｗｒＯｇＣ２",
}
COLLIDING = {("wechat", "wrOgC1"), ("wechat", "wrOgC1 "), ("wechat", " wrOgC2"), ("wechat", "ｗｒＯｇＣ２")}


def test_the_frozen_rule_is_the_one_the_application_writes() -> None:
    for _, stored in STORED:
        assert _migration.one_form(stored) == canonical(stored)


@pytest.mark.parametrize("page", [None, 2])
def test_migration_0040_rewrites_stored_ids_and_keeps_colliding_ones(
    scratch_at: ScratchAt, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch, page: int | None
) -> None:
    scratch_url = scratch_at(PROGRAMS_REVISION)
    engine, (program, other) = programs_at(scratch_url, "0039", "p", "q")
    with engine.begin() as conn:
        member = insert_id(conn, "members", program_id=program, name="群主", joined_at=CREATED)
        member_q = insert_id(conn, "members", program_id=other, name="群主", joined_at=CREATED)

        def group(program_id: int, owner: int, n: int, platform: str, ext: str | None) -> int:
            return insert_id(
                conn,
                "chat_groups",
                program_id=program_id,
                owner_member_id=owner,
                name=f"g{n}",
                platform=platform,
                external_id=ext,
                status="active",
                created_at=CREATED,
                updated_at=CREATED,
            )

        ids = {key: group(program, member, n, *key) for n, key in enumerate(STORED)}
        elsewhere = group(other, member_q, 1, "wechat", "\twrOgA1")  # another program: its own
        no_id = group(program, member, 99, "wechat", None)
    with caplog.at_level(logging.WARNING):
        if page is None:
            upgrade(scratch_url)
        else:  # pages smaller than the rows: every page read, every update written
            monkeypatch.setattr(_migration, "_PAGE", page)
            with engine.begin() as conn:
                _migration.rewrite(conn)
    with engine.connect() as conn:
        stored = {int(i): e for i, e in conn.execute(text("SELECT id, external_id FROM chat_groups"))}
    assert {key: stored[ids[key]] for key in STORED} == STORED
    assert (stored[elsewhere], stored[no_id]) == ("wrOgA1", None)
    said = caplog.text
    for key in COLLIDING:
        assert str(ids[key]) in said
    assert str(ids[("wechat", "\u200b")]) in said
    assert "wrOg" not in said
    with Session(engine) as session:  # the duplicate check finds what was stored in another form
        for ext in ("wrOgA1", "wrOgA2", "wrOgA3"):
            found = repository.find_group_by_external_id(session, program, "wechat", ext)
            assert found is not None
            assert found.id == ids[next(k for k, v in STORED.items() if v == ext)]
    engine.dispose()
