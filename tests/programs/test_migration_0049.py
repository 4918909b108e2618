"""Migration 0049 places the members without a tier of every program with a ladder on its entry
(lowest-ranked) tier, with a history row from when they joined (reason ``ladder set``), as setting the
ladder does today; a program without tiers and a member who holds a tier are left as they were, and a
downgrade changes nothing; on SQLite and PostgreSQL."""

from __future__ import annotations

import importlib
from typing import Any

from alembic import command
from sqlalchemy import Connection, Engine, select, text
from sqlalchemy.orm import Session

from neigou.migrations.runner import alembic_config, upgrade
from neigou.programs.models import Member, MemberTierPeriod
from neigou.programs.repository import place_tierless
from tests.migrating import PROGRAMS_REVISION, insert, insert_id, programs_at
from tests.migration_templates import ScratchAt

_migration = importlib.import_module("neigou.migrations.versions.0049_tierless_members_on_entry_tier")


def _tier(conn: Connection, program: int, code: str, rank: int) -> None:
    insert(conn, "tiers", program_id=program, code=code, name=code, rank=rank, share_bp=1000, override_bp=100)


def _member(conn: Connection, program: int, name: str, joined: str, tier: str | None = None) -> int:
    return insert_id(conn, "members", program_id=program, name=name, joined_at=joined, tier_code=tier)


def _state(engine: Engine) -> tuple[dict[int, str | None], list[tuple[Any, ...]]]:
    """Each member's current tier, and every history row with its member's join time beside it."""
    with engine.connect() as conn:
        tiers: dict[int, str | None] = dict(conn.execute(text("SELECT id, tier_code FROM members")).all())
        history = [
            tuple(row)
            for row in conn.execute(
                text(
                    "SELECT p.member_id, p.tier_code, p.reason, p.effective_from = m.joined_at"
                    " FROM member_tier_periods p JOIN members m ON m.id = p.member_id"
                    " ORDER BY p.member_id, p.id"
                )
            )
        ]
    return tiers, history


def test_migration_0049_places_tierless_members_on_the_entry_tier_from_when_they_joined(
    scratch_at: ScratchAt,
) -> None:
    scratch_url = scratch_at(PROGRAMS_REVISION)
    engine, (laddered, other, bare) = programs_at(scratch_url, "0047", "laddered", "other", "bare")
    with engine.begin() as conn:
        # Ranks inserted out of order: the entry tier is the lowest rank, not the first row.
        _tier(conn, laddered, "gold", 2)
        _tier(conn, laddered, "member", 1)
        _tier(conn, other, "starter", 5)
        early = _member(conn, laddered, "早", "2026-01-02 08:00:00")
        late = _member(conn, laddered, "晚", "2026-02-03 09:30:00")
        held = _member(conn, laddered, "金", "2026-01-05 10:00:00", tier="gold")
        insert(
            conn,
            "member_tier_periods",
            member_id=held,
            tier_code="gold",
            effective_from="2026-01-05 10:00:00",
            reason="joined",
        )
        elsewhere = _member(conn, other, "他", "2026-01-07 11:00:00")
        untiered = _member(conn, bare, "空", "2026-01-08 12:00:00")
    upgrade(scratch_url, "0049")
    try:
        tiers, history = _state(engine)
        assert tiers == {early: "member", late: "member", held: "gold", elsewhere: "starter", untiered: None}
        assert history == [
            (early, "member", "ladder set", True),
            (late, "member", "ladder set", True),
            (held, "gold", "joined", True),  # untouched: one row, as before
            (elsewhere, "starter", "ladder set", True),
        ]
        command.downgrade(alembic_config(scratch_url), "0047")
        assert _state(engine) == (tiers, history)  # a downgrade keeps the placement
    finally:
        engine.dispose()


def _placed(session: Session, program: int) -> list[tuple[Any, ...]]:
    """A program's members, in join order, with their current tier and tier history as the models read them."""
    members = session.scalars(select(Member).where(Member.program_id == program).order_by(Member.joined_at))
    return [
        (
            m.name,
            m.tier_code,
            [
                (p.tier_code, p.effective_from, p.reason)
                for p in session.scalars(select(MemberTierPeriod).where(MemberTierPeriod.member_id == m.id))
            ],
        )
        for m in members
    ]


def test_migration_0049_writes_what_a_ladder_set_writes(scratch_at: ScratchAt) -> None:
    """The frozen rule and the application's ``place_tierless`` write the same rows from the same data:
    one program placed by each, compared as the models read them."""
    scratch_url = scratch_at(PROGRAMS_REVISION)
    engine, (by_code, by_migration) = programs_at(scratch_url, "0049", "code", "migration")
    try:
        with engine.begin() as conn:
            for program in (by_code, by_migration):
                _tier(conn, program, "gold", 2)
                _tier(conn, program, "member", 1)
                _member(conn, program, "早", "2026-01-02 08:00:00")
                _member(conn, program, "晚", "2026-02-03 09:30:00")
        with Session(engine) as session, session.begin():
            assert place_tierless(session, by_code, "member") == 2
        with engine.begin() as conn:
            assert _migration.place(conn) == 2  # the other program's members only: the first are placed
        with Session(engine) as session:
            expected = _placed(session, by_code)
            assert [tier for _name, tier, _history in expected] == ["member", "member"]
            assert _placed(session, by_migration) == expected
    finally:
        engine.dispose()
