"""A small HTTP/1.1 load generator in its own process: exactly ``--requests`` GETs over ``--connections``
keep-alive connections (raw asyncio streams, so the client is not the bottleneck); prints JSON."""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections import Counter

UA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 MicroMessenger/8.0.47"


async def _worker(host: str, port: int, request: bytes, jobs: list[int], statuses: Counter[int]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while jobs:
            jobs.pop()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if length:
                await reader.readexactly(length)
            statuses[status] += 1
    finally:
        writer.close()


async def run(host: str, port: int, path: str, requests: int, connections: int) -> dict[str, object]:
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: {UA}\r\nAccept: */*\r\n\r\n"
    ).encode()
    jobs = list(range(requests))
    statuses: Counter[int] = Counter()
    started = time.perf_counter()
    await asyncio.gather(*(_worker(host, port, request, jobs, statuses) for _ in range(connections)))
    seconds = time.perf_counter() - started
    done = sum(statuses.values())
    return {
        "requests": done,
        "seconds": round(seconds, 3),
        "rps": round(done / seconds, 1),
        "statuses": dict(statuses),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", required=True)
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    import uvloop  # uvicorn[standard] brings it; the servers run on it too

    result = uvloop.run(run(args.host, args.port, args.path, args.requests, args.connections))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
