"""One click form from the redirect to the table: the row the redirect builds is the row the writer
process receives through its pipe, the row a stream entry carries, and the row stored. A batch asks
for opted-out shoppers once, and a claim looks its link up once."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import redis
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.clock import utcnow
from neigou.kit.db import transaction
from neigou.kit.ids import keyed_hash
from neigou.links.click_stream import RedisStreamSink, StreamConsumer, unpack
from neigou.links.click_writer import ClickWriterProcess
from neigou.links.clicks import ClickRow, click_row, new_click_ref, store_clicks
from neigou.links.models import LinkClick, Touch
from neigou.links.touches import identify_visitor
from neigou.links.useragent import UaClass
from neigou.programs.models import Program
from tests.conftest import SECRET, TokenMaker
from tests.links.builders import LinkWorld, build, make_link
from tests.statements import statements

OPTED_OUT = keyed_hash(SECRET, "13900000001")
KNOWN = keyed_hash(SECRET, "13900000002")
VISITOR_CUSTOMER = keyed_hash(SECRET, "13900000003")


def _rows(world: LinkWorld, link_id: int, count: int, **fields: str | None) -> list[ClickRow]:
    start = utcnow() - timedelta(minutes=10)
    return [
        click_row(
            ref=new_click_ref(),
            link_id=link_id,
            program_id=world.program_id,
            member_id=world.member_id,
            clicked_at=start + timedelta(seconds=n, microseconds=n),
            visitor_id=fields.get("visitor_id", f"visitor-{n:012d}"),
            ua_class=UaClass.WECHAT,
            customer_ref_hash=fields.get("customer_ref_hash"),
        )
        for n in range(count)
    ]


def _stored(factory: sessionmaker[Session]) -> list[ClickRow]:
    with factory() as session:
        return [
            (
                c.ref,
                c.link_id,
                c.program_id,
                c.member_id,
                c.clicked_at,
                c.visitor_id,
                c.ua_class.value,
                c.customer_ref_hash,
            )
            for c in session.scalars(select(LinkClick).order_by(LinkClick.clicked_at))
        ]


def test_the_row_the_writer_process_receives_is_the_row_stored(
    client: TestClient,
    operator: dict[str, str],
    make_token: TokenMaker,
    database_url: str,
    factory: sessionmaker[Session],
) -> None:
    world = build(client, operator, make_token)
    link = make_link(client, operator, member_id=world.member_id)
    rows = [
        *_rows(world, link["id"], 3),
        *_rows(world, link["id"], 2, customer_ref_hash=KNOWN, visitor_id=None),
    ]
    rows.sort(key=lambda row: row[4])
    writer = ClickWriterProcess(database_url)
    try:
        writer.write(rows)
    finally:
        writer.stop()
    assert _stored(factory) == rows


def test_a_stream_entry_carries_the_rows_as_they_are(
    client: TestClient,
    operator: dict[str, str],
    make_token: TokenMaker,
    factory: sessionmaker[Session],
    redis_client: redis.Redis,
) -> None:
    world = build(client, operator, make_token)
    link = make_link(client, operator, member_id=world.member_id)
    rows = [
        *_rows(world, link["id"], 4),
        *_rows(world, link["id"], 3, customer_ref_hash=KNOWN, visitor_id=None),
    ]
    rows.sort(key=lambda row: row[4])
    key = f"neigou-test:{uuid.uuid4().hex[:8]}:clicks"
    try:
        RedisStreamSink(redis_client, key, per_entry=5).write(rows)
        entries: Any = redis_client.xrange(key)
        assert len(entries) == 2
        assert [row for _, fields in entries for row in unpack(fields)] == rows
        assert StreamConsumer(redis_client, key, factory, name="rows").drain() == 7
        assert _stored(factory) == rows
    finally:
        redis_client.delete(key)


def test_a_batch_asks_for_opted_out_shoppers_once_whatever_its_size(
    client: TestClient,
    operator: dict[str, str],
    make_token: TokenMaker,
    engine: Engine,
    factory: sessionmaker[Session],
) -> None:
    world = build(client, operator, make_token)
    link = make_link(client, operator, member_id=world.member_id)
    opted = client.post(
        "/api/v1/privacy/opt-outs",
        json={"customer_ref": "13900000001", "program_id": world.program_id, "request_id": "opt-1"},
        headers=operator,
    )
    assert opted.status_code == 201
    with transaction(factory) as session:
        assert (
            identify_visitor(
                session,
                visitor_id="visitor-identified",
                customer_ref_hash=VISITOR_CUSTOMER,
                customer_ref_masked="139****0003",
                organization_id=_organization(session, world.program_id),
                at=utcnow(),
            )
            == []
        )

    def store(size: int) -> list[str]:
        batch = [
            *_rows(world, link["id"], size, customer_ref_hash=OPTED_OUT),
            *_rows(world, link["id"], size, customer_ref_hash=KNOWN),
            *_rows(world, link["id"], size, visitor_id="visitor-identified"),
        ]
        with statements(engine) as seen, transaction(factory) as session:
            assert store_clicks(session, batch) == 3 * size
        return [s for s in seen if "opt_outs" in s]

    assert len(store(2)) == 1
    assert len(store(40)) == 1
    stored = _stored(factory)
    assert len(stored) == 126
    assert {row[7] for row in stored} == {None, KNOWN}  # the opted-out shopper's clicks are anonymous
    with factory() as session:
        touched = sorted(t.customer_ref_hash for t in session.scalars(select(Touch)))
    assert touched == sorted([KNOWN] * 42 + [VISITOR_CUSTOMER] * 42)


def _link_lookups(seen: list[str]) -> int:
    return sum(1 for s in seen if "FROM share_links" in s and "share_links.code =" in s)


def test_a_claim_looks_its_link_up_once(
    client: TestClient,
    operator: dict[str, str],
    make_token: TokenMaker,
    engine: Engine,
) -> None:
    world = build(client, operator, make_token)
    link = make_link(client, operator, member_id=world.member_id, coupon_id=world.hidden_id)
    with statements(engine) as seen:
        landing = client.post(
            f"/p/{link['code']}/claim", data={"phone": "13900000004"}, follow_redirects=False
        )
    assert landing.status_code == 303
    assert landing.headers["location"].endswith("claimed=1#coupon")
    assert _link_lookups(seen) == 1
    with statements(engine) as seen:
        api = client.post(
            f"/api/v1/coupons/{world.hidden_id}/claims",
            json={"customer_ref": "13900000005", "link_code": link["code"]},
            headers=operator,
        )
    assert api.status_code == 201
    assert api.json()["link_code"] == link["code"]
    assert _link_lookups(seen) == 1


def _organization(session: Session, program_id: int) -> int:
    program = session.get(Program, program_id)
    assert program is not None
    return program.organization_id
