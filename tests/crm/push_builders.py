"""A world for pushes: the feed's world (a partner program, products, a live campaign with a hidden
coupon) and customers in the owner's and another member's books, with or without marketing consent."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.crm.models import (
    TARGET_MASKED_LENGTH,
    Consent,
    ConsentPurpose,
    CrmSettings,
    Customer,
    CustomerSource,
)
from neigou.feed import robots as feed_robots
from neigou.kit.db import transaction
from neigou.kit.ids import customer_ref_hash, customer_ref_mask
from neigou.kit.sealed import Sealer
from neigou.kit.urls import masked_url
from tests.campaigns import builders as b
from tests.conftest import TEST_ACTOR, TokenMaker
from tests.links.builders import make_link

AT = b.AT


@dataclass
class PushWorld:
    """The feed's world and the customers of its members."""

    feed: b.FeedWorld
    wang: int  # consented, named 王女士
    li: int  # consented, no name
    zhao: int  # never consented
    chen: int  # consented, then withdrew
    other_customer: int  # in the other owner's book
    refs: dict[int, str]


def add_customer(
    factory: sessionmaker[Session],
    *,
    program_id: int,
    member_id: int,
    ref: str,
    secret_key: str,
    name: str | None = None,
    consent: bool | None = True,
    withdrawn: bool = False,
) -> int:
    """A customer in a member's book, with a marketing decision a month before AT (or none)."""
    with transaction(factory) as session:
        customer = Customer(
            program_id=program_id,
            member_id=member_id,
            customer_ref_hash=customer_ref_hash(secret_key, ref),
            customer_ref_masked=customer_ref_mask(ref),
            name=name,
            tags=[],
            source=CustomerSource.MANUAL,
            preferred_categories=[],
            created_at=AT - timedelta(days=60),
            updated_at=AT - timedelta(days=60),
        )
        session.add(customer)
        session.flush()
        if consent is not None:
            decided = AT - timedelta(days=30)
            session.add(
                Consent(
                    program_id=program_id,
                    customer_id=customer.id,
                    purpose=ConsentPurpose.MARKETING,
                    granted=consent,
                    at=decided,
                    source="store",
                    withdrawn_at=decided + timedelta(days=1) if withdrawn else None,
                    recorded_at=decided,
                )
            )
        return customer.id


def build(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, factory: sessionmaker[Session]
) -> PushWorld:
    """The world; customers' references are phone numbers."""
    feed = b.build(client, operator, make_token)
    secret = client.app.state.settings.secret_key  # type: ignore[attr-defined]
    refs: dict[int, str] = {}

    def customer(member: int, ref: str, **extra: Any) -> int:
        cid = add_customer(
            factory, program_id=feed.program_id, member_id=member, ref=ref, secret_key=secret, **extra
        )
        refs[cid] = ref
        return cid

    return PushWorld(
        feed=feed,
        wang=customer(feed.owner, "13800000001", name="王女士"),
        li=customer(feed.owner, "13800000002"),
        zhao=customer(feed.owner, "13800000003", name="赵先生", consent=None),
        chen=customer(feed.owner, "13800000004", name="陈女士", withdrawn=True),
        other_customer=customer(feed.other_owner, "13800000005", name="别人的客户"),
        refs=refs,
    )


def push(
    client: TestClient,
    world: PushWorld,
    status: int = 201,
    headers: dict[str, str] | None = None,
    **body: Any,
) -> Any:
    """POST a push for the owner and insist on ``status``."""
    body.setdefault("at", AT.isoformat())
    response = client.post(
        f"/api/v1/members/{world.feed.owner}/pushes", json=body, headers=headers or world.feed.owner_headers
    )
    assert response.status_code == status, response.text
    return response.json()


def in_robot_group(
    client: TestClient,
    factory: sessionmaker[Session],
    world: PushWorld,
    url: str,
    customers: Sequence[int] | None = None,
    *,
    group: int | None = None,
) -> int:
    """Give ``group`` (the owner's first group) the robot at ``url`` and bring ``customers`` (the owner's
    four) into the book through a link of that group: the robot channel reaches them there. The group."""
    group_id = world.feed.groups[0] if group is None else group
    link = make_link(client, world.feed.owner_headers, sku=b.TEE, group_id=group_id)
    sealer = Sealer.from_settings(client.app.state.settings)  # type: ignore[attr-defined]
    chosen = [world.wang, world.li, world.zhao, world.chen] if customers is None else customers
    with transaction(factory) as session:
        feed_robots.set_robot(
            session, group_id=group_id, webhook_url=url, sealer=sealer, actor=TEST_ACTOR, at=datetime.now(UTC)
        )
        for customer_id in chosen:
            row = session.get(Customer, customer_id)
            assert row is not None
            row.source_link_id = link["id"]
    return group_id


def send_through(
    client: TestClient, operator: dict[str, str], world: PushWorld, channel: str, target: str | None
) -> PushWorld:
    """``world`` with its program's pushes sent through ``channel`` to ``target`` (quiet hours as set;
    ``None`` keeps the stored target, ``""`` removes it). The robot channel refuses a target: one given
    with it is stored as a program's robot was before that rule (never used by the channel)."""
    legacy = channel == "wecom_robot" and bool(target)
    response = client.put(
        f"/api/v1/programs/{world.feed.program_id}/crm/settings",
        json={"channel": channel, "target": None if legacy else target},
        headers=operator,
    )
    assert response.status_code == 200, response.text
    if legacy and target is not None:
        stored_robot_target(client, world, target)
    return world


def stored_robot_target(client: TestClient, world: PushWorld, url: str) -> None:
    """The program's settings keep ``url`` as their target, as a robot-channel program's were written
    before the channel refused one."""
    app: Any = client.app
    sealer = Sealer.from_settings(app.state.settings)
    with transaction(app.state.session_factory) as session:
        row = session.get(CrmSettings, world.feed.program_id)
        assert row is not None
        row.target_sealed, row.target_masked = sealer.seal(url), masked_url(url, limit=TARGET_MASKED_LENGTH)
