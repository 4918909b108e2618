"""The share-link redirect reads a query's keys as the framework does: a percent-encoded (signed)
``customer_ref`` attributes the click like a plain one, on a cached code as on an uncached one; one longer
than any customer reference is ignored, and the shopper still lands on the page."""

from __future__ import annotations

from urllib.parse import parse_qs

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.clock import utcnow
from neigou.kit.ids import customer_ref_hash
from neigou.kit.phones import MAX_INPUT
from neigou.links.click_signing import signed_click_query
from neigou.links.useragent import UaClass
from neigou.web import landing
from tests.conftest import TokenMaker
from tests.links.builders import LinkWorld, build, follow, make_link, recorded, shop_secret, signed_path

OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"


@pytest.fixture
def world(client: TestClient, operator: dict[str, str], make_token: TokenMaker) -> LinkWorld:
    return build(client, operator, make_token)


@pytest.mark.parametrize(
    "query",
    [
        f"customer_ref={OPENID}",
        f"customer%5Fref={OPENID}",
        f"customer%5fref={OPENID}",
        f"%63ustomer_ref={OPENID}",
        f"from=singlemessage&customer%5Fref={OPENID}&isappinstalled=0",
    ],
)
def test_a_percent_encoded_customer_ref_attributes_the_click_like_a_plain_one(
    *,
    client: TestClient,
    app: FastAPI,
    operator: dict[str, str],
    world: LinkWorld,
    factory: sessionmaker[Session],
    query: str,
) -> None:
    link = make_link(client, operator, member_id=world.member_id, group_id=world.group_id)
    secret = shop_secret(client, operator, world.program_id)
    client.get(f"/l/{link['code']}", follow_redirects=False)  # the code is cached: the fast path may answer
    follow(client, f"/l/{link['code']}?{query}&{_signature(secret, link['code'], OPENID)}")
    expected = customer_ref_hash(app.state.settings.secret_key, OPENID)
    assert recorded(app, factory)[:2] == (
        [None, expected],
        [(expected, world.member_id, world.group_id, "click")],
    )


def test_a_query_without_an_escape_or_a_customer_ref_stays_on_the_fast_path(
    client: TestClient,
    operator: dict[str, str],
    world: LinkWorld,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Plain shared links (WeChat's ``?from=…``) are not handed on to the full route; an escaped key is."""
    link = make_link(client, operator, member_id=world.member_id)
    client.get(f"/l/{link['code']}", follow_redirects=False)  # the code is cached
    full_route: list[str] = []

    def classify(agent: str) -> UaClass:  # what the full route calls, and the fast path does not
        full_route.append(agent)
        return UaClass.BOT

    monkeypatch.setattr(landing, "classify", classify)
    shared = f"/l/{link['code']}?from=singlemessage&isappinstalled=0"
    assert client.get(shared, follow_redirects=False).status_code == 302
    assert client.get(f"/l/{link['code']}", follow_redirects=False).status_code == 302
    assert full_route == []
    assert client.get(f"{shared}&customer%5Fref={OPENID}", follow_redirects=False).status_code == 302
    assert client.get(f"{shared}&lang=zh%2DCN", follow_redirects=False).status_code == 302
    assert len(full_route) == 2


def _signature(secret: str, code: str, ref: str) -> str:
    """The ``ts`` and ``sig`` parameters signing ``ref`` on link ``code`` now."""
    signed = parse_qs(signed_click_query(secret, code=code, customer_ref=ref, at=utcnow()))
    return f"ts={signed['ts'][0]}&sig={signed['sig'][0]}"


def test_an_overlong_customer_ref_is_ignored_and_the_link_still_redirects(
    client: TestClient,
    app: FastAPI,
    operator: dict[str, str],
    world: LinkWorld,
    factory: sessionmaker[Session],
) -> None:
    """A reference longer than every other input takes (``MAX_INPUT``) attributes nothing: the shopper
    still lands on the page, the click is kept without a customer and no touch is made of it."""
    link = make_link(client, operator, member_id=world.member_id)
    overlong = "1" * MAX_INPUT + "3"
    queries = (
        "customer_ref={}",
        "customer%5Fref={}",
        "from=singlemessage&customer_ref={}",
        "customer_ref=+{}+",
    )
    for query in queries:
        follow(client, f"/l/{link['code']}?" + query.format(overlong))
    assert recorded(app, factory)[:2] == ([None] * len(queries), [])
    longest = "o" * MAX_INPUT  # the longest reference the API takes still makes its touch
    secret = shop_secret(client, operator, world.program_id)
    follow(client, signed_path(secret, link["code"], longest))
    expected = customer_ref_hash(app.state.settings.secret_key, longest)
    assert recorded(app, factory)[:2] == (
        [None] * len(queries) + [expected],
        [(expected, world.member_id, None, "click")],
    )


@pytest.mark.parametrize("blank", ["%E2%80%8B", "%EF%BB%BF", "+%E2%80%8E+", "%E3%80%80"])
def test_a_customer_ref_of_invisible_marks_only_attributes_nothing(
    *,
    client: TestClient,
    app: FastAPI,
    operator: dict[str, str],
    world: LinkWorld,
    factory: sessionmaker[Session],
    blank: str,
) -> None:
    """A zero-width space, a byte-order mark or a direction mark alone names no one: every such click
    would otherwise go to one made-up customer (the hash of the empty reference)."""
    link = make_link(client, operator, member_id=world.member_id)
    follow(client, f"/l/{link['code']}?customer_ref={blank}")
    assert recorded(app, factory)[:2] == ([None], [])
