"""Benchmark: an employee-purchase event's opening burst, compressed in time.

20,000 salespeople sharing links, 200,000 shoppers (employees on the whitelist), 30 skus with scarce
stock. Client threads reserve through the reservation service with the Redis gate while the stream
writer stores reservations in the database behind them; the raw Lua script alone is timed from the
same threads in the same run. At the end the stream is drained and checked: no sku oversold, every
reservation the service answered is in the database, the database counters equal the rows.

    .venv/bin/python bench/events_burst.py                                   # SQLite file
    .venv/bin/python bench/events_burst.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres
    .venv/bin/python bench/events_burst.py --smoke                           # a few seconds, for CI
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta

import redis
from scratch import scratch_postgres
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from neigou.events import service
from neigou.events.gate import ReservationGate
from neigou.events.models import EventItem, Reservation
from neigou.events.reservations import Shopper, load_snapshot, reserve
from neigou.events.writer import ReservationWriter
from neigou.kit.actor import Actor
from neigou.kit.clock import utcnow
from neigou.kit.db import make_engine, make_session_factory, transaction
from neigou.kit.errors import Conflict
from neigou.links.cache import CachedLink
from neigou.migrations.runner import upgrade
from neigou.programs.models import AttributionModel, Program
from neigou.programs.scope import organization_for_write

ACTOR = Actor(kind="cli", ref="bench", label="bench")
SKUS = 30
TARGET_FEN = 150_000_000  # ¥1.5M
TARGET_SECONDS = 600


@contextmanager
def database(url: str | None) -> Iterator[str]:
    if url is None:
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{tmp}/events.db"
        return
    with scratch_postgres(url, "neigou_bench_events") as scratch:
        yield scratch


def new_event(factory: sessionmaker[Session], shoppers: int, stock: int) -> int:
    now = utcnow()
    with transaction(factory) as session:
        program = Program(
            organization_id=organization_for_write(session),  # the default organization
            code=f"bench-{uuid.uuid4().hex[:6]}",
            name="bench",
            timezone="Asia/Shanghai",
            attribution_model=AttributionModel.LAST_CLICK,
            attribution_window_days=7,
            freeze_days=7,
            max_levels=1,
            self_purchase_commission=False,
            created_at=now,
        )
        session.add(program)
        session.flush()
        event = service.create_event(
            session,
            program_id=program.id,
            name="bench",
            starts_at=now - timedelta(minutes=1),
            ends_at=now + timedelta(hours=1),
            guests_per_employee=0,
            items=[service.ItemIn(f"SKU{i:02}", 9_900 + 1_000 * i, stock, 2) for i in range(SKUS)],
            actor=ACTOR,
            at=now,
        )
        service.add_employees(
            session,
            event_id=event.id,
            employees=[service.EmployeeIn(f"E{i}", "bench") for i in range(shoppers)],
            actor=ACTOR,
        )
        return event.id


def timed(
    attempts: int, threads: int, attempt: Callable[[int], str]
) -> tuple[float, Counter[str], list[float]]:
    barrier = threading.Barrier(threads)
    latencies: list[float] = []

    def start(i: int) -> str:
        if i < threads:
            barrier.wait()
        began = time.perf_counter()
        outcome = attempt(i)
        latencies.append(time.perf_counter() - began)
        return outcome

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        outcomes = Counter(pool.map(start, range(attempts)))
    return attempts / (time.perf_counter() - started), outcomes, latencies


def main() -> int:  # noqa: PLR0915 - one scenario, read top to bottom
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--attempts", type=int, default=60_000)
    args = parser.parse_args()
    shoppers, salespeople, stock = (2_000, 200, 20) if args.smoke else (200_000, 20_000, 300)
    attempts = 3_000 if args.smoke else args.attempts
    client = redis.Redis.from_url(args.redis_url)
    gate = ReservationGate(client, f"neigou-bench:{uuid.uuid4().hex[:8]}")
    rng = random.Random(7)
    plan = [
        (rng.randrange(shoppers), rng.randrange(SKUS), rng.randrange(salespeople)) for _ in range(attempts)
    ]
    with database(args.database_url) as url:
        upgrade(url)
        engine = make_engine(url, pool_size=args.threads + 4)
        try:
            factory = make_session_factory(engine)
            events = [new_event(factory, shoppers, stock) for _ in range(2)]
            with factory() as session:
                raw_event, served_event = (load_snapshot(session, e) for e in events)
            assert raw_event is not None
            assert served_event is not None
            skus = sorted(served_event.items)
            # The raw script: seeded by the service's first call, then timed alone with the same arguments.
            with factory() as session:
                reserve(
                    session,
                    event=raw_event,
                    event_id=raw_event.id,
                    shopper=Shopper("c0", "c", employee_no="E0"),  # E0 is c0's, as in the plan
                    sku=skus[0],
                    quantity=1,
                    at=utcnow(),
                    gate=gate,
                )
            raw_base = gate.base(raw_event.id, raw_event.created_at)

            def raw(i: int) -> str:
                shopper, sku, _ = plan[i]
                terms = raw_event.items[skus[sku]]
                return gate.reserve(
                    raw_base,
                    sku=skus[sku],
                    customer=f"c{shopper}",
                    quantity=1,
                    stock=terms.stock,
                    limit=terms.limit,
                    employee_no=f"E{shopper}",
                    invitation_code=None,
                    record={"e": raw_event.id, "bench": i},
                ).code

            lua_rate, lua, _ = timed(attempts, args.threads, raw)
            client.delete(gate.stream)  # the raw script's entries are not reservations
            writer = ReservationWriter(client, gate.stream, factory)
            writer.start()
            answered: list[int] = []

            def served(i: int) -> str:
                shopper, sku, seller = plan[i]
                link = CachedLink(
                    id=seller + 1,
                    code=f"L{seller}",
                    program_id=served_event.program_id,
                    member_id=seller + 1,
                    active=True,
                )
                try:
                    with factory() as session:
                        made = reserve(
                            session,
                            event=served_event,
                            event_id=served_event.id,
                            shopper=Shopper(f"c{shopper}", "c", employee_no=f"E{shopper}"),
                            sku=skus[sku],
                            quantity=1,
                            at=utcnow(),
                            link=link,
                            gate=gate,
                        )
                    answered.append(made.id)
                    return "taken"
                except Conflict as exc:
                    return exc.code

            rate, outcomes, latencies = timed(attempts, args.threads, served)
            writer.stop()
            with factory() as session:
                rows = session.scalar(
                    select(func.count(Reservation.id)).where(Reservation.event_id == served_event.id)
                )
                stored = set(
                    session.scalars(select(Reservation.id).where(Reservation.event_id == served_event.id))
                )
                per_item = dict(
                    session.execute(
                        select(Reservation.item_id, func.sum(Reservation.quantity))
                        .where(Reservation.event_id == served_event.id)
                        .group_by(Reservation.item_id)
                    ).all()
                )
                counters = dict(
                    session.execute(
                        select(EventItem.id, EventItem.reserved).where(EventItem.event_id == served_event.id)
                    ).all()
                )
        finally:
            engine.dispose()
    for key in client.scan_iter(f"{gate.namespace}:*"):
        client.delete(key)
    client.close()
    oversold = sum(1 for item, n in per_item.items() if n > stock)
    lost = len(set(answered) - stored)
    consistent = all(counters[i] == per_item.get(i, 0) for i in counters)
    ok = oversold == 0 and lost == 0 and consistent and rows == outcomes["taken"]
    average_fen = statistics.mean(t.price_fen for t in served_event.items.values())
    needed = TARGET_FEN / average_fen / TARGET_SECONDS
    p50, p99 = (
        statistics.quantiles(latencies, n=100)[49] * 1000,
        statistics.quantiles(latencies, n=100)[98] * 1000,
    )
    print(f"raw Lua script: {lua_rate:,.0f} attempts/s {dict(lua)}")
    print(
        f"reservation service ({url.split(':')[0]}, {args.threads} threads, writer behind): {rate:,.0f} attempts/s "
        f"{dict(outcomes)}; p50 {p50:.2f} ms, p99 {p99:.2f} ms"
    )
    print(
        f"stored {rows} rows for {outcomes['taken']} taken; oversold skus {oversold}, lost {lost}, "
        f"counters {'equal rows' if consistent else 'DIFFER'} → {'ok' if ok else 'FAILED'}"
    )
    print(f"reservations: service at {rate / lua_rate:.2f} of the raw script's rate")
    print(
        f"¥1.5M in ten minutes at an average ¥{average_fen / 100:,.0f} is {needed:,.1f} reservations/s: "
        f"this run carries {rate / needed:,.0f} times that"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
