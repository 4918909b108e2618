"""A claim made through the API is answered 201 while it may only be queued behind the gate; the caller
reads it back by its id (``GET /api/v1/coupons/{id}/claims/{claim}``): ``queued``, then ``stored``, or
the refusal the claim writer gave it since (409 ``limit_reached``, as the landing page shows it). The
shop's integration and operators read it; a member reads only the claims made through their links."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.links import claim_reads, claim_stream, claims
from neigou.links.stock_gate import StockGate
from tests.conftest import SECRET, TokenMaker, bearer
from tests.links.builders import LinkWorld, build, claim, make_link
from tests.links.conftest import app_behind_gate

PHONE = "13812345678"


@pytest.fixture
def gate(app: FastAPI) -> Iterator[StockGate]:
    """The app's claims taken in Redis and stored by the claim writer."""
    yield from app_behind_gate(app)


@pytest.fixture
def world(client: TestClient, operator: dict[str, str], make_token: TokenMaker) -> LinkWorld:
    return build(client, operator, make_token)


def _drain(factory: sessionmaker[Session], gate: StockGate) -> None:
    assert gate.stream is not None
    claim_stream.ClaimWriter(gate.client, gate.stream, factory).drain()


def _read(
    client: TestClient, headers: dict[str, str] | None, coupon_id: int, claim_id: int
) -> tuple[int, str]:
    """The read's status and what it says: the claim's status, or the problem's code."""
    answer = client.get(f"/api/v1/coupons/{coupon_id}/claims/{claim_id}", headers=headers or {})
    body = answer.json()
    return answer.status_code, body.get("status") if answer.status_code == 200 else body["code"]


def test_a_claim_queued_behind_the_gate_reads_queued_then_stored(
    client: TestClient,
    operator: dict[str, str],
    world: LinkWorld,
    factory: sessionmaker[Session],
    gate: StockGate,
) -> None:
    link = make_link(client, operator, member_id=world.member_id, coupon_id=world.hidden_id)
    made = claim(client, world.integration, world.hidden_id, customer_ref=PHONE, link_code=link["code"])
    assert made.status_code == 201, made.text
    claim_id = made.json()["id"]
    assert _read(client, world.integration, world.hidden_id, claim_id) == (200, "queued")
    _drain(factory, gate)
    read = client.get(f"/api/v1/coupons/{world.hidden_id}/claims/{claim_id}", headers=world.integration)
    assert read.status_code == 200
    assert read.json() == {**made.json(), "status": "stored"}
    assert read.json()["link_code"] == link["code"]
    assert _read(client, operator, world.hidden_id, claim_id) == (200, "stored")
    assert _read(client, world.member_token, world.hidden_id, claim_id) == (200, "stored")


def test_only_callers_of_the_claim_read_it(
    client: TestClient, operator: dict[str, str], world: LinkWorld, make_token: TokenMaker, gate: StockGate
) -> None:
    """Anonymous: 401; another member (queued or stored): 403; a member, a claim made without a link: 403."""
    link = make_link(client, operator, member_id=world.member_id, coupon_id=world.hidden_id)
    made = claim(client, world.integration, world.hidden_id, customer_ref=PHONE, link_code=link["code"])
    claim_id = made.json()["id"]
    other = bearer(make_token("member", world.other_member_id))
    assert _read(client, None, world.hidden_id, claim_id) == (401, "unauthenticated")
    assert _read(client, other, world.hidden_id, claim_id) == (403, "other_member")
    assert _read(client, world.member_token, world.hidden_id, claim_id) == (200, "queued")
    plain = claim(client, world.integration, world.public_id, customer_ref=PHONE).json()["id"]
    assert _read(client, world.member_token, world.public_id, plain) == (403, "other_member")
    assert _read(client, world.integration, world.public_id, plain) == (200, "queued")


def test_a_claim_the_writer_refused_reads_its_refusal(
    client: TestClient,
    operator: dict[str, str],
    world: LinkWorld,
    factory: sessionmaker[Session],
    gate: StockGate,
) -> None:
    link = make_link(client, operator, member_id=world.member_id, coupon_id=world.hidden_id)
    first = claim(client, world.integration, world.hidden_id, customer_ref=PHONE, link_code=link["code"])
    with factory() as session:
        terms = gate.terms(session, world.hidden_id)
    assert terms is not None
    gate.client.delete(gate.keys(terms, claims.Customer.from_ref(SECRET, PHONE).ref_hash).customer)
    second = claim(client, world.integration, world.hidden_id, customer_ref=PHONE, link_code=link["code"])
    assert second.status_code == 201  # the customer's counter lost: answered before the writer runs
    _drain(factory, gate)
    assert _read(client, world.integration, world.hidden_id, first.json()["id"]) == (200, "stored")
    refused = client.get(
        f"/api/v1/coupons/{world.hidden_id}/claims/{second.json()['id']}", headers=world.integration
    )
    assert refused.status_code == 409
    assert refused.json()["code"] == "limit_reached"
    # the refusal is kept with its coupon: under another coupon's id no claim has that id
    assert _read(client, world.integration, world.public_id, second.json()["id"]) == (404, "claim_not_found")


def test_unknown_claims_and_coupons_read_404(
    client: TestClient, operator: dict[str, str], world: LinkWorld, factory: sessionmaker[Session]
) -> None:
    """Without Redis the claim is stored by its request and reads ``stored``; a claim under another coupon's
    id, or an id no claim has, reads 404."""
    made = claim(client, world.integration, world.public_id, customer_ref=PHONE)
    assert made.status_code == 201
    claim_id = made.json()["id"]
    assert _read(client, world.integration, world.public_id, claim_id) == (200, "stored")
    assert _read(client, world.integration, world.hidden_id, claim_id) == (404, "claim_not_found")
    assert _read(client, world.integration, world.public_id, claim_id + 1000) == (404, "claim_not_found")
    assert _read(client, world.integration, 10**9, claim_id) == (404, "coupon_not_found")


def _refused_second(
    client: TestClient,
    operator: dict[str, str],
    world: LinkWorld,
    factory: sessionmaker[Session],
    gate: StockGate,
) -> int:
    """A second claim through the member's link, answered 201 past the lost customer counter, then refused."""
    link = make_link(client, operator, member_id=world.member_id, coupon_id=world.hidden_id)
    claim(client, world.integration, world.hidden_id, customer_ref=PHONE, link_code=link["code"])
    with factory() as session:
        terms = gate.terms(session, world.hidden_id)
    assert terms is not None
    gate.client.delete(gate.keys(terms, claims.Customer.from_ref(SECRET, PHONE).ref_hash).customer)
    second = claim(client, world.integration, world.hidden_id, customer_ref=PHONE, link_code=link["code"])
    assert second.status_code == 201
    _drain(factory, gate)
    return int(second.json()["id"])


def test_a_member_reads_a_refused_claim_as_no_claim(
    *,
    client: TestClient,
    operator: dict[str, str],
    world: LinkWorld,
    make_token: TokenMaker,
    factory: sessionmaker[Session],
    gate: StockGate,
) -> None:
    """A refusal keeps no member: any member (even the link's) reads 404, as an id no claim has; the shop's
    integration and operators read the refusal."""
    refused = _refused_second(client, operator, world, factory, gate)
    other = bearer(make_token("member", world.other_member_id))
    assert _read(client, other, world.hidden_id, refused) == (404, "claim_not_found")
    assert _read(client, world.member_token, world.hidden_id, refused) == (404, "claim_not_found")
    assert _read(client, world.integration, world.hidden_id, refused) == (409, "limit_reached")
    assert _read(client, operator, world.hidden_id, refused) == (409, "limit_reached")
    assert _read(client, None, world.hidden_id, refused) == (401, "unauthenticated")


def test_a_refusal_kept_without_its_coupon_reads_under_no_coupon(
    client: TestClient, operator: dict[str, str], world: LinkWorld, gate: StockGate
) -> None:
    """An older refusal kept without its coupon (``limit_reached`` alone) is no coupon's claim."""
    gate.client.set(claim_stream.refusal_key(gate.namespace, 424_242), "limit_reached")
    assert _read(client, world.integration, world.public_id, 424_242) == (404, "claim_not_found")
    assert _read(client, operator, world.hidden_id, 424_242) == (404, "claim_not_found")
    assert (
        claim_stream.refusal_of(gate.client, gate.namespace, 424_242) == "limit_reached"
    )  # the landing page


@pytest.mark.parametrize("claim_id", ["0", "-1", str(2**63), str(2**90)])
def test_claim_ids_past_the_bigint_are_refused_422(
    client: TestClient, world: LinkWorld, gate: StockGate, claim_id: str
) -> None:
    """An id no claim can have (Redis refuses its stream entry id, the database its bigint): 422, never a 500."""
    answer = client.get(f"/api/v1/coupons/{world.public_id}/claims/{claim_id}", headers=world.integration)
    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] == "validation_error"
    assert str(2**63) not in answer.text  # the refusal names the place, never the value typed


def test_a_stream_id_redis_refuses_reads_as_not_queued(gate: StockGate) -> None:
    """Redis refusing the entry id (``Invalid stream ID``) is read as no queued entry, never a 500."""
    assert claim_reads._queued(gate, 2**90) is None
