"""``POST /quotes`` with a link and a ``customer_ref``: which claims make a hidden coupon apply depends
on who asks. The shop's integration and operators count the shopper's claims through any link; a
member counts only those made through their own links, so a member's quote never tells whether a
shopper claimed through another member's link (a stranger's number and that shopper's price alike)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import TokenMaker, bearer
from tests.links.builders import SHAMPOO, build, claim, make_link

THEIR_SHOPPER = "13812345678"
MY_SHOPPER = "13712345678"
STRANGER = "13900000000"
FULL, WITH_COUPON = 4990, 2490


def test_a_quote_counts_the_claims_its_caller_may_know_of(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker
) -> None:
    world = build(client, operator, make_token)
    theirs = make_link(client, operator, member_id=world.other_member_id, coupon_id=world.hidden_id)
    mine = make_link(client, operator, member_id=world.member_id, coupon_id=world.hidden_id)
    for ref, link in ((THEIR_SHOPPER, theirs), (MY_SHOPPER, mine)):
        claimed = claim(client, world.integration, world.hidden_id, customer_ref=ref, link_code=link["code"])
        assert claimed.status_code == 201, claimed.text
    other_member = bearer(make_token("member", world.other_member_id))

    def quote(headers: dict[str, str], link: dict[str, str], ref: str) -> int:
        body = {"items": [{"sku": SHAMPOO, "quantity": 1}], "link_code": link["code"], "customer_ref": ref}
        answer = client.post("/api/v1/quotes", json=body, headers=headers)
        assert answer.status_code == 200, answer.text
        payable: int = answer.json()["payable_fen"]
        return payable

    everyone = (THEIR_SHOPPER, MY_SHOPPER, STRANGER)
    # The shop and the organization's operators: a shopper holding the coupon gets it through either link.
    for caller in (world.integration, operator):
        for link in (mine, theirs):
            assert [quote(caller, link, ref) for ref in everyone] == [WITH_COUPON, WITH_COUPON, FULL]
    # Each member: their own shoppers' claims only, through whichever link; another's shopper is a stranger.
    for link in (mine, theirs):
        assert [quote(world.member_token, link, ref) for ref in everyone] == [FULL, WITH_COUPON, FULL]
        assert [quote(other_member, link, ref) for ref in everyone] == [WITH_COUPON, FULL, FULL]


def test_a_quote_asks_for_a_caller(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker
) -> None:
    world = build(client, operator, make_token)
    link = make_link(client, operator, member_id=world.member_id, coupon_id=world.hidden_id)
    body = {"items": [{"sku": SHAMPOO, "quantity": 1}], "link_code": link["code"], "customer_ref": STRANGER}
    anonymous = client.post("/api/v1/quotes", json=body)
    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "unauthenticated")
