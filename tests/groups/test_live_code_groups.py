"""Which groups a live code (活码) sends visitors to: only its owner's active groups. An archived group
cannot be listed and leaves the rotation when archived later; a group handed over to another member
leaves the old owner's code (scans, QR uploads and the full-code robot). The code's URL is the
deployment's public one, never the request's Host."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.feed import full_alerts, robots
from neigou.kit.db import transaction
from tests.conftest import TEST_ACTOR, TokenMaker, bearer, row_counts
from tests.factories import create_member, create_program
from tests.feed.conftest import app_sealer
from tests.groups.builders import create_group
from tests.groups.test_live_codes import png
from tests.sign_in import member_sign_in


def _world(client: TestClient, operator: dict[str, str], make_token: TokenMaker) -> dict[str, Any]:
    program = create_program(client, operator, code="lc-groups")
    owner = create_member(client, operator, program["id"], "owner")
    other = create_member(client, operator, program["id"], "other")
    groups = [create_group(client, operator, owner["id"], name=f"g{n}")["id"] for n in (1, 2)]
    token = make_token("member", owner["id"])
    return {"owner": owner["id"], "other": other["id"], "groups": groups, "token": token, "h": bearer(token)}


def _code(client: TestClient, w: dict[str, Any], **headers: str) -> Any:
    made = client.post(
        "/api/v1/groups/live-codes",
        json={"owner_member_id": w["owner"], "group_ids": w["groups"], "capacity": 400},
        headers={**w["h"], **headers},
    )
    assert made.status_code == 201, made.text
    return made.json()


def _sent_to(client: TestClient, code: str) -> int | None:
    found = re.search(r'data-group-id="(\d+)"', client.get(f"/g/{code}").text)
    return None if found is None else int(found.group(1))


def test_an_archived_group_is_refused_when_the_code_is_made(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, factory: sessionmaker[Session]
) -> None:
    w = _world(client, operator, make_token)
    assert (
        client.patch(
            f"/api/v1/groups/{w['groups'][0]}", json={"status": "archived"}, headers=w["h"]
        ).status_code
        == 200
    )
    before = row_counts(factory)
    refused = client.post(
        "/api/v1/groups/live-codes",
        json={"owner_member_id": w["owner"], "group_ids": w["groups"], "capacity": 400},
        headers=w["h"],
    )
    assert (refused.status_code, refused.json()["code"]) == (422, "group_archived")
    assert row_counts(factory) == before


def test_a_group_archived_later_takes_no_more_visitors(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker
) -> None:
    w = _world(client, operator, make_token)
    code = _code(client, w)["code"]
    assert _sent_to(client, code) == w["groups"][0]
    assert (
        client.patch(
            f"/api/v1/groups/{w['groups'][0]}", json={"status": "archived"}, headers=w["h"]
        ).status_code
        == 200
    )
    assert _sent_to(client, code) == w["groups"][1]
    assert (
        client.patch(
            f"/api/v1/groups/{w['groups'][1]}", json={"status": "archived"}, headers=w["h"]
        ).status_code
        == 200
    )
    assert _sent_to(client, code) is None  # no group left: the full page


def test_a_group_handed_over_leaves_the_old_owners_code(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, factory: sessionmaker[Session]
) -> None:
    w = _world(client, operator, make_token)
    code = _code(client, w)["code"]
    moved = w["groups"][0]
    handed = client.patch(f"/api/v1/groups/{moved}", json={"owner_member_id": w["other"]}, headers=operator)
    assert handed.status_code == 200, handed.text
    assert _sent_to(client, code) == w["groups"][1]
    qr = f"/api/v1/groups/live-codes/{code}/groups/{moved}/qr"
    for headers in (w["h"], operator):
        before = row_counts(factory)
        upload = client.put(qr, files={"image": ("q.png", png(), "image/png")}, headers=headers)
        assert (upload.status_code, upload.json()["code"]) == (404, "group_not_found")
        assert row_counts(factory) == before
    kept = f"/api/v1/groups/live-codes/{code}/groups/{w['groups'][1]}/qr"
    assert client.put(kept, files={"image": ("q.png", png(), "image/png")}, headers=w["h"]).status_code == 200
    # The full-code robot message goes through a group still the code owner's when it is sent.
    sealer = app_sealer(client)
    with transaction(factory) as session:
        robots.set_robot(
            session,
            group_id=moved,
            webhook_url="https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=new-owners",
            sealer=sealer,
            actor=TEST_ACTOR,
            at=datetime.now(UTC),
        )
    payload = {
        "owner_member_id": w["owner"],
        "groups": [{"group_id": g, "members": 400} for g in w["groups"]],
    }
    with factory() as session:
        assert full_alerts.robot_url(session, payload, sealer) is None
        assert full_alerts.robot_url(session, {**payload, "owner_member_id": w["other"]}, sealer) is not None


def test_the_codes_url_is_the_public_one_whatever_the_host(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker
) -> None:
    w = _world(client, operator, make_token)
    public = client.app.state.settings.public_base  # type: ignore[attr-defined]
    made = _code(client, w, host="localhost:8000")
    assert made["url"] == f"{public}/g/{made['code']}"
    listed = client.get(
        f"/api/v1/members/{w['owner']}/live-codes", headers={**w["h"], "host": "localhost:8000"}
    )
    assert [c["url"] for c in listed.json()] == [f"{public}/g/{made['code']}"]


def _listed(client: TestClient, w: dict[str, Any]) -> list[int]:
    listed = client.get(f"/api/v1/members/{w['owner']}/live-codes", headers=w["h"])
    assert listed.status_code == 200, listed.text
    [code] = listed.json()
    return [g["group_id"] for g in code["groups"]]


def _on_page(client: TestClient) -> list[int]:
    page = client.get("/m/live-codes")
    assert page.status_code == 200
    return [int(g) for g in re.findall(r'data-testid="live-code-group" data-group-id="(\d+)"', page.text)]


def test_the_listings_show_only_the_groups_the_code_still_sends_to(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker
) -> None:
    w = _world(client, operator, make_token)
    w["groups"].append(create_group(client, operator, w["owner"], name="g3")["id"])
    _code(client, w)
    archived, moved, kept = w["groups"]
    member_sign_in(client, w["token"])
    assert _listed(client, w) == _on_page(client) == [archived, moved, kept]
    assert (
        client.patch(f"/api/v1/groups/{archived}", json={"status": "archived"}, headers=w["h"]).status_code
        == 200
    )
    handed = client.patch(f"/api/v1/groups/{moved}", json={"owner_member_id": w["other"]}, headers=operator)
    assert handed.status_code == 200, handed.text
    # As a scan passes them over, the API and the workspace page leave them out.
    assert _listed(client, w) == _on_page(client) == [kept]
    assert (
        client.patch(f"/api/v1/groups/{kept}", json={"status": "archived"}, headers=w["h"]).status_code == 200
    )
    assert _listed(client, w) == _on_page(client) == []
    listed = client.get(f"/api/v1/members/{w['owner']}/live-codes", headers=w["h"]).json()
    assert listed[0]["all_full"] is True  # no group takes visitors: a scan finds the full page
