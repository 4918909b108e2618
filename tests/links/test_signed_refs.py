"""A share link's ``customer_ref`` names the shopper only when a shop of the link's program signed it
(``links.click_signing``): anyone can follow ``/l/{code}``, so an unsigned reference would let a member
bind any phone number or openid to themselves. A refused one never stops the redirect: the click is
kept without a customer, no touch and no binding are made, and the refusal is counted by reason."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.clock import utcnow
from neigou.kit.ids import customer_ref_hash
from neigou.links.click_signing import MAX_AGE_SECONDS, click_signature, signed_click_url
from tests.conftest import TokenMaker
from tests.factories import create_member, create_program
from tests.links.builders import LinkWorld, build, follow, make_link, recorded, shop_secret, signed_path

SHOPPER = "13812345678"


@pytest.fixture
def world(client: TestClient, operator: dict[str, str], make_token: TokenMaker) -> LinkWorld:
    return build(client, operator, make_token)


def _refused(reason: str) -> float:
    value = REGISTRY.get_sample_value("neigou_share_link_refs_refused_total", {"reason": reason})
    return value or 0.0


def test_an_unsigned_customer_ref_binds_no_one(
    client: TestClient,
    app: FastAPI,
    operator: dict[str, str],
    world: LinkWorld,
    factory: sessionmaker[Session],
) -> None:
    shop_secret(client, operator, world.program_id)
    link = make_link(client, operator, member_id=world.member_id)
    before = _refused("unsigned")
    follow(client, f"/l/{link['code']}?customer_ref={SHOPPER}")
    follow(client, f"/l/{link['code']}?customer_ref={SHOPPER}&ts=1&sig=00")  # malformed: unsigned too
    assert recorded(app, factory) == ([None, None], [], [])
    assert _refused("unsigned") == before + 2


def test_a_reference_the_program_s_shop_signed_binds_the_shopper(
    client: TestClient,
    app: FastAPI,
    operator: dict[str, str],
    world: LinkWorld,
    factory: sessionmaker[Session],
) -> None:
    secret = shop_secret(client, operator, world.program_id)
    link = make_link(client, operator, member_id=world.member_id, group_id=world.group_id)
    client.get(
        f"/l/{link['code']}", follow_redirects=False
    )  # cached: a signed query still takes the full route
    follow(client, signed_path(secret, link["code"], SHOPPER))
    expected = customer_ref_hash(app.state.settings.secret_key, SHOPPER)
    assert recorded(app, factory) == (
        [None, expected],
        [(expected, world.member_id, world.group_id, "click")],
        [(expected, world.member_id)],
    )


def test_the_helper_s_url_is_the_link_with_its_signed_query(world: LinkWorld) -> None:
    at = utcnow()
    url = signed_click_url("https://go.example/", "whsec_x", code="AbC12345", customer_ref="o 1+2", at=at)
    sig = click_signature("whsec_x", code="AbC12345", customer_ref="o 1+2", timestamp=int(at.timestamp()))
    assert url == f"https://go.example/l/AbC12345?customer_ref=o%201%2B2&ts={int(at.timestamp())}&sig={sig}"


@pytest.mark.parametrize(
    ("reason", "tamper"),
    [
        (
            "expired",
            lambda secret, code: signed_path(
                secret, code, SHOPPER, at=utcnow() - _seconds(MAX_AGE_SECONDS + 5)
            ),
        ),
        ("ahead", lambda secret, code: signed_path(secret, code, SHOPPER, at=utcnow() + _seconds(300 + 60))),
        # Signed for another shopper, then pointed at this one.
        (
            "bad_signature",
            lambda secret, code: signed_path(secret, code, "13900000000").replace("13900000000", SHOPPER),
        ),
        # Signed for another link of the same program.
        (
            "bad_signature",
            lambda secret, code: signed_path(secret, "ZZZZ9999", SHOPPER).replace("ZZZZ9999", code),
        ),
        # A signature changed in one digit.
        ("bad_signature", lambda secret, code: _flip_last(signed_path(secret, code, SHOPPER))),
    ],
)
def test_an_expired_future_or_tampered_signature_binds_no_one(
    *,
    client: TestClient,
    app: FastAPI,
    operator: dict[str, str],
    world: LinkWorld,
    factory: sessionmaker[Session],
    reason: str,
    tamper: Any,
) -> None:
    secret = shop_secret(client, operator, world.program_id)
    link = make_link(client, operator, member_id=world.member_id)
    before = _refused(reason)
    follow(client, tamper(secret, link["code"]))
    assert recorded(app, factory) == ([None], [], [])
    assert _refused(reason) == before + 1


def test_the_secret_of_another_program_s_shop_binds_no_one(
    client: TestClient,
    app: FastAPI,
    operator: dict[str, str],
    world: LinkWorld,
    factory: sessionmaker[Session],
) -> None:
    shop_secret(client, operator, world.program_id)
    other = create_program(client, operator, code="others")
    create_member(client, operator, other["id"], name="别家会员")
    foreign = shop_secret(client, operator, other["id"], name="别家商城")
    link = make_link(client, operator, member_id=world.member_id)
    before = _refused("bad_signature")
    follow(client, signed_path(foreign, link["code"], SHOPPER))
    assert recorded(app, factory) == ([None], [], [])
    assert _refused("bad_signature") == before + 1


def test_a_program_without_a_shop_takes_no_reference(
    client: TestClient,
    app: FastAPI,
    operator: dict[str, str],
    world: LinkWorld,
    factory: sessionmaker[Session],
) -> None:
    link = make_link(client, operator, member_id=world.member_id)
    before = _refused("no_key")
    follow(client, signed_path("whsec_made-up", link["code"], SHOPPER))
    follow(client, signed_path("whsec_made-up", link["code"], SHOPPER))
    assert recorded(app, factory) == ([None, None], [], [])
    assert _refused("no_key") == before + 2
    assert app.state.click_keys.loads == 1  # the empty answer is cached too


def test_an_unsigned_flood_costs_no_key_lookup(
    client: TestClient, app: FastAPI, operator: dict[str, str], world: LinkWorld
) -> None:
    link = make_link(client, operator, member_id=world.member_id)
    for n in range(5):
        follow(client, f"/l/{link['code']}?customer_ref=1380000000{n}")
    stale = signed_path("whsec_x", link["code"], SHOPPER, at=utcnow() - timedelta(hours=1))
    follow(client, stale)
    assert app.state.click_keys.loads == 0


def _seconds(n: int) -> timedelta:
    return timedelta(seconds=n)


def _flip_last(path: str) -> str:
    return path[:-1] + ("0" if path[-1] != "0" else "1")


@pytest.mark.parametrize(
    "query",
    [
        "ts=-1&sig={sig}",
        "ts=1e9&sig={sig}",
        "ts=99999999999999999999999&sig={sig}",
        "ts=%D9%A1%D9%A2&sig={sig}",  # Arabic-Indic digits
        "ts={ts}%0A&sig={sig}",
        "ts={ts}&sig={sig}%0A",
        "ts={ts}&sig=%C3%A9{sig}",
        "ts={ts}&sig=zz",
        "ts={ts}&ts={ts}&sig=%00",
    ],
)
def test_a_malformed_time_or_signature_is_unsigned_never_an_error(
    *,
    client: TestClient,
    app: FastAPI,
    operator: dict[str, str],
    world: LinkWorld,
    factory: sessionmaker[Session],
    query: str,
) -> None:
    secret = shop_secret(client, operator, world.program_id)
    link = make_link(client, operator, member_id=world.member_id)
    ts = int(utcnow().timestamp())
    sig = click_signature(secret, code=link["code"], customer_ref=SHOPPER, timestamp=ts)
    follow(client, f"/l/{link['code']}?customer_ref={SHOPPER}&" + query.format(ts=ts, sig=sig))
    assert recorded(app, factory) == ([None], [], [])


def test_keys_that_cannot_be_read_leave_the_click_anonymous_not_the_visitor_stranded(
    *,
    client: TestClient,
    app: FastAPI,
    operator: dict[str, str],
    world: LinkWorld,
    factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secret = shop_secret(client, operator, world.program_id)
    link = make_link(client, operator, member_id=world.member_id)

    def down(_program_id: int) -> tuple[str, ...]:
        raise OperationalError("SELECT", {}, Exception("connection refused"))

    monkeypatch.setattr(app.state.click_keys, "load", down)
    before = _refused("unchecked")
    follow(client, signed_path(secret, link["code"], SHOPPER))
    assert recorded(app, factory) == ([None], [], [])
    assert _refused("unchecked") == before + 1
