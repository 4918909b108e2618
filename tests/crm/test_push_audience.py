"""Who a push may reach: a segment holds at most as many customers as a list may name (counted before
any customer is held), and the frequency cap is the shopper's across every book of the program."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.crm.models import Customer, CustomerSource
from neigou.crm.push_rules import MAX_CUSTOMERS
from neigou.kit.db import transaction
from neigou.kit.ids import customer_ref_hash, customer_ref_mask
from tests.campaigns import builders as fb
from tests.conftest import TokenMaker, bearer, row_counts
from tests.crm import push_builders as pb
from tests.crm.push_builders import AT, PushWorld, push
from tests.sign_in import member_sign_in

pytestmark = [pytest.mark.world_per_module, pytest.mark.usefixtures("push_clock")]


def _tagged_customers(
    factory: sessionmaker[Session], world: PushWorld, secret: str, first: int, n: int
) -> None:
    """``n`` customers tagged ``vip`` in the owner's book, without marketing consent (each push skips them)."""
    with transaction(factory) as session:
        session.add_all(
            Customer(
                program_id=world.feed.program_id,
                member_id=world.feed.owner,
                customer_ref_hash=customer_ref_hash(secret, f"139{i:08d}"),
                customer_ref_masked=customer_ref_mask(f"139{i:08d}"),
                tags=["vip"],
                source=CustomerSource.MANUAL,
                preferred_categories=[],
                created_at=AT - timedelta(days=60),
                updated_at=AT - timedelta(days=60),
            )
            for i in range(first, first + n)
        )


def test_a_segment_larger_than_a_push_may_reach_is_refused_before_anything_is_written(
    client: TestClient, factory: sessionmaker[Session], world: PushWorld, make_token: TokenMaker
) -> None:
    secret = client.app.state.settings.secret_key  # type: ignore[attr-defined]
    _tagged_customers(factory, world, secret, 0, MAX_CUSTOMERS)
    segment = client.post(
        f"/api/v1/members/{world.feed.owner}/segments",
        json={"name": "vip", "tags": ["vip"]},
        headers=world.feed.owner_headers,
    )
    assert segment.status_code == 201, segment.text
    full = push(client, world, segment_id=segment.json()["id"], skus=[fb.TEE])
    assert (len(full["messages"]), len(full["skipped"])) == (0, MAX_CUSTOMERS)  # exactly the bound goes
    _tagged_customers(factory, world, secret, MAX_CUSTOMERS, 1)
    member_sign_in(client, make_token("member", world.feed.owner))
    before = row_counts(factory)
    refused = push(client, world, status=422, segment_id=segment.json()["id"], skus=[fb.TEE])
    assert refused["code"] == "segment_too_large"
    assert "vip" not in refused["detail"]
    assert row_counts(factory) == before
    page = client.post(
        "/m/pushes", data={"segment_id": str(segment.json()["id"]), "sku": [fb.TEE], "key": "big"}
    )
    assert page.status_code == 422
    assert "一次推送最多触达 500 位" in page.text
    assert row_counts(factory) == before


def test_the_cap_counts_one_shopper_once_across_the_books_of_the_program(
    client: TestClient, factory: sessionmaker[Session], world: PushWorld, make_token: TokenMaker
) -> None:
    secret = client.app.state.settings.secret_key  # type: ignore[attr-defined]
    # 王女士 (13800000001 in the owner's book) is also in the other owner's book, written another way.
    theirs = pb.add_customer(
        factory,
        program_id=world.feed.program_id,
        member_id=world.feed.other_owner,
        ref="+86 138-0000-0001",
        secret_key=secret,
        name="王女士",
    )
    other_headers = bearer(make_token("member", world.feed.other_owner))
    for hours in (0, 1):
        made = push(
            client,
            world,
            customer_ids=[world.wang],
            skus=[fb.TEE],
            at=(AT + timedelta(hours=hours)).isoformat(),
        )
        assert made["skipped"] == []
    third = client.post(
        f"/api/v1/members/{world.feed.other_owner}/pushes",
        json={"customer_ids": [theirs], "skus": [fb.TEE], "at": (AT + timedelta(hours=2)).isoformat()},
        headers=other_headers,
    )
    assert third.status_code == 201, third.text
    assert third.json()["messages"] == []
    assert third.json()["skipped"] == [{"customer_id": theirs, "reason": "frequency_cap"}]
    # Another shopper of the other book is still reached.
    fourth = client.post(
        f"/api/v1/members/{world.feed.other_owner}/pushes",
        json={
            "customer_ids": [world.other_customer],
            "skus": [fb.TEE],
            "at": (AT + timedelta(hours=3)).isoformat(),
        },
        headers=other_headers,
    )
    assert fourth.status_code == 201, fourth.text
    assert fourth.json()["skipped"] == []
