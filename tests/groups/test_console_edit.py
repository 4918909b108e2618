"""The console's group form: rename, re-identify or archive a group (audited); errors beside their
fields and nothing written; anonymous callers and members refused."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth.models import Role
from neigou.kit.clock import utcnow
from neigou.kit.db import transaction
from neigou.programs.models import Member
from tests.conftest import TokenMaker, row_counts
from tests.factories import create_member, create_program
from tests.groups.builders import create_group
from tests.sign_in import console_sign_in, member_sign_in


def test_edit_a_group_from_the_console(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], make_token: TokenMaker
) -> None:
    program = create_program(client, operator)
    owner = create_member(client, operator, program["id"], name="王小美")
    group = create_group(client, operator, owner["id"], name="内购1群")
    create_group(client, operator, owner["id"], name="内购2群")
    path = f"/console/groups/{group['id']}/edit"
    assert client.get(path, follow_redirects=False).status_code in {303, 401}
    member_sign_in(client, make_token(Role.MEMBER, owner["id"]))
    assert client.get(path).status_code == 403
    console_sign_in(client, factory)
    form = client.get(path)
    assert form.status_code == 200
    assert 'value="内购1群"' in form.text
    assert "王小美" in form.text
    before = row_counts(factory)
    empty = client.post(path, data={"name": "  ", "status": "active"})
    assert empty.status_code == 422
    assert 'data-testid="error-name"' in empty.text
    marked = client.post(path, data={"name": "内购1群", "external_id": "wx\u200b1", "status": "active"})
    assert marked.status_code == 422
    assert 'data-testid="error-external_id"' in marked.text
    assert "外部 ID 不能含有不可见字符" in marked.text
    taken = client.post(path, data={"name": "内购2群", "status": "active"})
    assert taken.status_code == 409
    assert 'data-testid="form-errors"' in taken.text
    assert 'value="内购2群"' in taken.text  # what was typed stays in the form
    assert row_counts(factory) == before, "a refused form writes nothing"
    saved = client.post(
        path, data={"name": "内购一群", "external_id": "wx-123", "status": "archived"}, follow_redirects=False
    )
    assert saved.status_code == 303
    stored = client.get(f"/api/v1/groups/{group['id']}", headers=operator).json()
    assert (stored["name"], stored["external_id"], stored["status"]) == ("内购一群", "wx-123", "archived")
    audit = client.get(f"/api/v1/audit-log?entity=group&entity_id={group['id']}", headers=operator).json()
    assert audit[0]["after"]["name"] == "内购一群"
    assert client.get("/console/groups/999999/edit").status_code == 404


def test_hand_a_group_over_from_the_console(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    program = create_program(client, operator)
    owner = create_member(client, operator, program["id"], name="王小美")
    heir = create_member(client, operator, program["id"], name="李大强")
    stranger = create_member(
        client, operator, create_program(client, operator, code="other")["id"], name="外人"
    )
    group = create_group(client, operator, owner["id"], name="内购1群")
    path = f"/console/groups/{group['id']}/edit"
    console_sign_in(client, factory)
    form = client.get(path)
    assert f'value="{owner["id"]}"' in form.text
    listed = f'<option value="{heir["id"]}" data-testid="owner-option">李大强'
    assert listed in form.text  # the picker lists the program's members
    before = row_counts(factory)
    typed = {"name": "内购1群", "status": "active"}
    for value, code in (("小美", "validation_error"), (str(stranger["id"]), "owner_not_in_program")):
        refused = client.post(path, data={**typed, "owner_member_id": value})
        assert refused.status_code == 422, value
        assert f'data-testid="error-owner_member_id" data-code="{code}"' in refused.text
        assert f'value="{value}"' in refused.text
    assert row_counts(factory) == before, "a refused form writes nothing"
    saved = client.post(path, data={**typed, "owner_member_id": f"#{heir['id']}"}, follow_redirects=False)
    assert saved.status_code == 303
    assert (
        client.get(f"/api/v1/groups/{group['id']}", headers=operator).json()["owner_member_id"] == heir["id"]
    )
    audit = client.get(f"/api/v1/audit-log?entity=group&entity_id={group['id']}", headers=operator).json()
    assert audit[0]["action"] == "group.transfer"


def test_the_owner_picker_finds_any_member_of_a_large_program(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], make_token: TokenMaker
) -> None:
    program = create_program(client, operator)
    owner = create_member(client, operator, program["id"], name="王小美")
    with transaction(factory) as session:  # far past the list the form shows before anything is typed
        session.add_all(
            Member(program_id=program["id"], name=f"成员{n:03d}", joined_at=utcnow()) for n in range(260)
        )
        session.add(Member(program_id=program["id"], name="林_小满%", joined_at=utcnow()))
    stranger = create_member(
        client, operator, create_program(client, operator, code="other")["id"], name="林小满的邻居"
    )
    group = create_group(client, operator, owner["id"], name="内购1群")
    options = f"/console/groups/{group['id']}/owner-options"
    assert client.get(options, follow_redirects=False).status_code == 303  # to the sign-in page
    member_sign_in(client, make_token(Role.MEMBER, owner["id"]))
    assert client.get(options, params={"owner_member_id": "林"}).status_code == 403
    console_sign_in(client, factory)
    form = client.get(f"/console/groups/{group['id']}/edit").text
    assert "林_小满%" not in form  # beyond the first members listed
    assert f'hx-get="{options}"' in form

    def found(typed: str) -> list[str]:
        answer = client.get(options, params={"owner_member_id": typed})
        assert answer.status_code == 200, answer.text
        return re.findall(r'data-testid="owner-option">([^<]+?) · #\d+', answer.text)

    assert found("小满") == ["林_小满%"]  # by part of the name; another program's member is not offered
    assert found("_小满%") == ["林_小满%"]  # LIKE wildcards are the characters themselves
    assert found("成员25") == [f"成员{n}" for n in range(250, 260)]
    assert len(found("成员")) == 20  # a few at a time
    assert found(f"#{owner['id']}")[0] == "王小美"  # by id, first (names holding the digits follow)
    assert "林小满的邻居" not in found(str(stranger["id"]))
    assert found("没有这个人") == []
    assert client.get("/console/groups/999999/owner-options").status_code == 404
    assert client.get(options, params={"owner_member_id": "x" * 121}).status_code == 422
