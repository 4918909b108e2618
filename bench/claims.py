"""Benchmark: coupon claims per second through the claim service with Redis (the Lua gate takes the
unit and appends the claim to the stream; the claim writer stores it behind) against the raw Lua script
alone — the same script, called directly with a small record, as the reservation benchmark does — from
the same client threads, in the same run; both with the oversell check (counts must equal the stock).

    .venv/bin/python bench/claims.py                                   # SQLite file, 1 thread
    .venv/bin/python bench/claims.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres
    .venv/bin/python bench/claims.py --smoke                           # a few seconds, for scripts/test

Every attempt is a different customer; attempts outnumber the stock three to one, so most are
refused as sold out, as in a real burst. On PostgreSQL a scratch database is created and dropped,
and the claimers run on parallel threads; SQLite writers are serialised, so it uses one.
"""

from __future__ import annotations

import argparse
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

from neigou.kit.actor import Actor
from neigou.kit.clock import utcnow
from neigou.kit.db import make_engine, make_session_factory, transaction
from neigou.kit.errors import Conflict
from neigou.links import claims
from neigou.links.claim_stream import ClaimWriter
from neigou.links.gate_types import CouponTerms, GateAnswer
from neigou.links.models import ClaimSource, CouponClaim
from neigou.links.stock_gate import StockGate
from neigou.migrations.runner import upgrade
from neigou.offers.models import CouponTemplate
from neigou.offers.offer_rules import CouponKind, CouponVisibility
from neigou.programs.scope import organization_for_write

ACTOR = Actor(kind="cli", ref="bench", label="bench")


@contextmanager
def database(url: str | None) -> Iterator[str]:
    """A migrated scratch database: a SQLite file, or a fresh PostgreSQL database on the given server."""
    if url is None:
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{tmp}/claims.db"
        return
    with scratch_postgres(url, "neigou_bench_claims") as scratch:
        yield scratch


def new_coupon(factory: sessionmaker[Session], stock: int) -> CouponTemplate:
    now = utcnow()
    with transaction(factory) as session:
        coupon = CouponTemplate(
            organization_id=organization_for_write(session),
            name="bench",
            kind=CouponKind.AMOUNT_OFF,
            value=100,
            min_spend_fen=0,
            visibility=CouponVisibility.PUBLIC,
            total_quantity=stock,
            claimed_quantity=0,
            per_customer_limit=1,
            starts_at=now - timedelta(days=1),
            ends_at=now + timedelta(days=1),
            created_at=now,
        )
        session.add(coupon)
    return coupon


def timed(attempts: int, threads: int, attempt: Callable[[int], str]) -> tuple[float, Counter[str]]:
    """Attempts per second and the outcomes."""
    barrier = threading.Barrier(threads)

    def start(i: int) -> str:
        if i < threads:
            barrier.wait()
        return attempt(i)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        outcomes = Counter(pool.map(start, range(attempts)))
    return attempts / (time.perf_counter() - started), outcomes


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--stock", type=int, default=2000)
    parser.add_argument("--database-url", default=None, help="a PostgreSQL server URL (default: SQLite file)")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    stock = 100 if args.smoke else args.stock
    attempts = stock * 3
    client = redis.Redis.from_url(args.redis_url)
    namespace = f"neigou-bench:{uuid.uuid4().hex[:8]}"
    gate = StockGate(client, namespace)
    with database(args.database_url) as url:
        upgrade(url)
        engine = make_engine(url, pool_size=args.threads + 2)
        try:
            factory = make_session_factory(engine)
            threads = args.threads if engine.dialect.name == "postgresql" else 1

            raw = new_coupon(factory, stock)
            raw_terms = CouponTerms.of(raw)
            raw_gate = StockGate(client, f"{namespace}:raw", write_behind=True)

            def raw_take(i: int) -> str:
                # A new coupon: its counters start at nothing claimed.
                answer = raw_gate.take_and_record(
                    raw_terms, f"c{i}", f'{{"bench":{i}}}', seeds=lambda with_stream: (0, 0)
                )
                return answer.value if isinstance(answer, GateAnswer) else "taken"

            lua_rate, lua = timed(attempts, threads, raw_take)
            lua_ok = lua["taken"] == stock and raw_gate.counts(raw, "")[0] == stock

            served = new_coupon(factory, stock)
            behind = StockGate(client, namespace, write_behind=True)
            assert behind.stream is not None
            writer = ClaimWriter(client, behind.stream, factory)
            writer.start()

            def claim(i: int) -> str:
                try:
                    with transaction(factory) as session:
                        claims.claim_coupon(
                            session,
                            coupon_id=served.id,
                            customer=claims.Customer.from_ref("bench", f"c{i}"),
                            actor=ACTOR,
                            source=ClaimSource.API,
                            gate=behind,
                        )
                    return "taken"
                except Conflict as exc:
                    return exc.code

            service_rate, service = timed(attempts, threads, claim)
            writer.stop()  # the claims still in the stream reach the database before the check
            with factory() as session:
                claimed = session.scalar(
                    select(CouponTemplate.claimed_quantity).where(CouponTemplate.id == served.id)
                )
                rows = session.scalar(
                    select(func.count(CouponClaim.id)).where(CouponClaim.coupon_id == served.id)
                )
            service_ok = service["taken"] == claimed == rows == stock and gate.counts(served, "")[0] == stock
        finally:
            engine.dispose()
    for key in client.scan_iter(f"{namespace}:*"):
        client.delete(key)
    client.close()
    print(
        f"raw Lua script: {lua_rate:,.0f} attempts/s {dict(lua)} → oversell check {'ok' if lua_ok else 'FAILED'}"
    )
    print(
        f"claim service ({url.split(':')[0]}, {threads} thread{'s' if threads > 1 else ''}): {service_rate:,.0f} attempts/s "
        f"{dict(service)}; claimed {claimed}, rows {rows}, stock {stock} → oversell check {'ok' if service_ok else 'FAILED'}"
    )
    print(f"claims: service at {service_rate / lua_rate:.2f} of the raw script's rate")
    return 0 if lua_ok and service_ok else 1


if __name__ == "__main__":
    sys.exit(main())
