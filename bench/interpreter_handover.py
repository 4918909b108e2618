"""Benchmark: how long a thread waiting on PostgreSQL waits for the interpreter once the server has
answered, while another thread is busy in Python (the order import's writer beside its reading and
preparing threads), at the interpreter's default switch interval and at the import's
(``orders.importer.SWITCH_INTERVAL_S``). The baseline, measured in the same run, is the same round trip
with no busy thread.

    .venv/bin/python bench/interpreter_handover.py                # 2,000 round trips per setting
    .venv/bin/python bench/interpreter_handover.py --trips 200    # smoke

Needs PostgreSQL (NEIGOU_BENCH_PG_URL, default postgresql+psycopg://postgres@127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time

import psycopg

from neigou.orders.importer import SWITCH_INTERVAL_S

ADMIN_URL = os.environ.get("NEIGOU_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
DEFAULT_INTERVAL_S = 0.005


def _round_trip_s(conn: psycopg.Connection[tuple[object, ...]], trips: int) -> float:
    """Mean seconds of ``SELECT 1``, sent and answered."""
    cursor = conn.cursor()
    for _ in range(20):
        cursor.execute("SELECT 1")
    started = time.perf_counter()
    for _ in range(trips):
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return (time.perf_counter() - started) / trips


def _with_busy_thread(conn: psycopg.Connection[tuple[object, ...]], trips: int, interval_s: float) -> float:
    stop = threading.Event()

    def busy() -> None:
        total = 0
        while not stop.is_set():
            total += sum(range(200))

    previous = sys.getswitchinterval()
    sys.setswitchinterval(interval_s)
    thread = threading.Thread(target=busy)
    thread.start()
    try:
        return _round_trip_s(conn, trips)
    finally:
        stop.set()
        thread.join()
        sys.setswitchinterval(previous)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--trips", type=int, default=2000)
    args = parser.parse_args()
    with psycopg.connect(ADMIN_URL.replace("postgresql+psycopg://", "postgresql://")) as conn:
        alone = _round_trip_s(conn, args.trips)
        print(f"round trip, no busy thread (baseline): {alone * 1000:.3f} ms")
        for interval in (DEFAULT_INTERVAL_S, SWITCH_INTERVAL_S):
            busy = _with_busy_thread(conn, args.trips, interval)
            print(
                f"round trip beside a busy thread, switch interval {interval * 1000:.1f} ms:"
                f" {busy * 1000:.3f} ms (ratio {busy / alone:.1f})"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
