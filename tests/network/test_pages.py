"""The workspace's team, recruiting and leaderboard pages, and the console's leaderboards."""

from __future__ import annotations

import io

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth.models import Role
from neigou.network.recruit_codes import inviter_of
from neigou.web import workspace_network
from tests.conftest import SECRET, TokenMaker
from tests.network.builders import NetWorld, build_network
from tests.sign_in import console_sign_in, member_sign_in

pytestmark = pytest.mark.world_per_module


@pytest.fixture(scope="module")
def net(
    module_client: TestClient, module_operator: dict[str, str], module_factory: sessionmaker[Session]
) -> NetWorld:
    return build_network(module_client, module_operator, module_factory)


def test_team_page(client: TestClient, net: NetWorld, make_token: TokenMaker) -> None:
    member_sign_in(client, make_token(Role.MEMBER, net.base.owner))
    me = client.get("/m/me")
    for target in ("/m/team", "/m/recruit", "/m/leaderboard"):
        assert f'href="{target}"' in me.text
    page = client.get("/m/team?period=2026-03")
    assert page.status_code == 200
    assert page.text.count('data-testid="team-member"') == 4
    assert 'data-testid="own-orders">1<' in page.text
    assert 'data-testid="own-gmv">¥50.00<' in page.text
    assert '<strong data-testid="team-member-orders">3</strong>' in page.text
    assert "¥320.00" in page.text
    assert "上级：mentor" in page.text
    english = client.get("/m/team?period=2026-03&lang=en")
    assert "Direct recruits" in english.text
    fallback = client.get("/m/team?period=garbage")
    assert fallback.status_code == 200
    assert 'data-code="invalid_period"' in fallback.text
    assert 'data-testid="team-pager"' not in page.text


def test_team_page_pages_through_a_large_team(
    client: TestClient, net: NetWorld, make_token: TokenMaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(workspace_network, "TEAM_PAGE", 2)
    member_sign_in(client, make_token(Role.MEMBER, net.base.mentor))
    first = client.get("/m/team?period=2026-03")
    assert first.text.count('data-testid="team-member"') == 2
    assert 'data-testid="team-count">5<' in first.text  # the whole team, not the page
    assert "页 1 / 3" in first.text
    assert 'href="?period=2026-03&amp;page=2"' in first.text
    last = client.get("/m/team?period=2026-03&page=3")
    assert last.text.count('data-testid="team-member"') == 1
    assert "页 3 / 3" in last.text
    assert 'data-testid="team-next"' not in last.text
    # Level 1's members are all on the first page: on the last it says so instead of "no one yet".
    assert "这一层的成员在其他页" in last.text
    assert client.get("/m/team?page=0").status_code == 422


def test_recruit_page_and_poster(client: TestClient, net: NetWorld, make_token: TokenMaker) -> None:
    member_sign_in(client, make_token(Role.MEMBER, net.base.seller))
    page = client.get("/m/recruit")
    assert page.status_code == 200
    url = page.text.split('data-testid="recruit-url"')[0].rsplit('value="', 1)[1].split('"')[0]
    assert url.startswith("http://testserver/j/")
    assert inviter_of(SECRET, url.rsplit("/", 1)[1]) == net.base.seller
    poster = client.get("/m/recruit/poster.png")
    assert poster.status_code == 200
    assert poster.headers["content-type"] == "image/png"
    assert poster.headers["content-disposition"].startswith("attachment")
    assert Image.open(io.BytesIO(poster.content)).size == (750, 1200)
    assert client.get(url.removeprefix("http://testserver")).status_code == 200


def test_leaderboard_page_shows_own_rank(client: TestClient, net: NetWorld, make_token: TokenMaker) -> None:
    member_sign_in(client, make_token(Role.MEMBER, net.base.owner))
    page = client.get("/m/leaderboard?period=2026-03&metric=gmv_fen")
    assert page.status_code == 200
    assert 'data-rank="2"' in page.text
    assert "第 2 名 · ¥50.00" in page.text
    assert "s****r" in page.text
    assert ">seller<" not in page.text
    recruits = client.get("/m/leaderboard?period=2026-03&metric=recruits&lang=en")
    assert "No. 2 · 1" in recruits.text
    assert client.get("/m/leaderboard?metric=nonsense&period=nope").status_code == 200


def test_console_leaderboard(client: TestClient, net: NetWorld, factory: sessionmaker[Session]) -> None:
    path = f"/console/programs/{net.program_id}/leaderboard"
    assert client.get(path, follow_redirects=False).status_code == 303
    console_sign_in(client, factory)
    program = client.get(f"/console/programs/{net.program_id}")
    assert f'href="{path}"' in program.text
    page = client.get(f"{path}?period=2026-03")
    assert page.status_code == 200
    assert page.text.count('data-testid="console-board"') == 3
    assert page.text.count('data-testid="console-board-row"') == 2 + 2 + 3
    assert "¥320.00" in page.text
    assert ">seller <small" in page.text  # operators see names unmasked
    bad = client.get(f"{path}?period=2026-99")
    assert (bad.status_code, 'data-testid="period-error"' in bad.text) == (200, True)


def test_workspace_pages_need_a_session(client: TestClient) -> None:
    for path in ("/m/team", "/m/recruit", "/m/leaderboard"):
        response = client.get(path, follow_redirects=False)
        assert (response.status_code, response.headers["location"]) == (303, "/m/expired")
    poster = client.get("/m/recruit/poster.png", follow_redirects=False)  # an image: no page to go to
    assert (poster.status_code, poster.headers["content-type"]) == (401, "application/problem+json")
