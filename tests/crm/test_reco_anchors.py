"""The bought-together signal starts from a few anchors: the customer's most recently bought distinct
products through the member whose book holds them (never another salesperson's sale), and reads only
the baskets of the most recent other buyers of those anchors."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.crm import signals
from neigou.kit.clock import utcnow
from neigou.kit.ids import customer_ref_hash
from tests.conftest import TokenMaker
from tests.crm import reco_builders
from tests.crm.builders import add_customer
from tests.crm.reco_builders import CUSTOMER_REF


def _ref_hash(client: TestClient, ref: str) -> str:
    return customer_ref_hash(client.app.state.settings.secret_key, ref)  # type: ignore[attr-defined]


def test_only_the_latest_anchors_count(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], make_token: TokenMaker
) -> None:
    world = reco_builders.build(client, operator, factory, make_token)
    # Four more products through the member, all newer than SNEAKER (a hundred days ago): SNEAKER, the
    # sixth, is no anchor any more, and what others bought with it is no reason.
    for n, (sku, days) in enumerate((("COAT", 40), ("SCARF", 41), ("TEE", 42), ("BOOTS", 43))):
        reco_builders.place_order(
            client, operator, factory, world, f"anchor-{n}", ref=CUSTOMER_REF, skus=[sku], days=days,
            member_id=world.member_id,
        )  # fmt: skip
    reco_builders.place_order(
        client, operator, factory, world, "anchor-knit", ref="13900000009", skus=["SNEAKER", "KNIT"], days=3
    )
    now = utcnow()
    with factory() as session:
        bought = signals.purchases(
            session,
            program_id=world.program_id,
            customer_ref_hash=_ref_hash(client, CUSTOMER_REF),
            member_id=world.member_id,
            at=now,
        )
    assert bought.anchors == ("JUST", "COAT", "SCARF", "TEE", "BOOTS")
    assert len(bought.skus) == 6
    knit = reco_builders.reasons(client, world.customer_id, world.member)["KNIT"]
    assert not any("白色板鞋" in r for r in knit), knit  # SNEAKER's title


def test_a_reason_never_names_a_product_bought_through_another_member(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], make_token: TokenMaker
) -> None:
    world = reco_builders.build(client, operator, factory, make_token)
    # The same shopper is in the other member's book too and bought a coat through them.
    theirs = add_customer(client, operator, world.other_member_id, CUSTOMER_REF, tags=["通勤"])["id"]
    reco_builders.place_order(
        client, operator, factory, world, "other-coat", ref=CUSTOMER_REF, skus=["COAT"], days=80,
        member_id=world.other_member_id,
    )  # fmt: skip
    reco_builders.place_order(
        client, operator, factory, world, "coat-tee", ref="13900000008", skus=["COAT", "TEE"], days=3
    )
    mine = reco_builders.reasons(client, world.customer_id, world.member)
    assert not any("羊毛双排扣大衣" in r for reasons in mine.values() for r in reasons), mine
    assert "2 位顾客与白色板鞋一起买过" in mine["BOOTS"]  # bought through this member: named
    other = reco_builders.reasons(client, theirs, world.other_member)
    assert "1 位顾客与羊毛双排扣大衣一起买过" in other["TEE"]
    assert not any("白色板鞋" in r for reasons in other.values() for r in reasons), other


def test_only_the_latest_buyers_of_the_anchors_are_read(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    make_token: TokenMaker,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world = reco_builders.build(client, operator, factory, make_token)
    ref_hash = _ref_hash(client, CUSTOMER_REF)
    with factory() as session:
        every = signals.co_purchases(
            session, program_id=world.program_id, customer_ref_hash=ref_hash, anchors=["SNEAKER"]
        )
        assert every == {"BOOTS": (2, "SNEAKER"), "SCARF": (1, "SNEAKER")}
        monkeypatch.setattr(signals, "CO_BUYER_LIMIT", 1)
        latest = signals.co_purchases(
            session, program_id=world.program_id, customer_ref_hash=ref_hash, anchors=["SNEAKER"]
        )
        assert latest == {"SCARF": (1, "SNEAKER")}  # 13900000003 bought SNEAKER last (30 days ago)
