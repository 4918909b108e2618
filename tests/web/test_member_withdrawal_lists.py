"""A member's withdrawals are paged, never cut, on the console's ledger page of that member and on the
member's own earnings page: pages of a fixed size (the query cannot make one longer), the real total,
previous and next links that keep every other query parameter, page numbers it cannot read refused as a
page; and a member only ever sees their own withdrawals. Two rows a page keep the world small."""

from __future__ import annotations

import html
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth import service as auth
from neigou.auth.models import Role
from neigou.kit.db import transaction
from neigou.web import console_orders, workspace_earnings
from tests.conftest import TEST_ACTOR, TokenMaker, page_client
from tests.orders.builders import World, settled_world
from tests.sign_in import PASSWORD, console_sign_in, member_sign_in

BAD_PAGES = ("withdrawals_page=0", "withdrawals_page=x", "withdrawals_page=100001", "withdrawals_page=-1")
# What a reader might try to get a longer page with: none of it is read.
LONGER = "limit=500&size=500&per_page=500&page_size=500"


def _withdraw(client: TestClient, operator: dict[str, str], member_id: int, n: int, tag: str) -> list[int]:
    """``n`` withdrawals of about ¥1 requested for the member, oldest first."""
    made = []
    for i in range(n):
        asked = client.post(
            f"/api/v1/members/{member_id}/withdrawals",
            json={"amount_fen": 100 + i, "request_id": f"{tag}{i}"},
            headers=operator,
        )
        assert asked.status_code == 201, asked.text
        made.append(int(asked.json()["id"]))
    return made


def _world(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> tuple[World, list[int], list[int]]:
    """The seller with five withdrawals, the owner (their upline) with one."""
    w, _order = settled_world(client, operator, factory)
    return w, _withdraw(client, operator, w.seller, 5, "s"), _withdraw(client, operator, w.owner, 1, "o")


def _ids(page: str, testid: str) -> list[int]:
    return [int(i) for i in re.findall(rf'data-testid="{testid}" data-id="(\d+)"', page)]


def _link(page: str, testid: str) -> str | None:
    found = re.findall(rf'<a href="([^"]*)" data-testid="{testid}"', page)
    return html.unescape(found[-1]) if found else None


def _walk(client: TestClient, first: str, row: str, pager_of: str) -> list[int]:
    """Every row id of a list, following its next links from ``first``; each page's previous link shows
    the page before."""
    seen: list[int] = []
    url: str | None = first
    shown_before: list[int] | None = None
    while url is not None:
        page = client.get(url.split("#")[0])
        assert page.status_code == 200, url
        rows = _ids(page.text, row)
        assert 1 <= len(rows) <= 2, url
        seen += rows
        section = page.text.split(f'id="{pager_of}"', 1)[1].split("</section>", 1)[0]
        previous = _link(section, "pager-previous")
        if shown_before is None:
            assert previous is None, url
        else:
            assert previous is not None, url
            assert _ids(client.get(previous.split("#")[0]).text, row) == shown_before, url
        shown_before = rows
        url = _link(section, "pager-next")
    return seen


def test_the_console_pages_a_members_withdrawals_with_a_real_total(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(console_orders, "WITHDRAWALS_PER_PAGE", 2)
    w, seller, owner = _world(client, operator, factory)
    console_sign_in(client, factory)
    base = f"/console/members/{w.seller}/ledger"
    first = client.get(f"{base}?lang=en&page=1").text
    assert re.search(r'data-testid="withdrawals-total">5<', first)
    assert _ids(first, "member-withdrawal-row") == seller[::-1][:2]  # newest first
    section = first.split('id="withdrawals"', 1)[1].split("</section>", 1)[0]
    assert "Page 1 of 3 · 5 in all" in section
    # the next page keeps the language and the statement's page, and comes back to the list
    assert _link(section, "pager-next") == f"{base}?lang=en&page=1&withdrawals_page=2#withdrawals"
    assert _walk(client, f"{base}?lang=en&page=1", "member-withdrawal-row", "withdrawals") == seller[::-1]
    # the statement's pager is the statement's: it keeps the withdrawals' page
    later = client.get(f"{base}?withdrawals_page=2").text
    assert _ids(later, "member-withdrawal-row") == seller[::-1][2:4]
    assert not set(owner) & set(_ids(later, "member-withdrawal-row"))
    # the page size is the page's: nothing in the query makes one longer
    longer = client.get(f"{base}?{LONGER}&withdrawals_page=1").text
    assert len(_ids(longer, "member-withdrawal-row")) == 2
    past = client.get(f"{base}?withdrawals_page=9").text
    assert _ids(past, "member-withdrawal-row") == []
    assert re.search(r'data-testid="withdrawals-total">5<', past)
    for bad in BAD_PAGES:
        refused = client.get(f"{base}?{bad}")
        assert refused.status_code == 422, bad
        assert refused.headers["content-type"].startswith("text/html"), bad
        assert 'data-code="validation_error"' in refused.text, bad
    owners = client.get(f"/console/members/{w.owner}/ledger").text
    assert _ids(owners, "member-withdrawal-row") == owner


def test_a_member_pages_their_own_withdrawals_and_never_sees_anothers(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    make_token: TokenMaker,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(workspace_earnings, "WITHDRAWALS_PER_PAGE", 2, raising=False)
    w, seller, owner = _world(client, operator, factory)
    member_sign_in(client, make_token(Role.MEMBER, w.seller))
    first = client.get("/m/earnings?lang=en").text
    assert _ids(first, "my-withdrawal-row") == seller[::-1][:2]
    section = first.split('id="my-withdrawals"', 1)[1].split("</section>", 1)[0]
    assert "Page 1 of 3 · 5 in all" in section
    assert _link(section, "pager-next") == "/m/earnings?lang=en&withdrawals_page=2#my-withdrawals"
    assert _walk(client, "/m/earnings?lang=en&page=1", "my-withdrawal-row", "my-withdrawals") == seller[::-1]
    longer = client.get(f"/m/earnings?{LONGER}").text
    assert len(_ids(longer, "my-withdrawal-row")) == 2
    for bad in BAD_PAGES:
        refused = client.get(f"/m/earnings?{bad}")
        assert refused.status_code == 422, bad
        assert 'data-code="validation_error"' in refused.text, bad
    # the owner's page lists the owner's one withdrawal, whatever page the query names
    member_sign_in(client, make_token(Role.MEMBER, w.owner))
    own = client.get("/m/earnings").text
    assert _ids(own, "my-withdrawal-row") == owner
    assert client.get("/m/earnings?withdrawals_page=2").text.count('data-testid="my-withdrawal-row"') == 0


def test_the_pages_need_their_own_reader(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], make_token: TokenMaker
) -> None:
    w, _seller, _owner = _world(client, operator, factory)
    ledger = f"/console/members/{w.seller}/ledger?withdrawals_page=2&page=2"
    anonymous = page_client(client.app)  # type: ignore[arg-type]
    signed_out = anonymous.get(ledger, follow_redirects=False)
    assert signed_out.status_code == 303
    assert signed_out.headers["location"].startswith("/console/login")
    earnings = anonymous.get("/m/earnings?withdrawals_page=2", follow_redirects=False)
    assert earnings.status_code in (302, 303, 307)
    assert "/m/" in earnings.headers["location"]
    assert earnings.headers["location"] != "/m/earnings"
    # a member is no operator
    member = page_client(client.app)  # type: ignore[arg-type]
    member_sign_in(member, make_token(Role.MEMBER, w.seller))
    assert member.get(ledger, follow_redirects=False).status_code == 403
    # another organization's operator does not find the member
    organization = client.post(
        "/api/v1/organizations", json={"code": "rival", "name": "rival"}, headers=operator
    )
    assert organization.status_code == 201, organization.text
    with transaction(factory) as session:
        auth.create_user(
            session,
            username="rival-ops",
            password=PASSWORD,
            actor=TEST_ACTOR,
            organization_id=int(organization.json()["id"]),
        )
    rival = page_client(client.app)  # type: ignore[arg-type]
    login = {"username": "rival-ops", "password": PASSWORD}
    assert rival.post("/console/login", data=login, follow_redirects=False).status_code == 303
    assert rival.get(ledger, follow_redirects=False).status_code == 404
    # an operator of the member's program
    console_sign_in(client, factory)
    assert client.get(ledger).status_code == 200
