"""A chat group's platform id (``external_id``) has one form: NFKC, trimmed of white space and invisible
marks at its ends. A trailing space, full-width letters or a zero-width mark make no second group with the
same id, on create, on update and in a count file; an id of nothing visible or hiding a mark is refused."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.groups import count_files
from neigou.groups.models import Group, GroupPlatform, GroupStatus
from neigou.kit.db import transaction
from tests.conftest import TEST_ACTOR, row_counts
from tests.factories import create_member, create_program
from tests.groups.builders import create_group
from tests.sign_in import console_sign_in

ID = "wrOgAAA123"


@pytest.fixture
def world(client: TestClient, operator: dict[str, str]) -> dict[str, Any]:
    program = create_program(client, operator, code="ext-forms")
    a = create_member(client, operator, program["id"], "a")
    b = create_member(client, operator, program["id"], "b")
    return {"program": program["id"], "a": a["id"], "b": b["id"]}


def _post(client: TestClient, operator: dict[str, str], owner: int, name: str, ext: str) -> Any:
    body = {"owner_member_id": owner, "name": name, "platform": "wechat", "external_id": ext}
    return client.post("/api/v1/groups", json=body, headers=operator)


@pytest.mark.parametrize(
    "written", [f"{ID} ", f"\t{ID}", "ｗｒＯｇＡＡＡ１２３", f"\u200b{ID}", f"{ID}\ufeff"]
)
def test_another_form_of_a_taken_id_is_taken(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    world: dict[str, Any],
    written: str,
) -> None:
    first = _post(client, operator, world["a"], "g1", ID)
    assert (first.status_code, first.json()["external_id"]) == (201, ID)
    before = row_counts(factory)
    again = _post(client, operator, world["b"], "g2", written)
    assert (again.status_code, again.json()["code"]) == (409, "external_id_taken")
    assert row_counts(factory) == before
    other = create_group(client, operator, world["b"], name="g3")
    moved = client.patch(f"/api/v1/groups/{other['id']}", json={"external_id": written}, headers=operator)
    assert (moved.status_code, moved.json()["code"]) == (409, "external_id_taken")


def test_an_id_is_stored_in_its_one_form(
    client: TestClient, operator: dict[str, str], world: dict[str, Any]
) -> None:
    made = _post(client, operator, world["a"], "g1", " ｗｒＯｇＢＢＢ\u200b ")
    assert (made.status_code, made.json()["external_id"]) == (201, "wrOgBBB")
    changed = client.patch(
        f"/api/v1/groups/{made.json()['id']}", json={"external_id": "ｗｒ１"}, headers=operator
    )
    assert (changed.status_code, changed.json()["external_id"]) == (200, "wr1")


@pytest.mark.parametrize(
    ("written", "code"),
    [
        (" \u200b ", "blank_external_id"),
        ("\u3000", "blank_external_id"),
        ("wrOg\u200bAAA", "invalid_external_id"),
        ("wrOgAAA\u00ad", "invalid_external_id"),
        ("wrOg\ufe0fX", "invalid_external_id"),
    ],
)
def test_an_id_of_nothing_visible_or_hiding_a_mark_is_refused(
    *,
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    world: dict[str, Any],
    written: str,
    code: str,
) -> None:
    before = row_counts(factory)
    refused = _post(client, operator, world["a"], "g1", written)
    assert (refused.status_code, refused.json()["code"]) == (422, code)
    assert "wrOg" not in refused.json()["detail"]
    assert row_counts(factory) == before


def test_an_id_stored_before_with_spaces_is_still_found(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], world: dict[str, Any]
) -> None:
    at = datetime(2026, 3, 1, tzinfo=UTC)
    with transaction(factory) as session:
        session.add(
            Group(
                program_id=world["program"],
                owner_member_id=world["a"],
                name="legacy",
                platform=GroupPlatform.WECHAT,
                external_id=f" {ID} ",
                status=GroupStatus.ACTIVE,
                created_at=at,
                updated_at=at,
            )
        )
    again = _post(client, operator, world["b"], "g2", ID)
    assert (again.status_code, again.json()["code"]) == (409, "external_id_taken")


def test_a_count_file_finds_a_group_by_any_form_of_its_id(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], world: dict[str, Any]
) -> None:
    made = _post(client, operator, world["a"], "g1", ID)
    at = datetime(2026, 3, 2, tzinfo=UTC)
    with transaction(factory) as session:  # and one stored before ids had one form
        session.add(
            Group(
                program_id=world["program"],
                owner_member_id=world["a"],
                name="legacy",
                platform=GroupPlatform.WECOM,
                external_id="ｗｘ-ＬＥＧ ",
                status=GroupStatus.ACTIVE,
                created_at=at,
                updated_at=at,
            )
        )
    text = (
        "owner_member_id,group,member_count,observed_at\n"
        f"{world['a']},ｗｒＯｇＡＡＡ１２３ ,300,2026-03-01T21:00:00+08:00\n"
        f"{world['a']},wx-LEG,200,2026-03-03T21:00:00+08:00\n"
    )
    with transaction(factory) as session:
        result = count_files.import_counts(
            session, content=text, actor=TEST_ACTOR, program_id=world["program"]
        )
    assert result.imported == 2
    assert made.status_code == 201


LEGACY = "wrOg\u200bLEG"  # stored before the rule, an invisible mark inside: no one form fixes it


def _legacy_group(factory: sessionmaker[Session], world: dict[str, Any]) -> int:
    at = datetime(2026, 3, 1, tzinfo=UTC)
    with transaction(factory) as session:
        group = Group(
            program_id=world["program"],
            owner_member_id=world["a"],
            name="legacy",
            platform=GroupPlatform.WECHAT,
            external_id=LEGACY,
            status=GroupStatus.ACTIVE,
            created_at=at,
            updated_at=at,
        )
        session.add(group)
        session.flush()
        return group.id


def test_a_stored_id_the_rule_refuses_sent_back_unchanged_does_not_block_an_edit(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], world: dict[str, Any]
) -> None:
    group_id = _legacy_group(factory, world)
    path = f"/api/v1/groups/{group_id}"
    renamed = client.patch(path, json={"name": "renamed", "external_id": LEGACY}, headers=operator)
    assert (renamed.status_code, renamed.json()["external_id"]) == (200, LEGACY)
    changed = client.patch(path, json={"external_id": "wrOg\u200bNEW"}, headers=operator)
    assert (changed.status_code, changed.json()["code"]) == (422, "invalid_external_id")
    assert "wrOg" not in changed.json()["detail"]
    console_sign_in(client, factory)
    edit = f"/console/groups/{group_id}/edit"
    assert LEGACY in client.get(edit).text  # the form sends the stored id back as it is
    archived = client.post(
        edit, data={"name": "renamed", "external_id": LEGACY, "status": "archived"}, follow_redirects=False
    )
    assert archived.status_code == 303
    stored = client.get(path, headers=operator).json()
    assert (stored["name"], stored["external_id"], stored["status"]) == ("renamed", LEGACY, "archived")
    other = client.post(edit, data={"name": "renamed", "external_id": "wx\u200b2", "status": "active"})
    assert other.status_code == 422
    assert 'data-testid="error-external_id"' in other.text
