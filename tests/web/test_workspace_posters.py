"""The posters a member downloads from the workspace (a share link's, an invitation code's, the recruiting
one) are images a page fetches (``web.paths.FETCHED``): who may have each, and an unknown or another
member's poster refused like every such image, 404 problem+json with a code in the reader's language,
never a redirect to a page."""

from __future__ import annotations

import io
from dataclasses import dataclass

from fastapi.testclient import TestClient
from httpx2 import Response
from PIL import Image
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth.models import Role
from tests.conftest import TokenMaker
from tests.events.builders import add_employees, create_event, invite
from tests.links.builders import build, make_link
from tests.sign_in import console_sign_in, member_sign_in

ENGLISH = {"accept-language": "en"}


def _png(response: Response) -> None:
    assert (response.status_code, response.headers["content-type"]) == (200, "image/png"), response.text[:300]
    assert Image.open(io.BytesIO(response.content)).format == "PNG"


def _not_found(response: Response, code: str, detail: str) -> None:
    assert response.status_code == 404, response.text[:300]
    assert response.headers["content-type"] == "application/problem+json"
    assert "location" not in response.headers
    assert (response.json()["code"], response.json()["detail"]) == (code, detail)


@dataclass(frozen=True)
class Posters:
    """Two members of a program, each with a share link and an invitation code of an event."""

    member_id: int
    other_member_id: int
    link: str  # the member's
    invitation: str
    their_link: str  # the other member's
    their_invitation: str

    def link_poster(self, code: str) -> str:
        return f"/m/links/{code}/poster.png"

    def invitation_poster(self, code: str) -> str:
        return f"/m/events/invitations/{code}/poster.png"


def _posters(client: TestClient, operator: dict[str, str], make_token: TokenMaker) -> Posters:
    world = build(client, operator, make_token)
    event_id = create_event(client, operator, world.program_id, name="春季内购会", guests_per_employee=3)
    add_employees(
        client,
        operator,
        event_id,
        [
            {"employee_no": "E1", "name": "李四", "member_id": world.member_id},
            {"employee_no": "E2", "name": "王五", "member_id": world.other_member_id},
        ],
    )
    return Posters(
        member_id=world.member_id,
        other_member_id=world.other_member_id,
        link=make_link(client, operator, member_id=world.member_id)["code"],
        invitation=invite(client, operator, event_id, "E1", 1)[0],
        their_link=make_link(client, operator, member_id=world.other_member_id)["code"],
        their_invitation=invite(client, operator, event_id, "E2", 1)[0],
    )


def test_a_members_posters_are_theirs_alone(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, factory: sessionmaker[Session]
) -> None:
    p = _posters(client, operator, make_token)
    own = [p.link_poster(p.link), p.invitation_poster(p.invitation), "/m/recruit/poster.png"]
    # anonymous: 401 problem+json, an image is never redirected to the workspace's sign-in notice
    for path in own:
        anonymous = client.get(path, follow_redirects=False)
        assert (anonymous.status_code, anonymous.json()["code"]) == (401, "unauthenticated"), path
        assert "location" not in anonymous.headers
    # an operator of the console is no member
    console_sign_in(client, factory)
    for path in own:
        refused = client.get(path, follow_redirects=False)
        assert refused.status_code == 403, (path, refused.text[:300])
        assert refused.headers["content-type"] == "application/problem+json"
    client.cookies.clear()
    # another member: the member's posters are unknown to them, their own are theirs
    member_sign_in(client, make_token(Role.MEMBER, p.other_member_id))
    link, invitation = p.link_poster(p.link), p.invitation_poster(p.invitation)
    _not_found(client.get(link, follow_redirects=False), "link_not_found", "该分享链接不存在。")
    _not_found(
        client.get(invitation, follow_redirects=False),
        "invitation_not_found",
        "该邀请码不存在。",
    )
    _png(client.get(p.link_poster(p.their_link)))
    _png(client.get(p.invitation_poster(p.their_invitation)))
    client.cookies.clear()
    # the member: each of their posters
    member_sign_in(client, make_token(Role.MEMBER, p.member_id))
    for path in own:
        _png(client.get(path))


def test_an_unknown_poster_is_a_404_problem_in_the_readers_language(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker
) -> None:
    p = _posters(client, operator, make_token)
    member_sign_in(client, make_token(Role.MEMBER, p.member_id))
    _not_found(client.get("/m/links/nosuch99/poster.png"), "link_not_found", "该分享链接不存在。")
    _not_found(
        client.get("/m/links/nosuch99/poster.png", headers=ENGLISH),
        "link_not_found",
        "This share link does not exist.",
    )
    _not_found(
        client.get("/m/events/invitations/NOSUCH/poster.png"),
        "invitation_not_found",
        "该邀请码不存在。",
    )
    client.cookies.set("neigou_lang", "en")
    _not_found(
        client.get("/m/events/invitations/NOSUCH/poster.png"),
        "invitation_not_found",
        "This invitation code does not exist.",
    )
    _not_found(
        client.get(p.invitation_poster(p.their_invitation)),
        "invitation_not_found",
        "This invitation code does not exist.",
    )
