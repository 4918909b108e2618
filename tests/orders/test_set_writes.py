"""Commission and ledger legs computed in SQL agree with the pure rules: the SQL rule on random orders
(SQLite and PostgreSQL), and a large batch written set-based on PostgreSQL against the same orders
written row by row."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.clock import utcnow
from neigou.kit.db import transaction
from neigou.ledger.models import Entry, Posting
from neigou.orders import commission, set_writes
from neigou.orders.batch_rows import LineRow, as_line, commission_total
from neigou.orders.ingest import SET_BASED_FROM, Taken, finish, ingest, prepare
from neigou.orders.inputs import ItemIn, OrderIn
from neigou.orders.models import Commission, Order, OrderSource
from neigou.programs import inviters
from tests.conftest import SECRET, TEST_ACTOR
from tests.orders.builders import GONE_FROM, GONE_UNTIL, PAID_AT, SKU, build, legacy_tiers

paid = st.integers(0, 10**10)  # inputs.MAX_LINE_FEN
rate_line = st.builds(lambda p, q, r: (p, q, r, None, None), paid, st.integers(1, 50), st.integers(0, 10_000))
fixed_line = st.builds(
    lambda p, q, r, f: (p, q, r, f, None),
    paid,
    st.integers(1, 50),
    st.integers(0, 10_000),
    st.integers(0, 10**6),
)
platform_line = st.builds(lambda p, q, f: (p, q, 0, None, f), paid, st.integers(1, 50), paid)
order_lines = st.lists(rate_line | fixed_line | platform_line, min_size=1, max_size=4)
MOVED = PAID_AT + timedelta(minutes=30)  # in the middle of ``_orders``' paid times
chain = st.lists(st.integers(0, 10_000), min_size=0, max_size=3)
orders = st.lists(st.tuples(order_lines, chain), min_size=1, max_size=6)


def _stored(line_no: int, terms: tuple[int, int, int, int | None, int | None]) -> LineRow:
    """A line as the importer stores it (``batch_rows.priced_lines``)."""
    paid_fen, quantity, rate, fixed, platform = terms
    pool = commission.pool_of(paid_fen, quantity, rate, fixed, platform)
    return (line_no, "SKU", quantity, paid_fen, paid_fen, rate, fixed, pool)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(orders)
def test_sql_commission_is_the_pure_rule(
    factory: sessionmaker[Session], batch: list[tuple[list[Any], list[int]]]
) -> None:
    lines: list[tuple[Any, ...]] = []
    earners: list[tuple[Any, ...]] = []
    expected: list[tuple[int, int, int, int, str | None, int, int]] = []
    for order_id, (terms, bps) in enumerate(batch, start=1):
        stored = [_stored(n, t) for n, t in enumerate(terms, start=1)]
        lines += [(order_id, *row) for row in stored]
        pure = [commission.Line(p, q, r, f, platform_pool_fen=pool) for p, q, r, f, pool in terms]
        chain_ = [
            commission.Earner(100 + level, level, f"t{level}", bp) for level, bp in enumerate(bps, start=1)
        ]
        earners += [(order_id, 7, e.member_id, e.level, e.tier_code, e.bp) for e in chain_]
        amounts = {(e.member_id, e.level): e.amount_fen for e in commission.compute(pure, chain_)}
        # the row-by-row writer reads the stored lines back into the pure rule's terms
        assert commission.compute([as_line(row) for row in stored], chain_) == commission.compute(
            pure, chain_
        )
        expected += [
            (order_id, 7, e.member_id, e.level, e.tier_code, e.bp, amounts.get((e.member_id, e.level), 0))
            for e in chain_
        ]
    with transaction(factory) as session:
        got = set_writes.earned_rows(session, lines, earners)
    assert got == expected


@settings(max_examples=200, deadline=None)
@given(orders)
def test_the_order_total_copied_with_the_order_is_the_pure_rule(
    batch: list[tuple[list[Any], list[int]]],
) -> None:
    for terms, bps in batch:
        stored = [_stored(n, t) for n, t in enumerate(terms, start=1)]
        chain = [commission.Earner(100 + level, level, None, bp) for level, bp in enumerate(bps, start=1)]
        pure = commission.compute([as_line(row) for row in stored], chain)
        assert commission_total(stored, chain) == sum(e.amount_fen for e in pure)


def _orders(world_program: int, link: str, tag: str) -> list[OrderIn]:
    """Orders of every commission shape: rate lines, a boost-free fixed pool, a platform's fee,
    several lines, no link, a self-purchase."""
    out: list[OrderIn] = []
    for n in range(SET_BASED_FROM + 10):
        at = PAID_AT + timedelta(minutes=n)
        items: tuple[ItemIn, ...]
        if n % 4 == 0:
            items = (ItemIn(SKU, 1 + n % 3, 4990 * (1 + n % 3) - n), ItemIn("YD-TEE", 2, 11_799))
        elif n % 4 == 1:
            items = (ItemIn(f"JD-{n}", 1, 12_345 + n, pool_fen=1_001 + n),)
        else:
            items = (ItemIn(SKU, 1, 4_990 - n),)
        customer = "13800000001" if n % 7 == 0 else f"shopper-{tag}-{n}"
        out.append(OrderIn(f"{tag}-{n}", world_program, customer, link if n % 5 else None, items, at))
    return out


def _written(session: Session, tag: str) -> list[tuple[Any, ...]]:
    """Each order's commission, commission rows and ledger legs, by its number in the batch."""
    out = []
    for order in session.scalars(select(Order).where(Order.external_id.like(f"{tag}-%"))):
        earned = session.execute(
            select(Commission.member_id, Commission.level, Commission.bp, Commission.amount_fen)
            .where(Commission.order_id == order.id)
            .order_by(Commission.level)
        ).all()
        posting = session.scalars(
            select(Posting).where(Posting.key == f"order:{order.id}:earned")
        ).one_or_none()
        legs = (
            sorted(
                session.execute(
                    select(Entry.member_id, Entry.account, Entry.amount_fen).where(
                        Entry.posting_id == posting.id
                    )
                ).all(),
                key=repr,
            )
            if posting is not None
            else []
        )
        memo = posting.memo if posting is not None else None
        number = int(order.external_id.rsplit("-", 1)[1])
        out.append(
            (number, order.commission_fen, [tuple(e) for e in earned], [tuple(leg) for leg in legs], memo)
        )
    return sorted(out)


def _heads(session: Session, tag: str) -> list[tuple[Any, ...]]:
    """Each order's stored row but its id, external id, customer (each tag's shoppers are its own) and
    creation time, by its number in the batch:
    the head as staged (pricing snapshot included) and the columns every new order has alike."""
    out = []
    for order in session.scalars(select(Order).where(Order.external_id.like(f"{tag}-%"))):
        number = int(order.external_id.rsplit("-", 1)[1])
        out.append(
            (
                number,
                order.program_id,
                order.link_code,
                order.event_id,
                order.member_id,
                order.group_id,
                order.attribution_basis,
                order.self_purchase,
                order.paid_fen,
                order.refunded_fen,
                order.paid_at,
                order.completed_at,
                order.commission_state,
                order.settlement_id,
                order.pricing,
                order.source,
            )
        )
    return sorted(out, key=lambda row: row[0])


@pytest.mark.postgres_only(reason="the set-based write is PostgreSQL's")
@pytest.mark.parametrize("moved", [False, True], ids=["steady", "seller-moved-mid-batch"])
def test_a_large_batch_written_in_sql_equals_the_rows_written_from_python(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], moved: bool
) -> None:
    """The same orders in one large batch (set-based, a seller's chain computed once when it cannot
    change within the batch) and in small ones (row by row) store the same rows; with the seller moved
    from the owner to the mentor in the middle of the batch's paid times, each order pays the upline of
    its own paid time either way."""
    world = build(client, operator, factory)
    if moved:
        with transaction(factory) as session:
            inviters.change_inviter(
                session, member_id=world.seller, inviter_id=world.mentor, actor=TEST_ACTOR, at=MOVED
            )
    big = _orders(world.program_id, world.link, "set")
    small = _orders(world.program_id, world.link, "row")
    with transaction(factory) as session:
        ingest(session, big, secret_key=SECRET, source=OrderSource.IMPORT, now=utcnow())
    for start in range(0, len(small), SET_BASED_FROM - 1):
        with transaction(factory) as session:
            part = small[start : start + SET_BASED_FROM - 1]
            ingest(session, part, secret_key=SECRET, source=OrderSource.IMPORT, now=utcnow())
    with factory() as session:
        by_sql, by_rows = _written(session, "set"), _written(session, "row")
        heads_sql, heads_rows = _heads(session, "set"), _heads(session, "row")
        unbalanced = session.execute(
            select(Entry.posting_id).group_by(Entry.posting_id).having(func.sum(Entry.amount_fen) != 0)
        ).all()
    assert len(by_sql) == len(big)
    assert [r[:4] for r in by_sql] == [r[:4] for r in by_rows]
    assert heads_sql == heads_rows
    assert all(head[14]["quoted_at"] for head in heads_sql)  # every order carries its pricing snapshot
    assert [r[4] for r in by_sql] == [f"set-{r[0]}" if r[3] else None for r in by_sql]
    assert sum(1 for r in by_sql if r[2]) > SET_BASED_FROM / 2  # most orders earned something
    assert unbalanced == []
    seller_orders = [(n, earned) for n, _, earned, _, _ in by_sql if earned and earned[0][0] == world.seller]
    upline = {n: [m for m, level, _, _ in earned if level > 1] for n, earned in seller_orders}
    after = {n for n in upline if moved and big[n].paid_at >= MOVED}
    assert {n: [world.mentor] for n in after} == {n: u for n, u in upline.items() if n in after}
    assert {n: u for n, u in upline.items() if n not in after} == {
        n: [world.owner, world.mentor] for n in upline if n not in after
    }
    assert not moved or 0 < len(after) < len(upline)
    with transaction(factory) as session:  # the same batch again: nothing twice
        again = ingest(session, big, secret_key=SECRET, source=OrderSource.IMPORT, now=utcnow())
    assert again.created == []
    assert again.duplicates == len(big)
    with factory() as session:
        assert _written(session, "set") == by_sql


@contextmanager
def _staged_writes(factory: sessionmaker[Session]) -> Iterator[list[str]]:
    """The statements run meanwhile that insert orders from the staging table (``set_writes._WRITE``)."""
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "FROM import_orders" in statement:
            seen.append(statement)

    event.listen(factory.kw["bind"], "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(factory.kw["bind"], "before_cursor_execute", note)


@pytest.mark.postgres_only(reason="the set-based write is PostgreSQL's")
def test_an_order_a_concurrent_writer_stored_first_sends_the_batch_through_the_staged_write(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    """A large batch's orders are COPYed straight into ``orders``; when another writer stored one of
    them between the batch's look-ups and its write, the batch goes back to its savepoint and through
    the staging table: the other orders go in with everything that hangs from them, that one is
    answered with the stored order, and nothing is written twice."""
    world = build(client, operator, factory)
    clean = _orders(world.program_id, world.link, "copy")
    with _staged_writes(factory) as staged, transaction(factory) as session:
        done = ingest(session, clean, secret_key=SECRET, source=OrderSource.IMPORT, now=utcnow())
    assert len(done.created) == len(clean)
    assert staged == []  # no key taken: the orders were COPYed straight in

    race = _orders(world.program_id, world.link, "race")
    with factory() as session:
        prepared = prepare(session, race, secret_key=SECRET, source=OrderSource.IMPORT, now=utcnow())
    with transaction(factory) as session:  # the concurrent writer, after the batch's look-ups
        first = ingest(session, [race[7]], secret_key=SECRET, source=OrderSource.IMPORT, now=utcnow())
    with _staged_writes(factory) as staged, transaction(factory) as session:
        result = finish(session, prepared)
    assert len(staged) == 1
    assert result.errors == []
    assert result.results[7] == Taken(first.created[0], created=False)
    assert len(result.created) == len(race) - 1
    with factory() as session:
        raced, copied = _written(session, "race"), _written(session, "copy")
        heads_race, heads_copy = _heads(session, "race"), _heads(session, "copy")
        stored = session.scalar(select(func.count(Order.id)).where(Order.external_id.like("race-%")))
        unbalanced = session.execute(
            select(Entry.posting_id).group_by(Entry.posting_id).having(func.sum(Entry.amount_fen) != 0)
        ).all()
    assert stored == len(race)
    # The same orders written either way store the same rows (the race's 7th by the single write).
    assert [r[:4] for r in raced] == [r[:4] for r in copied]
    assert [r[4] for r in raced] == [f"race-{r[0]}" if r[3] else None for r in raced]
    assert heads_race == heads_copy
    assert unbalanced == []


@pytest.mark.postgres_only(reason="the set-based write is PostgreSQL's")
def test_a_large_batch_prices_and_refuses_tiers_as_the_rows_written_from_python(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    """A seller without a tier is paid at the entry tier, and the orders paid while the owner held a tier
    gone from the ladder are refused, the same in a large batch written in SQL as row by row."""
    world = build(client, operator, factory)
    legacy_tiers(factory, world)
    big = _orders(world.program_id, world.link, "set")
    small = _orders(world.program_id, world.link, "row")
    with transaction(factory) as session:
        by_set = ingest(session, big, secret_key=SECRET, source=OrderSource.IMPORT, now=utcnow())
    by_row = []
    for start in range(0, len(small), SET_BASED_FROM - 1):
        with transaction(factory) as session:
            part = small[start : start + SET_BASED_FROM - 1]
            by_row += ingest(
                session, part, secret_key=SECRET, source=OrderSource.IMPORT, now=utcnow()
            ).results
    refused = [n for n, r in enumerate(by_set.results) if not isinstance(r, Taken)]
    assert len(refused) >= 4  # the orders through the seller's link paid in the owner's gold minutes
    assert all(GONE_FROM <= big[n].paid_at < GONE_UNTIL for n in refused)
    assert {r.code for r in by_set.errors} == {"tier_not_in_ladder"}
    assert [(type(r), getattr(r, "code", None)) for r in by_row] == [
        (type(r), getattr(r, "code", None)) for r in by_set.results
    ]
    with factory() as session:
        by_sql, by_rows = _written(session, "set"), _written(session, "row")
    assert [r[:4] for r in by_sql] == [r[:4] for r in by_rows]
    seller_shares = {
        (bp, amount > 0)
        for _, _, earned, _, _ in by_sql
        for m, level, bp, amount in earned
        if m == world.seller and level == 1
    }
    assert seller_shares == {(2000, True)}  # super_member's 20%, the entry tier
