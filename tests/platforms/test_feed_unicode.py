"""A platform row whose text holds an unpaired surrogate (JSON's ``"\\ud800"``, which ``json.loads``
reads but no database can store) is skipped ``invalid_field`` like any other unreadable field, whatever
field read carries it (the link code a row is attributed by, the platform's channel ids): the other
rows go in, never a 500."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import row_counts
from tests.platforms.builders import Feeds, feeds_world, jd_row, pdd_row, taobao_row

pytestmark = pytest.mark.world_per_module
LONE = "\ud800"


@pytest.fixture(scope="module")
def world(module_client: TestClient, module_operator: dict[str, str], module_factory: Any) -> Feeds:
    return feeds_world(module_client, module_operator, module_factory)


def _post(client: TestClient, operator: dict[str, str], world: Feeds, platform: str, rows: list[Any]) -> Any:
    # json.dumps writes the surrogate as its escape, as a platform's JSON would carry it
    response = client.post(
        f"/api/v1/integrations/{world.integration_id}/feeds/{platform}",
        content=json.dumps({"rows": rows}).encode(),
        headers={**operator, "content-type": "application/json"},
    )
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize(
    ("n", "platform", "bad"),
    [
        (1, "jd_union", {"subUnionId": LONE}),
        (3, "pdd", {"custom_parameters": LONE}),
        (4, "taobao", {"relation_id": LONE}),
        (5, "taobao", {"special_id": "7" + LONE}),
    ],
)
def test_a_lone_surrogate_skips_its_row_only(
    *,
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    world: Feeds,
    n: int,
    platform: str,
    bad: dict[str, Any],
) -> None:
    link = world.w.link
    if platform == "jd_union":
        rows = [{**jd_row(610000 + n, sub_union_id=link), **bad}, jd_row(710000 + n, sub_union_id=link)]
    elif platform == "pdd":
        rows = [
            {**pdd_row(f"261207-{610000 + n:09d}", custom=link), **bad},
            pdd_row(f"261207-{710000 + n:09d}", custom=link),
        ]
    else:
        rows = [
            {**taobao_row(f"19{610000 + n:017d}", parent=f"19{610000 + n:017d}"), **bad},
            taobao_row(f"19{710000 + n:017d}", parent=f"19{710000 + n:017d}", relation_id=link),
        ]
    before = row_counts(factory)
    out = _post(client, operator, world, platform, rows)
    assert [(s["index"], s["reason"]) for s in out["skipped"]] == [(0, "invalid_field")]
    assert out["created"] == 1
    after = row_counts(factory)
    assert after["orders"] == before["orders"] + 1
