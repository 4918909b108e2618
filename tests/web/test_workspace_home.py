"""The workspace home (today's earnings and tasks), the "me" page, and one bottom navigation everywhere."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth.models import Role
from neigou.kit.clock import utcnow
from tests.conftest import TokenMaker
from tests.orders.builders import SKU, build, order_body, post_order
from tests.sign_in import member_sign_in

WORKSPACE_PAGES = (
    "/m/",
    "/m/links",
    "/m/groups",
    "/m/earnings",
    "/m/me",
    "/m/tier",
    "/m/team",
    "/m/recruit",
    "/m/leaderboard",
)


def test_home_shows_today_month_and_tasks_and_every_page_has_the_bottom_navigation(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], make_token: TokenMaker
) -> None:
    w = build(client, operator, factory)
    post_order(
        client, operator, order_body(w, "OLD-1", (SKU, 1, 30_000))
    )  # March: neither today nor this month
    post_order(client, operator, order_body(w, "NOW-1", (SKU, 2, 50_000), at=utcnow()))
    member_sign_in(client, make_token(Role.MEMBER, w.seller))
    home = client.get("/m/").text
    # the seller's 20% share of a 20% pool on ¥500.00 is ¥20.00; March's order counts for neither figure
    assert 'data-testid="earned-today">¥20.00<' in home
    assert 'data-testid="earned-month">¥20.00<' in home
    assert 'href="/m/links" data-testid="links-link"' in home
    assert 'data-testid="no-tasks"' in home  # the seller has a link and no groups to count
    english = client.get("/m/?lang=en").text
    assert "Earned today" in english
    # the bottom navigation and the brand keep a language asked in the query
    assert 'href="/m/earnings?lang=en" data-testid="bn-earnings"' in english
    assert 'class="brand" href="/m/?lang=en"' in english
    for path in WORKSPACE_PAGES:
        page = client.get(path)
        assert page.status_code == 200, path
        nav = page.text.split('data-testid="bottom-nav"', 1)[1].split("</nav>", 1)[0]
        assert [*re.findall(r'href="([^"]+)"', nav)] == [
            "/m/",
            "/m/links",
            "/m/groups",
            "/m/earnings",
            "/m/me",
        ], path
        assert nav.count('class="current"') == 1, path
    me = client.get("/m/me").text
    for target in ("/m/tier", "/m/team", "/m/recruit", "/m/leaderboard"):
        assert f'href="{target}"' in me
    assert 'data-testid="team-size">0<' in me
    member_sign_in(client, make_token(Role.MEMBER, w.mentor))
    mentor_home = client.get("/m/").text
    assert mentor_home.count('data-testid="task"') == 1, "a member with no share link yet is told to make one"
    assert "制作第一条分享链接" in mentor_home


def test_home_and_me_need_a_member_session(client: TestClient) -> None:
    for path in ("/m/", "/m/me"):
        assert client.get(path, follow_redirects=False).headers["location"] == "/m/expired"


def test_every_page_marks_the_navigation_item_it_belongs_to(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], make_token: TokenMaker
) -> None:
    w = build(client, operator, factory)
    member_sign_in(client, make_token(Role.MEMBER, w.seller))
    belongs = {
        "/m/": "/m/",
        "/m/feed": "/m/",
        "/m/posts": "/m/",
        "/m/pushes": "/m/",  # no customer book: the owner's day
        "/m/events": "/m/",
        "/m/links": "/m/links",
        "/m/groups": "/m/groups",
        "/m/live-codes": "/m/groups",
        "/m/earnings": "/m/earnings",
        "/m/me": "/m/me",
        "/m/tier": "/m/me",
        "/m/team": "/m/me",
        "/m/analytics": "/m/me",
    }
    for path, item in belongs.items():
        page = client.get(path)
        assert page.status_code == 200, path
        nav = page.text.split('data-testid="bottom-nav"', 1)[1].split("</nav>", 1)[0]
        assert re.findall(r'href="([^"]+)"[^>]*class="current"', nav) == [item], path
