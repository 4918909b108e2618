"""A claim's shopper in exponent form (``2.34568E+18``, a 19-digit member number a spreadsheet held
roughly) is refused, bare or wrapped in an Excel text marker (``'2.34568E+18``, ``="2.34568E+18"``,
full-width ``＝＂…＂``, ``＇…``, an invisible mark before the marker): each would be hashed as the bare
form, two shoppers whose numbers round alike one to the coupon's per-customer limit. A mark before the
marker is trimmed first: ``\\ufeff'13812345678`` is the shopper ``13812345678``."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import TokenMaker, row_counts
from tests.links.builders import build, claim, make_link

LONG = ["2.34568E+18", "'2.34568E+18", '="2.34568E+18"', "＝＂2.34568E+18＂", "＇2.34568E+18"]
LONG += ["\ufeff'2.34568E+18", "\u200b＇2.34568E+18", "２.３４５６８Ｅ＋１８"]


@pytest.mark.parametrize("ref", LONG)
def test_a_claim_in_exponent_form_is_refused_marked_or_not(
    client: TestClient,
    operator: dict[str, str],
    make_token: TokenMaker,
    factory: sessionmaker[Session],
    ref: str,
) -> None:
    world = build(client, operator, make_token)
    link = make_link(client, operator, member_id=world.member_id, coupon_id=world.hidden_id)
    before = row_counts(factory)
    refused = claim(client, operator, world.hidden_id, customer_ref=ref, link_code=link["code"])
    assert (refused.status_code, refused.json()["code"]) == (422, "invalid_customer_ref"), refused.text
    assert "文本" in refused.json()["detail"]  # "write ids as text"
    assert "2.34568" not in refused.text
    assert row_counts(factory) == before


def test_a_mark_before_the_marker_is_the_plain_shopper_to_the_per_customer_limit(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, factory: sessionmaker[Session]
) -> None:
    world = build(client, operator, make_token)
    link = make_link(client, operator, member_id=world.member_id, coupon_id=world.hidden_id)
    first = claim(client, operator, world.hidden_id, customer_ref="13812345678", link_code=link["code"])
    assert first.status_code == 201, first.text
    for written in ("\ufeff'13812345678", '\u200b="13812345678"', "\ufeff＇13812345678"):
        again = claim(client, operator, world.hidden_id, customer_ref=written, link_code=link["code"])
        assert (again.status_code, again.json()["code"]) == (409, "limit_reached"), written
