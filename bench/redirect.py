"""Benchmark: ``GET /l/{code}`` through the real neigou app against a bare Starlette app returning the
same 302, on the same uvicorn settings, in the same run; clicks really recorded (rows counted after
each app run must equal the requests it answered).

    .venv/bin/python bench/redirect.py            # full: 7 rounds of 30,000 requests each
    .venv/bin/python bench/redirect.py --smoke    # a few seconds, for scripts/test

Each server is one uvicorn worker (httptools, uvloop, no access log) pinned to CPU 0; the load
generator (bench/loadgen.py) is a separate process pinned to CPU 1. neigou's click writer process,
which does the database writes, stays beside its web server on CPU 0 (``--writer-cpu 1`` moves it
beside the load generator). Rounds alternate bare/app (many short rounds: a shared machine's speed
drifts between runs); the CPU time each process used is reported per request.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from scratch import scratch_postgres
from sqlalchemy import func, select

from neigou.kit.actor import Actor
from neigou.kit.db import opened_database, transaction
from neigou.links import service
from neigou.links.models import LinkClick
from neigou.links.schemas import LinkCreate
from neigou.migrations.runner import upgrade
from neigou.offers import catalog_service
from neigou.offers.schemas import ProductCreate
from neigou.programs import service as programs
from neigou.programs.schemas import MemberCreate, ProgramCreate, TierIn

ROOT = Path(__file__).resolve().parent.parent
ACTOR = Actor(kind="cli", ref="bench", label="bench")
TARGET = 0.70
BENCH_KEY = "bench-only-key"  # hashes nothing personal here


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _pin(cpu: int) -> list[str]:
    return ["taskset", "-c", str(cpu)] if (os.cpu_count() or 1) >= 2 and _has("taskset") else []


def _has(tool: str) -> bool:
    return any((Path(d) / tool).exists() for d in os.environ.get("PATH", "").split(os.pathsep))


def seed(url: str) -> str:
    """A program, a member, a product and one share link; returns its code."""
    upgrade(url)
    with opened_database(url) as factory, transaction(factory) as session:
        program = programs.create_program(
            session,
            data=ProgramCreate(code="bench", name="bench"),
            default_timezone="Asia/Shanghai",
            actor=ACTOR,
        )
        programs.replace_tiers(  # a program without a ladder takes no links
            session,
            program_id=program.id,
            tiers=[TierIn(code="member", name="会员", rank=1, share_bp=2000)],
            actor=ACTOR,
        )
        member = programs.create_member(
            session, program_id=program.id, data=MemberCreate(name="群主"), secret_key=BENCH_KEY, actor=ACTOR
        )
        catalog_service.create_product(
            session,
            data=ProductCreate(sku="BENCH-1", title="洗发水", price_fen=4990, commission_rate_bp=2000),
            actor=ACTOR,
        )
        link = service.create_link(session, data=LinkCreate(member_id=member.id, sku="BENCH-1"), actor=ACTOR)
        return link.code


def serve(target: list[str], env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    """Start one uvicorn worker (its output to ``log``) and wait until it answers."""
    command = [*_pin(0), sys.executable, "-m", "uvicorn", *target, "--host", "127.0.0.1", "--port", str(port)]
    command += ["--log-level", "warning", "--no-access-log", "--http", "httptools", "--loop", "uvloop"]
    with log.open("ab") as out:
        process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=out, stderr=out)  # noqa: S603 - our own modules
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"server {target} did not start; see {log}")


def stop(process: subprocess.Popen[bytes]) -> None:
    """A clean shutdown (SIGINT): neigou's lifespan flushes the click buffer here."""
    process.send_signal(signal.SIGINT)
    process.wait(timeout=60)


def load(port: int, path: str, requests: int, connections: int) -> dict[str, object]:
    """Run the load generator in its own process."""
    command = [
        *_pin(1),
        sys.executable,
        str(ROOT / "bench" / "loadgen.py"),
        "--port",
        str(port),
        "--path",
        path,
    ]
    command += ["--requests", str(requests), "--connections", str(connections)]
    out = subprocess.run(command, check=True, capture_output=True, text=True, cwd=ROOT).stdout  # noqa: S603
    result: dict[str, object] = json.loads(out)
    return result


def writer_pids(server: subprocess.Popen[bytes]) -> list[int]:
    """The server's child processes: neigou's click writer and multiprocessing's (idle) resource
    tracker; none for the bare app."""
    pids: list[int] = []
    for task in Path(f"/proc/{server.pid}/task").glob("*/children"):
        pids += [int(pid) for pid in task.read_text().split()]
    return pids


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


SERVICES = {"postgres", "redis-server"}  # process names of the servers clicks pass through


def server_cpu() -> dict[int, float]:
    """CPU seconds so far of every PostgreSQL and Redis server process on this machine (by pid)."""
    used: dict[int, float] = {}
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() in SERVICES:
                used[int(comm.parent.name)] = cpu_seconds(int(comm.parent.name))
        except (OSError, ValueError):
            continue  # the process ended meanwhile
    return used


def server_cpu_since(before: dict[int, float]) -> float:
    """CPU seconds those servers used since ``before`` (processes started since count whole)."""
    return sum(now - before.get(pid, 0.0) for pid, now in server_cpu().items())


def place_writer(server: subprocess.Popen[bytes], cpu: int) -> list[int]:
    """Pin the server's child processes to ``cpu`` (where the machine has it)."""
    pids = writer_pids(server)
    if (os.cpu_count() or 1) > cpu:
        for pid in pids:
            os.sched_setaffinity(pid, {cpu})
    return pids


def count_clicks(url: str) -> int:
    with opened_database(url) as factory, factory() as session:
        return int(session.scalar(select(func.count(LinkClick.id))) or 0)


def arguments() -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--smoke", action="store_true", help="small size, one round")
    parser.add_argument("--requests", type=int, default=30_000)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument(
        "--database-url",
        default=None,
        help="a PostgreSQL server (a scratch database is made there and dropped); default: a SQLite file",
    )
    parser.add_argument("--redis-url", default=None, help="record clicks through Redis Streams")
    parser.add_argument(
        "--writer-cpu",
        choices=["0", "1"],
        default="0",
        help="the CPU of neigou's click writer process: 0 (default) beside the web server, "
        "1 beside the load generator",
    )
    return parser.parse_args()


def measure_app(
    env: dict[str, str], path: str, requests: int, args: argparse.Namespace, log: Path
) -> tuple[float, float, float, float]:
    """One neigou round: req/s, and CPU µs a request of the web process, of the click writer and of
    the PostgreSQL and Redis servers (0 on SQLite alone)."""
    port = _free_port()
    app = serve(["neigou.web.app:create_app", "--factory"], env, port, log)
    try:
        pids = (app.pid, *place_writer(app, int(args.writer_cpu)))
        before, servers_before = [cpu_seconds(pid) for pid in pids], server_cpu()
        mine = load(port, path, requests, args.connections)
        used = [cpu_seconds(pid) - was for pid, was in zip(pids, before, strict=True)]
        servers = server_cpu_since(servers_before)
    finally:
        stop(app)
    assert mine["statuses"] == {"302": requests}, mine
    per_request = [seconds / requests * 1e6 for seconds in (used[0], sum(used[1:]), servers)]
    return float(mine["rps"]), *per_request  # type: ignore[arg-type,return-value]


def main() -> int:
    args = arguments()
    requests, rounds = (3_000, 1) if args.smoke else (args.requests, args.rounds)
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        url = (
            stack.enter_context(scratch_postgres(args.database_url, "neigou_bench_redirect"))
            if args.database_url
            else f"sqlite:///{tmp}/bench.db"
        )
        code = seed(url)
        env = {
            "NEIGOU_SECRET_KEY": "bench-" + "k" * 40,  # on PostgreSQL the server refuses the default key
            **os.environ,
            "NEIGOU_DATABASE_URL": url,
            "NEIGOU_JOBS_PATH": f"{tmp}/jobs.db",
            "PYTHONPATH": str(ROOT),
        }
        env.pop("NEIGOU_REDIS_URL", None)
        env.pop("NEIGOU_CLICK_WRITER", None)  # the default: a writer process
        if args.redis_url:
            env["NEIGOU_REDIS_URL"] = args.redis_url
        path = f"/l/{code}"
        bare_rps: list[float] = []
        app_rps: list[float] = []
        answered = 0
        bare_us: list[float] = []
        web_us: list[float] = []
        writer_us: list[float] = []
        servers_us: list[float] = []
        for round_no in range(1, rounds + 1):
            port = _free_port()
            bare = serve(["bench.bare_app:app"], env, port, Path(tmp) / "bare.log")
            try:
                was = cpu_seconds(bare.pid)
                result = load(port, path, requests, args.connections)
                bare_us.append((cpu_seconds(bare.pid) - was) / requests * 1e6)
            finally:
                stop(bare)
            bare_rps.append(float(result["rps"]))  # type: ignore[arg-type]
            rps, web, writer, servers = measure_app(env, path, requests, args, Path(tmp) / "neigou.log")
            app_rps.append(rps)
            web_us.append(web)
            writer_us.append(writer)
            servers_us.append(servers)
            answered += requests
            if args.redis_url:  # the stream's consumers stored what the web process handed over on shutdown
                time.sleep(0.5)
            stored = count_clicks(url)
            print(
                f"round {round_no}: bare {bare_rps[-1]:,.0f} req/s · neigou {app_rps[-1]:,.0f} req/s · "
                f"ratio {app_rps[-1] / bare_rps[-1]:.2f} · clicks stored {stored:,} of {answered:,} answered · "
                f"CPU a request: bare {bare_us[-1]:.0f} µs; web {web_us[-1]:.0f} µs, writer "
                f"{writer_us[-1]:.0f} µs, PostgreSQL/Redis {servers_us[-1]:.0f} µs"
            )
            if stored != answered:
                print(f"FAIL: {answered - stored} clicks lost", file=sys.stderr)
                print((Path(tmp) / "neigou.log").read_text()[-3000:], file=sys.stderr)
                return 1
        ratio = statistics.median(a / b for a, b in zip(app_rps, bare_rps, strict=True))
        print(
            f"redirect: neigou {statistics.median(app_rps):,.0f} req/s against bare Starlette "
            f"{statistics.median(bare_rps):,.0f} req/s → median ratio {ratio:.2f} (target ≥ {TARGET:.2f}); "
            f"{answered:,} clicks recorded, none lost; CPU a request: bare app "
            f"{statistics.median(bare_us):.0f} µs; web process {statistics.median(web_us):.0f} µs, click "
            f"writer {statistics.median(writer_us):.0f} µs (on CPU {args.writer_cpu}), PostgreSQL and Redis "
            f"servers {statistics.median(servers_us):.0f} µs"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
