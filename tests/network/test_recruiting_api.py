"""The recruiting link and poster through the API: signed for the member, never the raw id."""

from __future__ import annotations

import io

from fastapi.testclient import TestClient
from PIL import Image

from neigou.auth.models import Role
from neigou.network.recruit_codes import inviter_of
from tests.conftest import SECRET, TokenMaker, bearer
from tests.factories import create_member, create_program


def test_member_gets_their_own_recruiting_link_and_poster(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker
) -> None:
    program = create_program(client, operator)
    owner = create_member(client, operator, program["id"], "群主·王小美")
    member = bearer(make_token(Role.MEMBER, owner["id"]))
    link = client.get(f"/api/v1/members/{owner['id']}/recruiting-link", headers=member)
    assert link.status_code == 200
    body = link.json()
    assert body["member_id"] == owner["id"]
    assert body["url"] == f"http://testserver/j/{body['code']}"
    assert body["poster_url"] == f"http://testserver/api/v1/members/{owner['id']}/recruiting-poster.png"
    assert inviter_of(SECRET, body["code"]) == owner["id"]
    assert body["code"] != str(owner["id"])
    assert len(body["code"]) >= 17
    # The same member always gets the same link (it is derived, not stored).
    again = client.get(f"/api/v1/members/{owner['id']}/recruiting-link", headers=operator).json()
    assert again["code"] == body["code"]
    poster = client.get(body["poster_url"].removeprefix("http://testserver"), headers=member)
    assert (poster.status_code, poster.headers["content-type"]) == (200, "image/png")
    assert Image.open(io.BytesIO(poster.content)).size == (750, 1200)
    missing = client.get("/api/v1/members/999999/recruiting-link", headers=operator)
    assert (missing.status_code, missing.json()["code"]) == (404, "member_not_found")
