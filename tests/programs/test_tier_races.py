"""Two replacements of one program's tier ladder at once (both databases): the replacement reads the program
locked before it reads, deletes and inserts the tiers, so the second waits for the first one's commit and
replaces the ladder the first wrote (never a unique violation, never a stale ``before`` in its audit)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.audit.models import AuditEntry
from neigou.programs import repository, service
from neigou.programs.schemas import TierIn
from tests.conftest import TEST_ACTOR
from tests.factories import PARTNER_TIERS, create_program
from tests.lock_waits import lock_waits, paused, two_sides


def _ladder(share_bp: int) -> list[dict[str, Any]]:
    ladder = copy.deepcopy(PARTNER_TIERS)
    ladder[0]["share_bp"] = share_bp
    return ladder


def _replace(program_id: int, ladder: list[dict[str, Any]]) -> Any:
    def work(session: Session) -> int:
        tiers = [TierIn.model_validate(t) for t in ladder]
        rows = service.replace_tiers(session, program_id=program_id, tiers=tiers, actor=TEST_ACTOR)
        return rows[0].share_bp

    return work


def test_the_second_replacement_replaces_the_first_ones_ladder(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    program = create_program(client, operator)
    waits = lock_waits(factory, 2)
    # The first replacement holds once it read the ladder it will delete.
    monkeypatch.setattr(repository, "list_tiers", paused(repository.list_tiers, waits))
    first, second = two_sides(
        factory, _replace(program["id"], _ladder(2100)), _replace(program["id"], _ladder(2200)), waits
    )
    assert (first, second) == (2100, 2200)
    tiers = client.get(f"/api/v1/programs/{program['id']}/tiers", headers=operator).json()
    assert [(t["code"], t["share_bp"]) for t in tiers] == [("super_member", 2200), ("mentor", 3000)]
    with factory() as session:
        befores = session.scalars(
            select(AuditEntry.before)
            .where(AuditEntry.action == "program.tiers.replace", AuditEntry.entity_id == str(program["id"]))
            .order_by(AuditEntry.id)
        ).all()
    # The ladder create_program put, then the first replacement's: each started from the one before it.
    assert [b["tiers"][0]["share_bp"] for b in befores[-2:]] == [2000, 2100]
