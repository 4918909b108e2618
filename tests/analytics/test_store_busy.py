"""An analytics store file another process holds (DuckDB lets one process open a file) answers 503 with
a code and a Retry-After, in the reader's language, instead of a 500."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from neigou.analytics import runtime

HOLD = """
import sys, duckdb
connection = duckdb.connect(sys.argv[1])
print("held", flush=True)
sys.stdin.read()  # until the test closes our stdin
"""


@pytest.fixture
def held(tmp_path: Path) -> Iterator[Path]:
    """A DuckDB file opened by another process for as long as the test runs."""
    path = tmp_path / "analytics.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        yield path
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=30)
        runtime.close_all()


@pytest.mark.parametrize(("lang", "words"), [("zh-CN", "另一个进程"), ("en", "another process")])
def test_a_store_held_by_another_process_answers_503(
    app: FastAPI, client: TestClient, operator: dict[str, str], held: Path, *, lang: str, words: str
) -> None:
    app.state.settings = app.state.settings.model_copy(update={"analytics_url": f"duckdb:///{held}"})
    response = client.post("/api/v1/analytics/refresh", headers={**operator, "Accept-Language": lang})
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert int(response.headers["retry-after"]) > 0
    body = response.json()
    assert body["code"] == "analytics_store_busy"
    assert words in body["detail"]
    assert str(held) not in body["detail"]  # the file's path and the holder's pid stay on the server
