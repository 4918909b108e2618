"""Group live codes (活码): rotation to the first group with room, QR uploads, scans, the full page
and the owner's alert."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import Engine, event, func, select
from sqlalchemy.orm import Session, sessionmaker

from neigou.groups import scan_counts
from neigou.groups.models import LiveCodeAlert
from neigou.kit.settings import use_settings
from neigou.links.ratelimit import ClaimLimiter
from tests.conftest import TokenMaker, bearer, row_counts
from tests.factories import create_member, create_program
from tests.groups.builders import create_group, post_count

pytestmark = pytest.mark.world_per_module
SEEN = (datetime.now(UTC) - timedelta(hours=2)).isoformat()
LATER = (datetime.now(UTC) - timedelta(hours=1)).isoformat()


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 64), "white").save(out, format="PNG")
    return out.getvalue()


class World:
    def __init__(
        self, owner: int, other: int, groups: list[int], other_group: int, headers: dict[str, str]
    ) -> None:
        self.owner, self.other, self.groups, self.other_group, self.headers = (
            owner,
            other,
            groups,
            other_group,
            headers,
        )


@pytest.fixture(scope="module")
def world(module_client: TestClient, module_operator: dict[str, str], module_make_token: TokenMaker) -> World:
    client, operator = module_client, module_operator
    program = create_program(client, operator, code="live-codes")
    owner = create_member(client, operator, program["id"], "owner")
    other = create_member(client, operator, program["id"], "other")
    groups = [create_group(client, operator, owner["id"], name=f"福利{n}群")["id"] for n in (1, 2)]
    other_group = create_group(client, operator, other["id"], name="别人的群")["id"]
    return World(
        owner["id"], other["id"], groups, other_group, bearer(module_make_token("member", owner["id"]))
    )


@pytest.fixture(autouse=True)
def _no_scans_left_over(client: TestClient) -> None:
    """Scans counted by an earlier test of this database (its live codes rolled back, their ids used again)
    and never flushed would be added to this test's codes: the counter starts empty."""
    scan_counts.drain(client.app.state.settings)  # type: ignore[attr-defined]


def _create(client: TestClient, world: World, **extra: Any) -> Any:
    body = {"owner_member_id": world.owner, "group_ids": world.groups, "capacity": 400, **extra}
    return client.post("/api/v1/groups/live-codes", json=body, headers=world.headers)


def _target(client: TestClient, code: str) -> int | None:
    page = client.get(f"/g/{code}")
    assert page.status_code == 200, page.text
    found = re.search(r'data-group-id="(\d+)"', page.text)
    return int(found.group(1)) if found else None


def _flush(client: TestClient, factory: sessionmaker[Session]) -> None:
    """What the scan-counting job does each minute."""
    with factory() as session:
        use_settings(session, client.app.state.settings)  # type: ignore[attr-defined]
        scan_counts.flush_live_code_scans(session, {}, datetime.now(UTC))
        session.commit()


def _scans(client: TestClient, world: World) -> list[tuple[int, int]]:
    listed = client.get(f"/api/v1/members/{world.owner}/live-codes", headers=world.headers).json()
    return [(live["full_scans"], sum(g["scans"] for g in live["groups"])) for live in listed]


def test_the_code_rotates_as_groups_fill_and_says_when_all_are_full(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], world: World
) -> None:
    created = _create(client, world)
    assert created.status_code == 201, created.text
    code = created.json()["code"]
    assert created.json()["url"].endswith(f"/g/{code}")
    assert _target(client, code) == world.groups[0]  # never counted: room
    assert post_count(client, operator, world.groups[0], 399, SEEN).status_code == 201
    assert _target(client, code) == world.groups[0]
    assert post_count(client, operator, world.groups[0], 400, LATER).status_code == 201
    assert _target(client, code) == world.groups[1]
    assert post_count(client, operator, world.groups[1], 412, SEEN).status_code == 201
    full = client.get(f"/g/{code}")
    assert full.status_code == 200
    assert "data-group-id" not in full.text
    assert 'data-testid="live-code-full"' in full.text
    assert _target(client, code) is None
    with factory() as session:  # one alert for the full spell, however many scans
        assert session.scalar(select(func.count(LiveCodeAlert.id))) == 1
    _flush(client, factory)
    listed = client.get(f"/api/v1/members/{world.owner}/live-codes", headers=world.headers).json()
    [live] = listed
    assert (live["all_full"], live["full_scans"]) == (True, 2)
    assert live["full_since"] is not None
    assert [(g["group_id"], g["scans"], g["latest_count"], g["full"]) for g in live["groups"]] == [
        (world.groups[0], 2, 400, True),
        (world.groups[1], 1, 412, True),
    ]


def test_a_group_with_room_again_ends_the_full_spell(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], world: World
) -> None:
    code = _create(client, world, capacity=1).json()["code"]
    for group_id in world.groups:
        post_count(client, operator, group_id, 5, SEEN)
    assert _target(client, code) is None
    later = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    post_count(client, operator, world.groups[1], 0, later)
    assert _target(client, code) == world.groups[1]
    listed = client.get(f"/api/v1/members/{world.owner}/live-codes", headers=world.headers).json()
    assert listed[0]["full_since"] is None


def test_qr_images_are_validated_and_served(
    client: TestClient, factory: sessionmaker[Session], world: World
) -> None:
    code = _create(client, world).json()["code"]
    url = f"/api/v1/groups/live-codes/{code}/groups/{world.groups[0]}/qr"
    before = row_counts(factory)
    text = client.put(
        url, files={"image": ("qr.png", b"not an image at all", "image/png")}, headers=world.headers
    )
    assert (text.status_code, text.json()["code"]) == (422, "image_type")
    fake = client.put(
        url, files={"image": ("qr.png", b"\x89PNG\r\n\x1a\n" + b"0" * 64, "image/png")}, headers=world.headers
    )
    assert (fake.status_code, fake.json()["code"]) == (422, "image_type")
    big = client.put(
        url, files={"image": ("qr.png", png() + b"0" * (1024 * 1024), "image/png")}, headers=world.headers
    )
    assert (big.status_code, big.json()["code"]) == (422, "image_too_large")
    assert row_counts(factory) == before
    stranger = f"/api/v1/groups/live-codes/{code}/groups/{world.other_group}/qr"
    missing = client.put(stranger, files={"image": ("qr.png", png(), "image/png")}, headers=world.headers)
    assert (missing.status_code, missing.json()["code"]) == (404, "group_not_found")
    ok = client.put(url, files={"image": ("qr.png", png(), "image/png")}, headers=world.headers)
    assert ok.status_code == 200, ok.text
    assert ok.json()["groups"][0]["has_qr"] is True
    page = client.get(f"/g/{code}")
    assert f'src="/g/{code}/qr/{world.groups[0]}"' in page.text
    image = client.get(f"/g/{code}/qr/{world.groups[0]}")
    assert (image.status_code, image.headers["content-type"], image.content) == (200, "image/png", png())
    assert client.get(f"/g/{code}/qr/{world.groups[1]}").status_code == 404


def test_groups_of_another_owner_are_not_found(
    client: TestClient, factory: sessionmaker[Session], world: World
) -> None:
    before = row_counts(factory)
    response = _create(client, world, group_ids=[world.groups[0], world.other_group])
    assert (response.status_code, response.json()["code"]) == (404, "group_not_found")
    twice = _create(client, world, group_ids=[world.groups[0], world.groups[0]])
    assert (twice.status_code, twice.json()["code"]) == (422, "duplicate_group")
    zero = _create(client, world, capacity=0)
    assert (zero.status_code, zero.json()["code"]) == (422, "validation_error")
    assert row_counts(factory) == before


def test_an_unknown_code_is_a_friendly_404(client: TestClient) -> None:
    for code in ("NoSuchCode", "<script>", "x" * 300):
        page = client.get(f"/g/{code}")
        assert page.status_code == 404
        assert 'data-testid="live-code-missing"' in page.text
        assert "<script>" not in page.text


def test_scans_from_one_address_are_rate_limited(client: TestClient, world: World) -> None:
    code = _create(client, world).json()["code"]
    app = client.app
    before = getattr(app.state, "live_code_limiter", None)  # type: ignore[attr-defined]
    app.state.live_code_limiter = ClaimLimiter.for_redis(None, per_ip="3/minute")  # type: ignore[attr-defined]
    try:
        assert [client.get(f"/g/{code}").status_code for _ in range(3)] == [200, 200, 200]
        refused = client.get(f"/g/{code}", headers={"Accept-Language": "zh-CN"})
        assert refused.status_code == 429
        assert refused.headers["Retry-After"] == "60"
        assert 'data-code="rate_limited"' in refused.text or "rate_limited" in refused.text
        assert "提交太频繁了" in refused.text
    finally:
        app.state.live_code_limiter = before  # type: ignore[attr-defined]


def test_scans_are_counted_off_the_request_and_added_by_the_flush(
    client: TestClient, factory: sessionmaker[Session], world: World
) -> None:
    code = _create(client, world).json()["code"]
    _flush(client, factory)
    before = _scans(client, world)
    writes: list[str] = []

    def seen(*args: Any) -> None:
        if (
            not str(args[2])
            .lstrip()
            .upper()
            .startswith(("SELECT", "SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN"))
        ):
            writes.append(str(args[2]))

    event.listen(Engine, "before_cursor_execute", seen)  # every engine: the app may hold its own
    try:
        assert [_target(client, code) for _ in range(5)] == [world.groups[0]] * 5
    finally:
        event.remove(Engine, "before_cursor_execute", seen)
    assert writes == []  # a scan writes nothing
    _flush(client, factory)
    after = _scans(client, world)
    assert sum(n for _, n in after) == sum(n for _, n in before) + 5
    _flush(client, factory)  # a second flush adds nothing
    assert _scans(client, world) == after


def test_unflushed_scans_are_pending_until_drained(client: TestClient) -> None:
    settings = client.app.state.settings  # type: ignore[attr-defined]
    scan_counts.drain(settings)
    for _ in range(3):
        scan_counts.count_group_scan(settings, 7)
    scan_counts.count_full_scan(settings, 9)
    expected = {scan_counts.group_field(7): 3, scan_counts.full_field(9): 1}
    assert scan_counts.pending(settings) == expected
    assert scan_counts.drain(settings) == expected
    assert scan_counts.pending(settings) == {}
