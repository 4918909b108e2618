"""The team view never shows more levels than the program pays (each case builds its own program)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.network.builders import build_network, get_team


@pytest.mark.parametrize(("max_levels", "levels"), [(2, [1, 2]), (3, [1, 2, 3])])
def test_depth_is_bounded_by_max_levels(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    max_levels: int,
    levels: list[int],
) -> None:
    net = build_network(client, operator, factory, max_levels=max_levels)
    # One more generation under the level-3 recruit: never shown, whatever the program allows.
    deeper = client.post(
        f"/api/v1/programs/{net.program_id}/members",
        json={"name": "第四级", "inviter_id": net.r4},
        headers=operator,
    )
    assert deeper.status_code == 201
    team = get_team(client, operator, net.base.mentor, "2026-03")
    assert sorted({m["level"] for m in team["members"]}) == levels
    assert [lv["level"] for lv in team["levels"]] == levels
    names = {m["name"] for m in team["members"]}
    assert ("新人丁" in names) is (max_levels == 3)
    assert "第四级" not in names
