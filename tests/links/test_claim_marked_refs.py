"""A coupon's per-customer limit counts a shopper written with one of Excel's text markers
(``="13812345678"``, ``'13812345678``, or their full-width forms ``＝＂…＂``, ``＇…``) as the plain
number: no second claim, one masked form."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.offers.models import CouponTemplate
from tests.conftest import TokenMaker, row_counts
from tests.links.builders import build, claim, make_link


def test_a_marked_reference_is_the_plain_shopper_to_the_per_customer_limit(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, factory: sessionmaker[Session]
) -> None:
    world = build(client, operator, make_token)
    link = make_link(client, operator, member_id=world.member_id, coupon_id=world.hidden_id)
    first = claim(client, operator, world.hidden_id, customer_ref='="13812345678"', link_code=link["code"])
    assert first.status_code == 201, first.text
    assert first.json()["customer_ref_masked"] == "138****5678"
    before = row_counts(factory)
    for written in (
        "13812345678",
        "'13812345678",
        ' = "+86 138 1234 5678" ',
        "＇13812345678",
        "＝＂138 1234 5678＂",
    ):
        again = claim(client, operator, world.hidden_id, customer_ref=written, link_code=link["code"])
        assert (again.status_code, again.json()["code"]) == (409, "limit_reached"), written
    assert row_counts(factory) == before
    with factory() as session:
        coupon = session.get(CouponTemplate, world.hidden_id)
        assert coupon is not None
        assert coupon.claimed_quantity == 1
