"""A claim the gate answered ``taken`` (its customer's counter lost while the customer's first claim
waited in the stream) that the claim writer then refused for the per-customer limit: the landing page
read again shows the gate's own refusal of it (``limit_reached``), as does a retry, never ``taken``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit import dead_letters
from neigou.links import claim_stream, claims
from neigou.links.stock_gate import StockGate
from tests.conftest import SECRET, TokenMaker
from tests.links.builders import LinkWorld, build, make_link
from tests.links.conftest import app_behind_gate

PHONE = "13812345678"


@pytest.fixture
def gate(app: FastAPI) -> Iterator[StockGate]:
    """The app's claims taken in Redis and stored by the claim writer."""
    yield from app_behind_gate(app)


@pytest.fixture
def world(client: TestClient, operator: dict[str, str], make_token: TokenMaker) -> LinkWorld:
    return build(client, operator, make_token)


def _claim(client: TestClient, code: str) -> str:
    """Claim on the landing page from a new browser; where the answer sends the shopper."""
    client.cookies.clear()
    answer = client.post(f"/p/{code}/claim", data={"phone": PHONE}, follow_redirects=False)
    assert answer.status_code == 303
    return str(answer.headers["location"])


def _shown(client: TestClient, location: str) -> tuple[str, str] | None:
    """The refusal the landing page shows (its code and text), None when it shows the claim taken."""
    page = client.get(location).text
    found = re.search(r'data-testid="claim-error" data-code="([a-z_]+)">([^<]*)<', page)
    if found is None:
        assert 'data-testid="claimed"' in page
        return None
    return found.group(1), found.group(2)


def test_a_claim_the_writer_refused_for_the_limit_is_shown_refused_when_read_again(
    client: TestClient,
    operator: dict[str, str],
    world: LinkWorld,
    factory: sessionmaker[Session],
    gate: StockGate,
) -> None:
    link = make_link(client, operator, member_id=world.member_id, coupon_id=world.hidden_id)
    first = _claim(client, link["code"])
    assert parse_qs(urlsplit(first).query)["claimed"] == ["1"]
    with factory() as session:
        terms = gate.terms(session, world.hidden_id)
    assert terms is not None
    assert terms.per_customer_limit == 1
    customer = claims.Customer.from_ref(SECRET, PHONE).ref_hash
    gate.client.delete(gate.keys(terms, customer).customer)  # lost alone, the first claim still queued
    second = _claim(client, link["code"])
    claim_id = int(parse_qs(urlsplit(second).query)["claim"][0])
    assert _shown(client, second) is None  # answered before the writer runs: taken

    assert gate.stream is not None
    assert claim_stream.ClaimWriter(gate.client, gate.stream, factory, name="writer").drain() == 2
    letters = list(dead_letters.letters(gate.client, gate.stream))
    assert [(claim_stream.claim_id(letter.entry_id.decode()), letter.reason) for letter in letters] == [
        (claim_id, "per_customer_limit")
    ]
    later = _shown(client, second)  # the same answer read again: the writer's refusal
    retried = _claim(client, link["code"])  # claimed again: refused up front
    assert parse_qs(urlsplit(retried).query)["error"] == ["limit_reached"]
    up_front = _shown(client, retried)
    assert up_front is not None
    assert up_front[0] == "limit_reached"
    assert later == up_front
    assert _shown(client, first) is None  # the first claim, stored, stays taken


def test_another_coupons_refused_claim_id_is_not_shown_on_a_link(
    client: TestClient,
    operator: dict[str, str],
    world: LinkWorld,
    gate: StockGate,
) -> None:
    hidden = make_link(client, operator, member_id=world.member_id, coupon_id=world.hidden_id)
    public = make_link(client, operator, member_id=world.member_id, coupon_id=world.public_id)
    claim_id = 424242
    gate.client.set(
        claim_stream.refusal_key(gate.namespace, claim_id), f"limit_reached:{world.hidden_id}", ex=60
    )
    assert _shown(client, f"/p/{hidden['code']}?claimed=1&claim={claim_id}") is not None
    # A link of another coupon given the same claim id shows no refusal of it.
    assert _shown(client, f"/p/{public['code']}?claimed=1&claim={claim_id}") is None
