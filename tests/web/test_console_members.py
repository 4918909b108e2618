"""Members from the console: added with a tier and inviter, their card with the invite link, and the
operator's corrections of tier and inviter."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth.models import Role
from tests.conftest import TokenMaker, row_counts
from tests.factories import create_member, create_program
from tests.sign_in import console_sign_in, member_sign_in


def test_member_pages_need_an_operator(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker
) -> None:
    program = create_program(client, operator, code="fx", name="芬香")
    member = create_member(client, operator, program["id"], name="王芳")
    for url in (f"/console/programs/{program['id']}/members/new", f"/console/members/{member['id']}"):
        assert client.get(url, follow_redirects=False).status_code == 303
    member_sign_in(client, make_token(Role.MEMBER, member["id"]))
    assert client.get(f"/console/members/{member['id']}", follow_redirects=False).status_code == 403
    refused = client.post(f"/console/programs/{program['id']}/members", data={"name": "x"})
    assert refused.status_code == 403


def test_operator_adds_a_member_under_an_inviter_and_corrects_them(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    program = create_program(client, operator, code="fx", name="芬香")
    mentor = create_member(client, operator, program["id"], name="王丽丽", tier="mentor")
    console_sign_in(client, factory)
    made = client.post(
        f"/console/programs/{program['id']}/members",
        data={"name": " 李小美 ", "tier": "", "inviter_id": str(mentor["id"])},
        follow_redirects=False,
    )
    assert made.status_code == 303
    card_url = made.headers["location"].split("?")[0]
    card = client.get(made.headers["location"]).text
    assert "会员已添加" in card
    assert 'data-testid="member-title">李小美<' in card
    assert "王丽丽</a>" in card
    assert 'data-testid="member-tier-name">超级会员<' in card  # the first tier
    invite = re.search(r'value="([^"]+)" data-testid="invite-url"', card)
    assert invite is not None
    assert client.get(invite.group(1).split("testserver", 1)[-1]).status_code == 200  # the join page
    new_id = int(card_url.rsplit("/", 1)[1])
    api = client.get(f"/api/v1/members/{new_id}", headers=operator).json()
    assert (api["name"], api["inviter_id"], api["tier"]) == ("李小美", mentor["id"], "super_member")
    tiered = client.post(
        f"{card_url}/tier", data={"tier": "mentor", "reason": "线下考核通过"}, follow_redirects=False
    )
    assert tiered.headers["location"] == f"{card_url}?done=tier"
    assert client.get(f"/api/v1/members/{new_id}", headers=operator).json()["tier"] == "mentor"
    freed = client.post(f"{card_url}/inviter", data={"inviter_id": ""}, follow_redirects=False)
    assert freed.headers["location"] == f"{card_url}?done=inviter"
    assert client.get(f"/api/v1/members/{new_id}", headers=operator).json()["inviter_id"] is None


def test_refused_member_forms_say_why_and_write_nothing(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    program = create_program(client, operator, code="fx", name="芬香")
    other = create_program(client, operator, code="br", name="品牌")
    stranger = create_member(client, operator, other["id"], name="外人")
    mine = create_member(client, operator, program["id"], name="王芳")
    console_sign_in(client, factory)
    url = f"/console/programs/{program['id']}/members"
    before = row_counts(factory)
    blank = client.post(url, data={"name": "  "})
    assert blank.status_code == 422
    assert 'data-testid="error-name"' in blank.text
    letters = client.post(url, data={"name": "李", "inviter_id": "abc"})
    assert letters.status_code == 422
    assert 'data-testid="error-inviter_id"' in letters.text
    foreign = client.post(url, data={"name": "李", "inviter_id": str(stranger["id"])})
    assert foreign.status_code == 422
    assert 'data-code="inviter_not_in_program"' in foreign.text
    unknown_tier = client.post(url, data={"name": "李", "tier": "king"})
    assert unknown_tier.status_code == 422
    assert 'data-code="unknown_tier"' in unknown_tier.text
    self_invite = client.post(f"/console/members/{mine['id']}/inviter", data={"inviter_id": str(mine["id"])})
    assert self_invite.status_code == 422
    assert 'data-code="self_invite"' in self_invite.text
    # the refusal stands beside the field it is about, with what was typed
    assert 'data-testid="error-inviter_id" data-code="self_invite"' in self_invite.text
    assert f'value="{mine["id"]}" data-testid="inviter-input"' in self_invite.text
    assert 'data-testid="error-tier" data-code="unknown_tier"' in unknown_tier.text
    assert row_counts(factory) == before
    assert client.get("/console/members/999999").status_code == 404
