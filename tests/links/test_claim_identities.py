"""A claim names one customer one way, and its request_id one claim: an openid hiding an invisible mark
is refused (it would hash as another customer, past the per-customer limit), and a request_id sent again
through another owner's link is no retry of the first claim."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import TokenMaker, row_counts
from tests.links.builders import LinkWorld, build, claim, make_link

OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"


@pytest.fixture
def world(client: TestClient, operator: dict[str, str], make_token: TokenMaker) -> LinkWorld:
    return build(client, operator, make_token)


@pytest.mark.parametrize(
    "written",
    ["oUpF8uMuAJO\u200b_M2pxb1Q9zNjWeS6o", f"{OPENID}\u00ad", f"{OPENID}\u180e", f"{OPENID}\ufe0f"],
    ids=["zwsp-inside", "soft-hyphen-end", "mongolian-vs-end", "variation-selector-end"],
)
def test_an_openid_hiding_an_invisible_mark_is_refused_not_another_customer(
    client: TestClient,
    operator: dict[str, str],
    world: LinkWorld,
    factory: sessionmaker[Session],
    written: str,
) -> None:
    link = make_link(client, operator, member_id=world.member_id, coupon_id=world.hidden_id)
    first = claim(client, operator, world.hidden_id, customer_ref=OPENID, link_code=link["code"])
    assert first.status_code == 201, first.text
    before = row_counts(factory)
    again = claim(client, operator, world.hidden_id, customer_ref=written, link_code=link["code"])
    assert (again.status_code, again.json()["code"]) == (422, "invalid_customer_ref"), again.text
    assert "customer_ref" in again.json()["detail"]
    assert written not in again.text
    assert OPENID not in again.text
    assert row_counts(factory) == before
    chinese = claim(
        client,
        {**operator, "Accept-Language": "zh-CN"},
        world.hidden_id,
        customer_ref=written,
        link_code=link["code"],
    )
    assert "顾客标识不能含有不可见字符" in chinese.json()["detail"], chinese.text


def test_marks_a_reference_was_always_trimmed_of_still_name_the_same_customer(
    client: TestClient, operator: dict[str, str], world: LinkWorld
) -> None:
    """Accepted before and still: a byte-order mark or zero-width space at an edge, a mobile number with
    marks between its digits. Each is the first claim's customer (one each: 409), never refused."""
    link = make_link(client, operator, member_id=world.member_id, coupon_id=world.hidden_id)
    assert (
        claim(client, operator, world.hidden_id, customer_ref=OPENID, link_code=link["code"]).status_code
        == 201
    )
    phone = claim(client, operator, world.hidden_id, customer_ref="13812345678", link_code=link["code"])
    assert phone.status_code == 201, phone.text
    for same in (
        f"\ufeff{OPENID}\u200b",
        f"\u200e{OPENID}",
        "138\u00ad1234\u200b5678",
        "\u202a138 1234 5678\u202c",
    ):
        again = claim(client, operator, world.hidden_id, customer_ref=same, link_code=link["code"])
        assert (again.status_code, again.json()["code"]) == (409, "limit_reached"), (repr(same), again.text)


def test_a_claims_request_id_sent_again_through_another_owners_link_is_refused(
    client: TestClient, operator: dict[str, str], world: LinkWorld, factory: sessionmaker[Session]
) -> None:
    mine = make_link(client, operator, member_id=world.member_id, coupon_id=world.hidden_id)
    theirs = make_link(client, operator, member_id=world.other_member_id, coupon_id=world.hidden_id)
    first = claim(
        client,
        operator,
        world.hidden_id,
        customer_ref="13812345678",
        link_code=mine["code"],
        request_id="k-1",
    )
    assert first.status_code == 201, first.text
    before = row_counts(factory)
    again = claim(
        client,
        operator,
        world.hidden_id,
        customer_ref="13812345678",
        link_code=theirs["code"],
        request_id="k-1",
    )
    # another owner's link binds the shopper to another owner: another claim's terms, not a retry of the first
    assert (again.status_code, again.json()["code"]) == (422, "request_id_reused"), again.text
    assert row_counts(factory) == before
    retry = claim(
        client,
        operator,
        world.hidden_id,
        customer_ref="13812345678",
        link_code=mine["code"],
        request_id="k-1",
    )
    assert (retry.status_code, retry.json()["id"], retry.json()["replayed"]) == (
        200,
        first.json()["id"],
        True,
    )


def test_a_claims_request_id_sent_again_without_its_link_is_refused(
    client: TestClient, operator: dict[str, str], world: LinkWorld
) -> None:
    link = make_link(client, operator, member_id=world.member_id, coupon_id=world.public_id)
    first = claim(
        client, operator, world.public_id, customer_ref="openid-9", link_code=link["code"], request_id="k-2"
    )
    assert first.status_code == 201, first.text
    bare = claim(client, operator, world.public_id, customer_ref="openid-9", request_id="k-2")
    assert (bare.status_code, bare.json()["code"]) == (422, "request_id_reused"), bare.text
    unlinked = claim(client, operator, world.public_id, customer_ref="openid-10", request_id="k-3")
    assert unlinked.status_code == 201, unlinked.text
    assert (
        claim(client, operator, world.public_id, customer_ref="openid-10", request_id="k-3").status_code
        == 200
    )
