"""A real server for tests that need one: ``uvicorn neigou.web.app:create_app`` in a child process, on
a free port and this run's database, with the default admission settings unless told otherwise."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import SECRET

STALLED_AFTER = 180.0  # seconds without an answer: the server stalled (not a measure of speed)
UNSET = ("NEIGOU_REDIS_URL", "PROMETHEUS_MULTIPROC_DIR", "NEIGOU_MAX_IN_FLIGHT", "NEIGOU_QUEUE_WAIT_MS")


@dataclass(frozen=True)
class Served:
    base: str
    log_path: Path
    process: subprocess.Popen[bytes]

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve(database_url: str, folder: Path, **settings: str) -> Iterator[Served]:
    """The server, once ``/healthz`` answers; ``settings`` are extra environment (``NEIGOU_…``).
    Stopped (SIGTERM) on the way out unless the test stopped it."""
    env = {
        **os.environ,
        "NEIGOU_DATABASE_URL": database_url,
        "NEIGOU_SECRET_KEY": SECRET,
        "NEIGOU_JOBS_BACKEND": "immediate",
        "NEIGOU_JOBS_PATH": str(folder / "jobs.db"),
        "NEIGOU_CLICK_WRITER": "thread",
    }
    for name in UNSET:
        env.pop(name, None)
    env.update(settings)
    port = _free_port()
    log_path = folder / "server.log"
    command = [sys.executable, "-m", "uvicorn", "neigou.web.app:create_app", "--factory"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log"]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=log)
        served = Served(f"http://127.0.0.1:{port}", log_path, process)
        try:
            deadline = time.monotonic() + STALLED_AFTER
            while time.monotonic() < deadline and process.poll() is None:
                try:
                    if httpx.get(f"{served.base}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            else:
                pytest.fail("the server did not start:\n" + served.log()[-3000:])
            yield served
        finally:
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=STALLED_AFTER)
