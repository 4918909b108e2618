"""What a signed-out browser is answered: a page goes to its sign-in (303 to ``/m/expired`` or
``/console/login``), but an image or an event stream a page fetches (``web.paths.FETCHED``) is a 401
problem+json with a stable code, which an ``<img>`` or an ``EventSource`` can tell apart from an image
(a redirect to a sign-in page is something neither can follow usefully)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth.models import Role
from tests.conftest import TokenMaker
from tests.sign_in import console_sign_in, member_sign_in
from tests.web.test_workspace_posters import _png, _posters

UNKNOWN_COOKIE = {"cookie": "neigou_session=not-a-session-of-ours"}


def _refused(response: Response, code: str) -> None:
    assert response.status_code == 401, response.text[:300]
    assert response.headers["content-type"] == "application/problem+json"
    assert "location" not in response.headers
    assert response.json()["code"] == code


def test_a_signed_out_member_image_is_a_401_problem_and_a_page_still_redirects(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker
) -> None:
    p = _posters(client, operator, make_token)
    images = [
        p.link_poster(p.link),
        p.invitation_poster(p.invitation),
        "/m/recruit/poster.png",
        "/m/live-codes/anycode/qr.png",
    ]
    client.cookies.clear()
    for path in images:
        _refused(client.get(path, follow_redirects=False), "unauthenticated")
        _refused(client.get(path, headers=UNKNOWN_COOKIE, follow_redirects=False), "invalid_token")
    # a poster link tapped (the image opened as the page itself) goes to the sign-in like a page
    tapped = client.get(images[0], headers={"sec-fetch-dest": "document"}, follow_redirects=False)
    assert (tapped.status_code, tapped.headers["location"]) == (303, "/m/expired")
    for path in ("/m/", "/m/links", "/m/recruit"):
        page = client.get(path, follow_redirects=False)
        assert (page.status_code, page.headers["location"]) == (303, "/m/expired"), path
        page = client.get(path, headers=UNKNOWN_COOKIE, follow_redirects=False)
        assert (page.status_code, page.headers["location"]) == (303, "/m/expired"), path
    member_sign_in(client, make_token(Role.MEMBER, p.member_id))
    for path in images[:3]:
        _png(client.get(path, follow_redirects=False))
    unknown = client.get("/m/live-codes/anycode/qr.png", follow_redirects=False)
    assert (unknown.status_code, unknown.json()["code"]) == (404, "live_code_not_found")


def test_a_signed_out_console_stream_is_a_401_problem_and_a_page_still_redirects(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    stream = "/console/events/1/board/stream"
    _refused(client.get(stream, follow_redirects=False), "unauthenticated")
    _refused(client.get(stream, headers=UNKNOWN_COOKIE, follow_redirects=False), "invalid_token")
    page = client.get("/console/events/1", follow_redirects=False)
    assert (page.status_code, page.headers["location"]) == (303, "/console/login?next=/console/events/1")
    console_sign_in(client, factory)
    # signed in, the stream's route is reached: an event of no organization of the operator's is unknown
    missing = client.get("/console/events/999999/board/stream", follow_redirects=False)
    assert (missing.status_code, missing.headers["content-type"]) == (404, "application/problem+json")
