"""Where an order import's time goes: the benchmark's file and database, but the three phases of each
batch run one after the other on one thread, each timed (wall and CPU) on its own, and one of them
optionally profiled with cProfile.

    .venv/bin/python bench/order_import_phases.py                      # 50,000 orders
    .venv/bin/python bench/order_import_phases.py --orders 20000 --profile prepare
    .venv/bin/python bench/order_import_phases.py --parts       # prepare's parts, each timed alone

``parse`` reads and parses the file (the import's reader thread), ``prepare`` checks, attributes and
prices a batch (its main thread), ``finish`` writes and commits it (its writer thread, mostly waiting
on the server). The import overlaps the three; here their sum is the work, and the server's CPU is
read as in ``bench_order_import``.

``--parts`` times the parts of ``prepare`` (thread CPU, summed over the batches) by wrapping the
functions that do them; each timed call adds about 0.2 µs, and the nested parts are inside their
parent's time.
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import functools
import gc
import pstats
import random
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path

from bench_order_import import ADMIN_URL, BENCH_SECRET, _server_cpu, _setup, _write_orders
from scratch import scratch_postgres
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.db import opened_database
from neigou.links import lookups as link_lookups
from neigou.links import order_attribution
from neigou.migrations.runner import upgrade
from neigou.orders import batch_rows, importer, ingest, lookups
from neigou.orders.ingest import finish, prepare
from neigou.orders.models import OrderSource

PHASES = ("parse", "prepare", "finish")
# The parts of ``prepare`` timed by ``--parts``: (owner, function, label); an indented label is part
# of the one above it.
PARTS: tuple[tuple[object, str, str], ...] = (
    (ingest._Batch, "__init__", "the batch's look-ups"),
    (ingest, "_hashes", "  the customer hashes"),
    (lookups, "programs", "  the programs"),
    (lookups, "product_terms", "  the products"),
    (lookups, "tiers", "  the tiers"),
    (ingest._Batch, "check", "the face checks"),
    (ingest._Batch, "attribute", "the attribution"),
    (link_lookups, "links_by_code", "  the links"),
    (link_lookups, "buyers", "  the buyers' memberships"),
    (order_attribution, "_touches", "  the touches or bindings"),
    (order_attribution, "_decide", "  the rule, per order or distinct link pair"),
    (ingest, "_build", "the new orders built"),
    (lookups, "member_facts", "  the members' facts"),
    (ingest, "OfferBook", "  the offers book"),
    (batch_rows, "chain", "  the chains (one per seller unless known)"),
    (batch_rows, "priced_lines", "  the priced lines"),
    (batch_rows, "snapshot_of", "  the offers snapshots"),
    (ingest, "next_ids", "the new orders' ids"),
)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=50_000)
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--profile", choices=PHASES, help="profile this phase (cProfile, by own time)")
    parser.add_argument("--parts", action="store_true", help="time the parts of prepare (thread CPU)")
    args = parser.parse_args()
    spent = {phase: [0.0, 0.0] for phase in PHASES}
    parts: collections.defaultdict[str, float] = collections.defaultdict(float)
    profile = cProfile.Profile()
    rng = random.Random(20260324)
    with scratch_postgres(ADMIN_URL, "neigou_phases") as url:
        upgrade(url)
        with opened_database(url) as factory:
            with factory() as session:
                codes = _setup(session, rng)
            with tempfile.TemporaryDirectory() as tmp, ExitStack() as timing:
                path = Path(tmp) / "orders.csv"
                _write_orders(path, args.orders, codes, rng)
                if args.parts:
                    for owner, name, label in PARTS:
                        timing.enter_context(_timed_part(owner, name, label, parts))
                _run(
                    factory,
                    path,
                    batch_size=args.batch_size,
                    spent=spent,
                    profile=profile if args.profile else None,
                    profiled=args.profile,
                )
            with factory() as session:
                stored = session.scalar(text("SELECT count(*) FROM orders"))
                server_s = _server_cpu(session)
    print(f"orders {stored:,}; database server CPU {server_s:.2f} s")
    for phase, (wall, cpu) in spent.items():
        print(f"{phase:8} wall {wall:6.2f} s  CPU {cpu:6.2f} s")
    for _owner, _name, label in PARTS if args.parts else ():
        print(f"  {label:46} CPU {parts[label]:6.2f} s")
    if args.profile:
        pstats.Stats(profile).sort_stats("tottime").print_stats(30)
    return 0


@contextmanager
def _timed_part(
    owner: object, name: str, label: str, parts: collections.defaultdict[str, float]
) -> Iterator[None]:
    """``owner.name`` wrapped to add its thread CPU to ``parts[label]``, put back on the way out."""
    function: Callable[..., object] = getattr(owner, name)

    @functools.wraps(function)
    def timed(*args: object, **kwargs: object) -> object:
        started = time.thread_time()
        try:
            return function(*args, **kwargs)
        finally:
            parts[label] += time.thread_time() - started

    setattr(owner, name, timed)
    try:
        yield
    finally:
        setattr(owner, name, function)


def _run(
    factory: sessionmaker[Session],
    path: Path,
    *,
    batch_size: int,
    spent: dict[str, list[float]],
    profile: cProfile.Profile | None,
    profiled: str | None,
) -> None:
    """Import the file batch by batch, the phases one after the other, adding their times to ``spent``."""

    @contextmanager
    def timed(phase: str) -> Iterator[None]:
        wall, cpu = time.perf_counter(), time.thread_time()
        if profile is not None and phase == profiled:
            profile.enable()
        try:
            yield
        finally:
            if profile is not None and phase == profiled:
                profile.disable()
            spent[phase][0] += time.perf_counter() - wall
            spent[phase][1] += time.thread_time() - cpu

    gc.freeze()
    gc.set_threshold(importer.GC_YOUNG, *gc.get_threshold()[1:])  # as import_file does
    batches = importer._batches(importer._parsed(path, None, 0, None), 0, batch_size)
    while True:
        with timed("parse"):
            item = next(batches, None)
        if item is None:
            return
        if not item.orders:
            continue
        at = datetime.now(UTC)
        with factory() as session, timed("prepare"):
            prepared = prepare(
                session, item.orders, secret_key=BENCH_SECRET, source=OrderSource.IMPORT, now=at, clock=at
            )
        with factory() as session, timed("finish"):
            result = finish(session, prepared)
            session.commit()
        assert not result.errors, result.errors[:3]


if __name__ == "__main__":
    sys.exit(main())
