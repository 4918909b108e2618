"""The program the demo's seeding steps are tested in: the demo's partner program (Asia/Shanghai, last
click over 15 days, seven days' freeze), with one tier and owners who joined when each test says."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from neigou.programs import service as programs
from neigou.programs.schemas import AttributionIn, MemberCreate, ProgramCreate, TierIn
from tests.conftest import SECRET, TEST_ACTOR


def partners(session: Session, *, tier: TierIn, joined: Sequence[datetime]) -> tuple[int, list[int]]:
    """The partner program with ``tier`` as its only tier and an owner per join instant: its id and
    the owners' ids, in the order given."""
    program = programs.create_program(
        session,
        data=ProgramCreate(
            code="partners",
            name="Partners",
            timezone="Asia/Shanghai",
            attribution=AttributionIn(model="last_click", window_days=15),
            freeze_days=7,
        ),
        default_timezone="Asia/Shanghai",
        actor=TEST_ACTOR,
    )
    programs.replace_tiers(session, program_id=program.id, actor=TEST_ACTOR, tiers=[tier])
    owners = [
        programs.create_member(
            session,
            program_id=program.id,
            secret_key=SECRET,
            actor=TEST_ACTOR,
            data=MemberCreate(name=f"owner {n}", joined_at=at),
        )
        for n, at in enumerate(joined)
    ]
    return program.id, [o.id for o in owners]
