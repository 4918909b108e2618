"""A program's paid levels changed after its ladder was saved: the new depth is checked against the
stored ladder as saving that ladder would check it, through the API and the console's program form,
and a ladder replaced while the depth changes waits for it (both databases)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.errors import Invalid
from neigou.programs import repository, service
from neigou.programs.models import Program
from neigou.programs.schemas import ProgramUpdate, TierIn
from tests.conftest import TEST_ACTOR, row_counts
from tests.factories import create_program
from tests.lock_waits import lock_waits, paused, two_sides
from tests.sign_in import console_sign_in

# The seller's share plus one override fills the pool exactly (6000 + 4000): a second upline would
# be paid out of nothing.
FULL = [
    {"code": "super_member", "name": "S", "rank": 1, "share_bp": 6000, "override_bp": 4000},
    {"code": "mentor", "name": "M", "rank": 2, "share_bp": 6000, "override_bp": 4000},
]
NO_OVERRIDES = [{"code": "member", "name": "M", "rank": 1, "share_bp": 3000, "override_bp": 0}]


def _program(client: TestClient, operator: dict[str, str], ladder: list[dict[str, Any]], levels: int) -> int:
    program = client.post(
        "/api/v1/programs", json={"code": "deep", "name": "Deep", "max_levels": levels}, headers=operator
    )
    assert program.status_code == 201, program.text
    saved = client.put(f"/api/v1/programs/{program.json()['id']}/tiers", json=ladder, headers=operator)
    assert saved.status_code == 200, saved.text
    return int(program.json()["id"])


def test_more_levels_than_the_ladder_fits_are_refused(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    program_id = _program(client, operator, FULL, 2)
    path = f"/api/v1/programs/{program_id}"
    before = row_counts(factory)
    refused = client.patch(path, json={"max_levels": 3}, headers=operator)
    assert (refused.status_code, refused.json()["code"]) == (422, "shares_exceed_pool")
    assert refused.json()["problems"][0]["tier"] == "super_member"
    assert row_counts(factory) == before, "a refused update writes nothing"
    assert client.get(path, headers=operator).json()["max_levels"] == 2
    # The same depth again, or fewer levels with the overrides gone, is fine.
    assert client.patch(path, json={"max_levels": 2, "name": "Deeper"}, headers=operator).status_code == 200
    # A ladder that fits three levels lets the depth go up.
    fits = [{**t, "override_bp": 2000} for t in FULL]
    assert client.put(f"{path}/tiers", json=fits, headers=operator).status_code == 200
    raised = client.patch(path, json={"max_levels": 3}, headers=operator)
    assert (raised.status_code, raised.json()["max_levels"]) == (200, 3)


def test_one_level_is_refused_while_the_ladder_pays_overrides(
    client: TestClient, operator: dict[str, str]
) -> None:
    program_id = _program(client, operator, FULL, 2)
    refused = client.patch(f"/api/v1/programs/{program_id}", json={"max_levels": 1}, headers=operator)
    assert (refused.status_code, refused.json()["code"]) == (422, "override_without_levels")
    plain = _program_with(client, operator, "plain", NO_OVERRIDES)
    lowered = client.patch(f"/api/v1/programs/{plain}", json={"max_levels": 1}, headers=operator)
    assert (lowered.status_code, lowered.json()["max_levels"]) == (200, 1)
    # A program without a ladder has nothing to check.
    bare = client.post("/api/v1/programs", json={"code": "bare", "name": "Bare"}, headers=operator).json()
    for levels in (1, 3):
        changed = client.patch(
            f"/api/v1/programs/{bare['id']}", json={"max_levels": levels}, headers=operator
        )
        assert changed.status_code == 200, changed.text


def _program_with(
    client: TestClient, operator: dict[str, str], code: str, ladder: list[dict[str, Any]]
) -> int:
    program = create_program(client, operator, code=code, max_levels=2)
    assert (
        client.put(f"/api/v1/programs/{program['id']}/tiers", json=ladder, headers=operator).status_code
        == 200
    )
    return int(program["id"])


def test_the_console_form_shows_the_refusal_beside_the_paid_levels(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    program_id = _program(client, operator, FULL, 2)
    console_sign_in(client, factory)
    path = f"/console/programs/{program_id}/edit"
    body = {
        "name": "Deep",
        "timezone": "Asia/Shanghai",
        "attribution_model": "last_click",
        "window_days": "7",
        "freeze_days": "7",
        "max_levels": "3",
    }
    before = row_counts(factory)
    refused = client.post(path, data=body)
    assert refused.status_code == 422, refused.text[:300]
    assert 'data-testid="error-max_levels" data-code="shares_exceed_pool"' in refused.text
    assert row_counts(factory) == before
    one = client.post(path, data={**body, "max_levels": "1"})
    assert one.status_code == 422
    assert 'data-testid="error-max_levels" data-code="override_without_levels"' in one.text
    saved = client.post(path, data={**body, "max_levels": "2", "name": "Deep 2"}, follow_redirects=False)
    assert saved.status_code == 303
    with factory() as session:
        program = session.get_one(Program, program_id)
        assert (program.max_levels, program.name) == (2, "Deep 2")


def test_a_ladder_saved_while_the_levels_go_up_is_checked_against_the_new_depth(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fits_two = [{**t, "share_bp": 6000, "override_bp": 2000} for t in FULL]  # 10000 bp at three levels
    program_id = _program(client, operator, fits_two, 2)
    waits = lock_waits(factory, 2)
    # The depth change holds once it read the ladder it checks.
    monkeypatch.setattr(repository, "list_tiers", paused(repository.list_tiers, waits))

    def raise_levels(session: Session) -> int:
        program = service.require_program(session, program_id)
        data = ProgramUpdate(max_levels=3)
        return service.update_program(session, program=program, data=data, actor=TEST_ACTOR).max_levels

    def replace(session: Session) -> int:
        ladder = [TierIn.model_validate({**t, "override_bp": 2500}) for t in fits_two]  # fits two only
        rows = service.replace_tiers(session, program_id=program_id, tiers=ladder, actor=TEST_ACTOR)
        return rows[0].override_bp

    first, second = two_sides(factory, raise_levels, replace, waits)
    assert first == 3
    assert isinstance(second, Invalid)
    assert second.code == "shares_exceed_pool"
    tiers = client.get(f"/api/v1/programs/{program_id}/tiers", headers=operator).json()
    assert {t["override_bp"] for t in tiers} == {2000}
