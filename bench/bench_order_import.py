"""Benchmark: importing paid orders (attributed, priced, commission computed for two levels and
posted to the ledger) into PostgreSQL, against a plain COPY of the same order lines into a bare
table in the same run. Reports both times and their ratio, and the storage floor: the rows the import
stored, COPYed straight into fresh tables with the same indexes and constraints (no parsing, checks,
attribution, pricing or commission), which no import writing those rows can beat.

    .venv/bin/python bench/bench_order_import.py                 # 1,000,000 orders
    .venv/bin/python bench/bench_order_import.py --smoke         # 5,000 orders (scripts/test)
    .venv/bin/python bench/bench_order_import.py --orders 200000

Needs PostgreSQL (NEIGOU_BENCH_PG_URL, default postgresql+psycopg://postgres@127.0.0.1:5432/postgres);
a throwaway database is created and dropped.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from scratch import scratch_postgres
from sqlalchemy import Engine, insert, text
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.actor import Actor
from neigou.kit.db import opened_database
from neigou.ledger import repository as ledger
from neigou.links.models import ShareLink
from neigou.migrations.runner import upgrade
from neigou.offers.models import Product
from neigou.orders.importer import import_file
from neigou.programs.models import Member, MemberInviterPeriod, MemberTierPeriod, Program, Tier
from neigou.programs.scope import organization_for_write

ADMIN_URL = os.environ.get("NEIGOU_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
ACTOR = Actor(kind="cli", ref="bench", label="benchmark")
MEMBERS = 3000
SKUS = 60
START = datetime(2026, 1, 1, tzinfo=UTC)
BENCH_SECRET = "bench-only-key"  # noqa: S105 - keys the shoppers' hashes in a throwaway database


def _setup(session: Session, rng: random.Random) -> list[str]:
    """A two-level program, members in invite chains, products and one share link per member."""
    now = START - timedelta(days=30)
    organization_id = organization_for_write(session)  # the default organization
    program = Program(
        organization_id=organization_id,
        code="bench",
        name="bench",
        timezone="Asia/Shanghai",
        attribution_model="last_click",
        attribution_window_days=15,
        freeze_days=7,
        max_levels=2,
        self_purchase_commission=True,
        created_at=now,
    )
    session.add(program)
    session.flush()
    session.add_all(
        [
            Tier(
                program_id=program.id,
                code="super_member",
                name="超级会员",
                rank=1,
                share_bp=2000,
                override_bp=500,
            ),
            Tier(program_id=program.id, code="mentor", name="导师", rank=2, share_bp=3000, override_bp=1000),
        ]
    )
    ids: list[int] = []
    inviters: list[int | None] = []
    for n in range(MEMBERS):
        inviter = ids[rng.randrange(len(ids))] if ids and n % 10 else None
        inviters.append(inviter)
        member = Member(
            program_id=program.id,
            name=f"m{n}",
            inviter_id=inviter,
            tier_code="mentor" if n % 10 == 0 else "super_member",
            joined_at=now,
        )
        session.add(member)
        session.flush()
        ids.append(member.id)
    session.execute(
        insert(MemberTierPeriod),
        [
            {
                "member_id": m,
                "tier_code": "mentor" if i % 10 == 0 else "super_member",
                "effective_from": now,
                "reason": "bench",
            }
            for i, m in enumerate(ids)
        ],
    )
    session.execute(
        insert(MemberInviterPeriod),
        [
            {"member_id": m, "inviter_id": inviter, "effective_from": now, "reason": "bench"}
            for m, inviter in zip(ids, inviters, strict=True)
        ],
    )
    products = [
        {
            "sku": f"SKU-{n:03d}",
            "title": f"商品 {n}",
            "price_fen": rng.randrange(990, 29_900),
            "commission_rate_bp": rng.choice([800, 1500, 2000, 2500]),
            "active": True,
            "organization_id": organization_id,
            "created_at": now,
            "updated_at": now,
        }
        for n in range(SKUS)
    ]
    product_ids = list(
        session.scalars(insert(Product).returning(Product.id, sort_by_parameter_order=True), products)
    )
    codes = [uuid.uuid4().hex[:12] for _ in ids]
    session.execute(
        insert(ShareLink),
        [
            {
                "code": code,
                "program_id": program.id,
                "member_id": m,
                "product_id": product_ids[i % SKUS],
                "sku": products[i % SKUS]["sku"],
                "active": True,
                "created_at": now,
                "updated_at": now,
            }
            for i, (m, code) in enumerate(zip(ids, codes, strict=True))
        ],
    )
    session.commit()
    return codes


def _write_orders(path: Path, orders: int, codes: list[str], rng: random.Random) -> int:
    """CSV of ``orders`` orders with 1-3 lines, nine in ten through a share link; returns line count."""
    lines = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            [
                "external_id",
                "program_id",
                "customer_ref",
                "link_code",
                "paid_at",
                "sku",
                "quantity",
                "paid_fen",
            ]
        )
        for n in range(orders):
            code = codes[rng.randrange(len(codes))] if rng.random() < 0.9 else ""
            at = (START + timedelta(seconds=n * 7)).isoformat()
            for _ in range(rng.randint(1, 3)):
                qty = rng.randint(1, 3)
                writer.writerow(
                    [
                        f"B{n}",
                        1,
                        f"c{rng.randrange(orders)}",
                        code,
                        at,
                        f"SKU-{rng.randrange(SKUS):03d}",
                        qty,
                        qty * rng.randrange(500, 20_000),
                    ]
                )
                lines += 1
    return lines


def _copy_baseline(url: str, path: Path) -> float:
    """COPY the same order lines into a plain table; seconds taken."""
    conninfo = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(conninfo) as conn:
        conn.execute(
            "CREATE TABLE bench_order_lines (external_id text, program_id bigint, customer_ref text,"
            " link_code text, paid_at timestamptz, sku text, quantity int, paid_fen bigint)"
        )
        conn.commit()
        started = time.perf_counter()
        with (
            conn.cursor() as cur,
            cur.copy("COPY bench_order_lines FROM STDIN WITH (FORMAT csv, HEADER true)") as copy,
            path.open("rb") as handle,
        ):
            for block in iter(lambda: handle.read(1 << 20), b""):
                copy.write(block)
        conn.commit()
        return time.perf_counter() - started


WRITTEN = ("orders", "order_lines", "commissions", "ledger_postings", "ledger_entries")


def _storage_floor(url: str, tmp: Path) -> tuple[float, float, dict[str, float]]:
    """Seconds to COPY the rows the import stored into copies of its five tables, with their indexes
    and constraints and without them: binary COPY out to files first, then in, one transaction each.
    The third value is each table's share of the first (indexed) figure."""
    conninfo = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(conninfo) as conn:
        for table in WRITTEN:
            with (
                conn.cursor().copy(f"COPY {table} TO STDOUT (FORMAT binary)") as copy,
                (tmp / f"{table}.bin").open("wb") as out,
            ):
                for block in copy:
                    out.write(block)
        timings: list[float] = []
        per_table: dict[str, float] = {}
        for like in ("INCLUDING ALL", "INCLUDING DEFAULTS"):
            for table in WRITTEN:
                conn.execute(f"DROP TABLE IF EXISTS floor_{table}")
                conn.execute(f"CREATE TABLE floor_{table} (LIKE {table} {like})")
            conn.commit()
            started = time.perf_counter()
            for table in WRITTEN:
                table_started = time.perf_counter()
                with (
                    conn.cursor().copy(f"COPY floor_{table} FROM STDIN (FORMAT binary)") as copy,
                    (tmp / f"{table}.bin").open("rb") as handle,
                ):
                    for block in iter(lambda: handle.read(1 << 20), b""):
                        copy.write(block)
                if not timings:
                    per_table[table] = time.perf_counter() - table_started
            conn.commit()
            timings.append(time.perf_counter() - started)
        for table in WRITTEN:
            conn.execute(f"DROP TABLE floor_{table}")
        conn.commit()
    return timings[0], timings[1], per_table


def _server_cpu(session: Session) -> float:
    """CPU seconds of the server processes serving this scratch schema so far (its connections carry its
    name as their application name; user and system, read from /proc: the server runs on this machine)."""
    ticks = os.sysconf("SC_CLK_TCK")
    pids = session.scalars(
        text("SELECT pid FROM pg_stat_activity WHERE application_name = current_setting('application_name')")
    )
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def _wal(session: Session) -> tuple[int, int, int]:
    """The server's WAL position in bytes, full-page images and checkpoints so far (whole server: read on
    a quiet machine; checkpoints moved to ``pg_stat_checkpointer`` in PostgreSQL 17). A backend counts
    its full-page images in ``pg_stat_wal`` at most once a second and when it exits: read them once the
    import's connections are closed (:func:`_closed`)."""
    wal_bytes, fpi = session.execute(
        text("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0'), wal_fpi FROM pg_stat_wal")
    ).one()
    if session.scalar(text("SELECT to_regclass('pg_catalog.pg_stat_checkpointer') IS NOT NULL")):
        checkpoints = session.scalar(text("SELECT num_timed + num_requested FROM pg_stat_checkpointer"))
    else:
        checkpoints = session.scalar(text("SELECT checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter"))
    return int(wal_bytes), int(fpi), int(checkpoints)


def _closed(factory: sessionmaker[Session]) -> None:
    """Close the pool's connections and wait until their server processes are gone (each reports its
    statistics as it exits), at most ten seconds."""
    bind = factory.kw["bind"]
    assert isinstance(bind, Engine)
    bind.dispose()
    with factory() as session:
        for _ in range(100):
            others = session.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name ="
                    " current_setting('application_name') AND pid <> pg_backend_pid()"
                )
            )
            if not others:
                return
            session.rollback()  # a new snapshot of pg_stat_activity
            time.sleep(0.1)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--smoke", action="store_true", help="5,000 orders, for the test script")
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--keep", action="store_true", help="keep the scratch schema")
    args = parser.parse_args()
    orders = 5000 if args.smoke else args.orders
    rng = random.Random(20260324)
    with scratch_postgres(ADMIN_URL, "neigou_bench", keep=args.keep) as url:
        upgrade(url)
        with opened_database(url) as factory:
            with factory() as session:
                codes = _setup(session, rng)
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "orders.csv"
                lines = _write_orders(path, orders, codes, rng)
                copy_s = _copy_baseline(url, path)
                with factory() as session:
                    wal_before = _wal(session)
                started, cpu = time.perf_counter(), time.process_time()
                report = import_file(
                    factory, path, secret_key=BENCH_SECRET, actor=ACTOR, batch_size=args.batch_size
                )
                import_s, client_s = time.perf_counter() - started, time.process_time() - cpu
            with factory() as session:
                stored = session.scalar(text("SELECT count(*) FROM orders"))
                commissions = session.scalar(text("SELECT count(*) FROM commissions"))
                attributed = session.scalar(text("SELECT count(*) FROM orders WHERE member_id IS NOT NULL"))
                assert ledger.unbalanced_postings(session) == [], "unbalanced postings"
                assert sum(ledger.ledger_sums(session).values()) == 0
                earned = session.execute(
                    text(
                        "SELECT (SELECT sum(commission_fen) FROM orders), (SELECT sum(amount_fen) FROM commissions),"
                        " (SELECT sum(amount_fen) FROM ledger_entries WHERE account = 'pending')"
                    )
                ).one()
                assert len(set(earned)) == 1, f"commission totals disagree: {earned}"
                server_s = _server_cpu(session)
            _closed(factory)
            with factory() as session:
                wal_after = _wal(session)
            assert stored == orders, stored
            assert not report.errors, report.errors[:3]
            with tempfile.TemporaryDirectory() as tmp:
                indexed_s, bare_s, per_table = _storage_floor(url, Path(tmp))
        print(f"orders {orders:,} ({lines:,} lines, {attributed:,} attributed, {commissions:,} commissions)")
        print(f"COPY of the order lines into a plain table: {copy_s:.2f} s")
        print(
            f"neigou orders import:                      {import_s:.2f} s ({orders / import_s:,.0f} orders/s)"
        )
        print(f"ratio import / COPY: {import_s / copy_s:.1f}")
        print(f"CPU of the import: client {client_s:.2f} s, database server {server_s:.2f} s")
        wal_bytes, fpi, checkpoints = (
            after - before for after, before in zip(wal_after, wal_before, strict=True)
        )
        print(
            f"WAL during the import (whole server): {wal_bytes / 2**20:,.0f} MiB, {fpi:,} full-page images,"
            f" {checkpoints} checkpoints"
        )
        print(
            f"storage floor, the stored rows COPYed into tables like the import's: {indexed_s:.2f} s"
            f" (ratio {indexed_s / copy_s:.1f}); into the same tables without indexes: {bare_s:.2f} s"
            f" (ratio {bare_s / copy_s:.1f})"
        )
        shares = ", ".join(f"{table} {seconds:.2f} s" for table, seconds in per_table.items())
        print(f"storage floor with indexes, by table (before the commit): {shares}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
