"""The demo world has last month's evaluation: a brand guide promoted with reasons, and progress."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.programs.models import Member
from neigou.programs.service import require_program
from neigou.tiers.models import TierChange, TierEvaluation
from neigou.tiers.progress import member_progress
from tests.demo_world import DemoTemplate


@pytest.mark.sqlite_only
def test_demo_tiers(demo_template: DemoTemplate, demo_factory: sessionmaker[Session]) -> None:
    world, now = demo_template.world, demo_template.built_at
    with demo_factory() as session:
        evaluated = {e.program_id for e in session.scalars(select(TierEvaluation))}
        assert evaluated == {world.partner_program_id, world.brand_program_id}
        changes = list(session.scalars(select(TierChange)))
        assert [(c.program_id, c.from_tier, c.to_tier, c.reasons[0]["code"]) for c in changes] == [
            (world.brand_program_id, "guide", "gold_guide", "upgrade_condition_met")
        ]
        guide = session.get(Member, changes[0].member_id)
        assert guide is not None
        assert guide.tier_code == "gold_guide"
        sample = session.get(Member, world.sample_member_id)
        assert sample is not None
        program = require_program(session, sample.program_id)
        found = member_progress(session, member=sample, timezone=program.timezone, at=now)
        assert found.progress is not None
        assert found.progress.target.code == "mentor"
        assert found.text("zh-CN").startswith("还差 ")
