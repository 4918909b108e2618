"""A feed's body is parsed in a worker thread, not on the event loop (a large body takes a second of
CPU, during which the loop would serve nobody), and refused ``too_many_rows`` at the row past the
limit, the rest of the body unread."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.platforms import endpoints
from neigou.platforms.endpoints import MAX_ROWS
from tests.conftest import row_counts
from tests.platforms.builders import Feeds, feed, feeds_world, jd_row

pytestmark = pytest.mark.world_per_module


@pytest.fixture(scope="module")
def world(module_client: TestClient, module_operator: dict[str, str], module_factory: Any) -> Feeds:
    return feeds_world(module_client, module_operator, module_factory)


def _on_a_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def test_the_body_is_parsed_off_the_event_loop(
    client: TestClient, operator: dict[str, str], world: Feeds, monkeypatch: pytest.MonkeyPatch
) -> None:
    parsed = endpoints.feed_rows
    seen: list[bool] = []

    def watched(body: bytes) -> list[Any]:
        seen.append(_on_a_loop())
        return parsed(body)

    monkeypatch.setattr(endpoints, "feed_rows", watched)
    out = feed(
        client, operator, world.integration_id, "jd_union", [jd_row(790001, sub_union_id=world.w.link)]
    )
    assert (out["created"], seen) == (1, [False])


def _post(client: TestClient, operator: dict[str, str], world: Feeds, body: bytes) -> Any:
    return client.post(
        f"/api/v1/integrations/{world.integration_id}/feeds/jd_union",
        content=body,
        headers={**operator, "content-type": "application/json", "accept-language": "en"},
    )


def test_too_many_rows_are_refused_at_the_row_past_the_limit(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], world: Feeds
) -> None:
    """Past the thousandth row the body is read no further: what follows (here text that is not JSON)
    is never parsed, and the answer is ``too_many_rows``, not ``validation_error``."""
    before = row_counts(factory)
    body = b'{"rows": [' + b",".join([b'{"orderId": 1}'] * (MAX_ROWS + 1)) + b", {not json"
    response = _post(client, operator, world, body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert (response.json()["code"], response.json()["detail"]) == (
        "too_many_rows",
        "At most 1000 rows at a time.",
    )
    assert row_counts(factory) == before


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b' {\n"rows" :\t[ ] } ', None),  # JSON's white space anywhere
        (b'{"rows": [], "extra": 1}', "validation_error"),  # another key after the list
        (b'{"rows": [], "rows": [1]}', "validation_error"),  # "rows" twice: refused, never read twice
        (b'{"rows": [{"a": 1}] x', "validation_error"),  # not JSON after the list
        (b'{"rows": [{"a": 1e999999999999999999999}]}', "validation_error"),  # a number no decimal holds
        (b'{"rows": [' + b"[" * 100_000, "validation_error"),  # nested past the parser's depth
        (b'{"\\u0072ows": []}', None),  # read whole: the same body written otherwise
        (b'{"rows": [' + b",".join([b"{}"] * MAX_ROWS) + b"]}", None),  # the limit itself
    ],
)
def test_bodies_read_row_by_row_are_refused_as_when_read_whole(
    client: TestClient, operator: dict[str, str], world: Feeds, body: bytes, code: str | None
) -> None:
    response = _post(client, operator, world, body)
    if code is None:
        assert response.status_code == 200, response.text
    else:
        assert (response.status_code, response.json()["code"]) == (422, code), response.text
