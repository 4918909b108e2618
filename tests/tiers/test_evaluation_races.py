"""An evaluation and an operator's override of one program at once (both databases): the evaluation
holds the program from before it reads the members' tiers to its commit, so an override made meanwhile
waits for the run and changes the tier the run wrote; the run never writes over it."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.tiers import service
from neigou.tiers.manual import Override, override_tier
from tests.lock_waits import lock_waits, paused, two_sides
from tests.suite import TEST_ACTOR
from tests.tiers.builders import SHANGHAI, build, current_tier, recruit, tiers_of
from tests.tiers.test_changes_before_run import LADDER

RUN_AT = datetime(2026, 4, 1, 2, 23, tzinfo=SHANGHAI)


def test_an_override_during_the_run_waits_for_it_and_stands(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The run decides mentor for the seller (a recruit in March) and holds before writing it; the
    operator's override to super_member on another connection waits, then applies over the mentor."""
    w = build(client, operator, factory, tiers=LADDER, seller_tier="newbie")
    recruit(client, operator, w, 1)
    waits = lock_waits(factory, 2)
    monkeypatch.setattr(service, "decisions", paused(service.decisions, waits))

    def run(session: Session) -> object:
        return service.evaluate(
            session,
            program_id=w.program_id,
            period_text="2026-03",
            dry_run=False,
            actor=TEST_ACTOR,
            at=RUN_AT,
        )

    def override(session: Session) -> object:
        return override_tier(
            session,
            member_id=w.seller,
            tier_code="super_member",
            note="check",
            actor=TEST_ACTOR,
            at=RUN_AT + timedelta(minutes=1),
        )

    evaluation, changed = two_sides(factory, run, override, waits)
    assert isinstance(evaluation, service.EvaluationResult), evaluation
    assert [(c.member_id, c.to_tier) for c in evaluation.changes] == [(w.seller, "mentor")]
    assert evaluation.left_out == []
    assert isinstance(changed, Override), changed
    assert changed.from_tier == "mentor"  # it saw the run's change
    assert current_tier(factory, w.seller) == "super_member"
    assert [t for _, t, _ in tiers_of(factory, w.seller)][-2:] == ["mentor", "super_member"]
