"""The dead letters an opt-out rewrites are those of its scope, as the rows it erases (docs/privacy.md,
Organizations): an organization's opt-out of every program rewrites the claim letters of its own
coupons (a claim without a program included), never another organization's. With the stock gate and
its stream on the real Redis of ``tests.local_redis``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth.models import Role
from neigou.kit import dead_letters
from neigou.kit.clock import utcnow
from neigou.kit.dead_letters import DELIVERIES, GROUP, ID, REASON, dead_key
from neigou.kit.ids import ERASED
from neigou.links import click_stream
from neigou.links.stock_gate import StockGate
from tests.conftest import TokenMaker, bearer
from tests.links.conftest import app_behind_gate
from tests.orders import builders as orders
from tests.privacy.builders import default_organization
from tests.privacy.test_opt_out_scope import MASKED, PHONE, PHONE_HASH, opt_out, other_organization


@pytest.fixture
def gate(app: FastAPI) -> Iterator[StockGate]:
    yield from app_behind_gate(app)


def _buried_claim(client: TestClient, operator: dict[str, str], gate: StockGate, coupon_id: int) -> None:
    """A claim of the coupon without a link (no program), moved from the stream to its dead letters."""
    claimed = client.post(
        f"/api/v1/coupons/{coupon_id}/claims", json={"customer_ref": PHONE}, headers=operator
    )
    assert claimed.status_code == 201, claimed.text
    assert gate.stream is not None
    entries: Any = gate.client.xrange(gate.stream)
    [(entry_id, fields)] = entries
    gate.client.xdel(gate.stream, entry_id)
    meta = {
        ID: entry_id,
        GROUP: b"neigou-claim-writers",
        REASON: b"ck_coupon_templates_stock",
        DELIVERIES: b"5",
    }
    letter: dict[Any, Any] = {**fields, **meta}
    gate.client.xadd(dead_key(gate.stream), letter)


def _claim_letter(gate: StockGate) -> tuple[str, str]:
    assert gate.stream is not None
    [letter] = dead_letters.letters(gate.client, gate.stream)
    row = json.loads(letter.fields[b"c"])
    return row["customer_ref_hash"], row["customer_ref_masked"]


def test_another_organizations_opt_out_of_every_program_leaves_the_claim_letters(
    client: TestClient,
    operator: dict[str, str],
    make_token: TokenMaker,
    factory: sessionmaker[Session],
    gate: StockGate,
) -> None:
    world = orders.build(client, operator, factory)
    opened, _code = orders.coupon_link(client, operator, world)
    other = other_organization(client, operator, make_token)
    _buried_claim(client, operator, gate, opened["id"])
    opt_out(client, other["headers"], "b-all")
    assert _claim_letter(gate) == (PHONE_HASH, MASKED)


def test_the_coupons_organizations_opt_out_rewrites_its_claim_letter_without_a_program(
    client: TestClient,
    operator: dict[str, str],
    make_token: TokenMaker,
    factory: sessionmaker[Session],
    gate: StockGate,
) -> None:
    world = orders.build(client, operator, factory)
    opened, _code = orders.coupon_link(client, operator, world)
    _buried_claim(client, operator, gate, opened["id"])
    own = bearer(make_token(Role.OPERATOR, organization_id=default_organization(factory)))
    opt_out(client, own, "a-all")
    stored_hash, masked = _claim_letter(gate)
    assert (stored_hash != PHONE_HASH, masked) == (True, ERASED)


OTHER_HASH = "f" * 64  # another shopper's clicks in the same letter


def _buried_clicks(gate: StockGate, program_id: int) -> None:
    """Two letters of the click stream: a batch (the shopper's click and another shopper's) and a click
    of the earlier one-entry-per-click format, each naming the shopper's hash."""
    key = dead_key(click_stream.stream_of(gate.namespace))
    at = utcnow()
    batch = click_stream.pack(
        [
            ("ref-1", 1, program_id, 1, at, "v1", "wechat", PHONE_HASH),
            ("ref-2", 1, program_id, 1, at, "v2", "wechat", OTHER_HASH),
        ]
    )
    meta: dict[Any, Any] = {GROUP: click_stream.GROUP, REASON: "bad_value", DELIVERIES: "5"}
    batched: dict[Any, Any] = {"clicks": batch, ID: "1-0", **meta}
    gate.client.xadd(key, batched)
    legacy: dict[Any, Any] = {
        "ref": "ref-3",
        "link_id": "1",
        "program_id": str(program_id),
        "member_id": "1",
        "clicked_at": at.isoformat(),
        "ua_class": "wechat",
        "customer_ref_hash": PHONE_HASH,
    }
    gate.client.xadd(key, {**legacy, ID: "2-0", **meta})


def _click_customers(gate: StockGate) -> list[list[str | None]]:
    """The customers of each letter's clicks, the one-click letter first."""
    found = dead_letters.letters(gate.client, click_stream.stream_of(gate.namespace))
    return sorted(([row[7] for row in click_stream.unpack(letter.entry[1])] for letter in found), key=len)


def test_the_opt_out_clears_the_shopper_from_the_click_streams_dead_letters(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], gate: StockGate
) -> None:
    world = orders.build(client, operator, factory)
    _buried_clicks(gate, world.program_id)
    opt_out(client, operator, "p-all")
    assert _click_customers(gate) == [[None], [None, OTHER_HASH]]
    held = b"".join(
        value
        for letter in dead_letters.letters(gate.client, click_stream.stream_of(gate.namespace))
        for value in letter.fields.values()
    )
    assert PHONE_HASH.encode() not in held


def test_an_opt_out_clears_the_click_letters_of_its_scope_only(
    client: TestClient,
    operator: dict[str, str],
    make_token: TokenMaker,
    factory: sessionmaker[Session],
    gate: StockGate,
) -> None:
    world = orders.build(client, operator, factory)
    other = other_organization(client, operator, make_token)
    _buried_clicks(gate, world.program_id)
    opt_out(client, other["headers"], "b-all")
    opt_out(client, operator, "p-b", program_id=other["program"]["id"])
    assert _click_customers(gate) == [[PHONE_HASH], [PHONE_HASH, OTHER_HASH]]
    opt_out(client, operator, "p-a", program_id=world.program_id)
    assert _click_customers(gate) == [[None], [None, OTHER_HASH]]
