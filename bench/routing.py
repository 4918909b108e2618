"""Benchmark: choosing the route for a request with the route index (``web.route_index``) against the
router's own scan of every route, in the same run on the same app.

    .venv/bin/python bench/routing.py            # 7 rounds of 500 requests per path and side
    .venv/bin/python bench/routing.py --smoke    # 2 rounds of 200, for scripts/test
    .venv/bin/python bench/routing.py --misses   # paths no route serves (404s), not the nine below

The requests are ASGI calls straight into the app (no server, no HTTP client), anonymous, to pages and
API paths spread over the route list: each is refused at the door (a redirect to the sign-in page, or
401) or answered without the database (``/healthz``), so what differs between the two sides is the
choice of route. Rounds alternate the sides; the figure is the CPU time per request, and the ratio is
indexed / full scan. Both sides must give the same status for every path.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from typing import Any

from fastapi import FastAPI
from starlette.types import Message

from neigou.kit.settings import Settings
from neigou.migrations.runner import upgrade
from neigou.web.app import create_app

PATHS = [
    "/healthz",
    "/api/v1/me",
    "/api/v1/programs/1/reconciliation",
    "/console/programs/1",
    "/console/programs/1/reconciliation",
    "/console/merchant/products",
    "/m/links",
    "/m/customers",
    "/api/v1/nowhere",
]
# Paths no route serves, spread like PATHS: each a 404, none with a trailing-slash variant that is served.
MISSES = [
    "/nowhere",
    "/api/v1/nowhere",
    "/api/v1/programs/1/nowhere",
    "/console/nowhere/at/all",
    "/m/nowhere",
    "/static",
]


async def _call(app: FastAPI, path: str) -> int:
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"localhost"), (b"accept", b"text/html,application/json")],
        "client": ("127.0.0.1", 50000),
        "server": ("localhost", 80),
    }
    status = 0

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


async def _round(app: FastAPI, paths: list[str], requests: int) -> tuple[float, list[int]]:
    statuses = [await _call(app, path) for path in paths]
    began = time.process_time()
    for _ in range(requests):
        for path in paths:
            await _call(app, path)
    return (time.process_time() - began) / (requests * len(paths)), statuses


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--misses", action="store_true", help="paths no route serves")
    args = parser.parse_args()
    paths = MISSES if args.misses else PATHS
    rounds, requests = (2, 200) if args.smoke else (args.rounds, args.requests)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/routing.db"
        upgrade(url)
        app = create_app(Settings(database_url=url, secret_key="bench-" + "k" * 40), start_jobs=False)
        indexed = app.router.middleware_stack
        full = app.router.app
        per_side: dict[str, list[float]] = {"indexed": [], "full scan": []}
        answers: dict[str, list[int]] = {}
        for _ in range(rounds):
            for side, dispatch in (("indexed", indexed), ("full scan", full)):
                app.router.middleware_stack = dispatch
                seconds, statuses = asyncio.run(_round(app, paths, requests))
                per_side[side].append(seconds)
                answers.setdefault(side, statuses)
        app.router.middleware_stack = indexed
    if answers["indexed"] != answers["full scan"]:
        raise SystemExit(f"the sides answered differently: {answers}")
    print(
        f"paths: {len(paths)} ({', '.join(f'{p} {s}' for p, s in zip(paths, answers['indexed'], strict=True))})"
    )
    medians = {side: statistics.median(values) for side, values in per_side.items()}
    for side, median in medians.items():
        print(f"{side:>10}: {median * 1e6:7.1f} µs of CPU a request (median of {rounds} rounds)")
    print(f"ratio indexed / full scan: {medians['indexed'] / medians['full scan']:.2f}")


if __name__ == "__main__":
    main()
