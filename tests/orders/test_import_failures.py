"""A failed import leaves nothing on its pooled connection but its checkpoint: no staging table, no
staged row, no session setting or lock; the next import on that connection, or one running beside
it on another, sees none of its rows."""

from __future__ import annotations

import gc
import json
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.db import make_engine, make_session_factory
from neigou.ledger.models import Posting
from neigou.orders import importer, ingest
from neigou.orders.models import ImportCheckpoint, Order
from tests.conftest import BACKEND, SECRET, TEST_ACTOR
from tests.orders.builders import SKU, World, assert_ledger_balanced, balance, build

BATCH = 50  # a batch this big is written set-based (staging tables) on PostgreSQL
PER_ORDER = 400  # the seller's commission on one order of the file


def _jsonl(w: World, path: Path, prefix: str, orders: int) -> Path:
    lines = [
        json.dumps(
            {
                "external_id": f"{prefix}-{n}",
                "customer_ref": f"{prefix}-c{n}",
                "link_code": w.link,
                "paid_at": "2026-03-01T04:00:00Z",
                "items": [{"sku": SKU, "quantity": 1, "paid_fen": 10_000}],
            }
        )
        for n in range(orders)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def one_connection(database_url: str) -> Iterator[Engine]:
    """An engine whose pool holds one connection: every session of an import reuses it."""
    engine = make_engine(database_url, pool_size=1, max_overflow=0)
    yield engine
    engine.dispose()


def _leftovers(engine: Engine) -> dict[str, Any]:
    """What a connection of the pool carries from its earlier users (PostgreSQL)."""
    with engine.connect() as conn:
        return {
            "temp_tables": conn.scalar(
                text("SELECT count(*) FROM pg_class WHERE relnamespace = pg_my_temp_schema()")
            ),
            "enable_nestloop": conn.scalar(text("SHOW enable_nestloop")),
            "advisory_locks": conn.scalar(
                text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()")
            ),
        }


CLEAN = {"temp_tables": 0, "enable_nestloop": "on", "advisory_locks": 0}


def _external_ids(factory: sessionmaker[Session]) -> set[str]:
    with factory() as session:
        return set(session.scalars(select(Order.external_id)))


def _fail_once(monkeypatch: pytest.MonkeyPatch, where: str) -> type[BaseException]:
    """Fail the import once, on its second batch: ``writer``, the writer raises after the batch was
    staged and written in its transaction; ``interrupt``, Ctrl-C once the batch was prepared, while
    the first one may still be being written."""
    calls = {"n": 0}
    if where == "writer":
        real_fill = ingest._fill_duplicates

        def failing_fill(*args: Any, **kwargs: Any) -> None:
            calls["n"] += 1
            if calls["n"] == 2:
                raise RuntimeError("the writer failed")
            real_fill(*args, **kwargs)

        monkeypatch.setattr(ingest, "_fill_duplicates", failing_fill)
        return RuntimeError
    real_prepare = ingest.prepare

    def interrupted(*args: Any, **kwargs: Any) -> ingest.Prepared:
        prepared = real_prepare(*args, **kwargs)
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return prepared

    monkeypatch.setattr(importer, "prepare", interrupted)
    return KeyboardInterrupt


@pytest.mark.parametrize("where", ["writer", "interrupt"])
def test_a_batch_failing_after_staging_leaves_nothing_for_the_next_import_on_its_connection(  # noqa: PLR0917 - fixtures
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    one_connection: Engine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    where: str,
) -> None:
    w = build(client, operator, factory, max_levels=2)
    pooled = make_session_factory(one_connection)
    failing = _jsonl(w, tmp_path / "failing.jsonl", "F", 2 * BATCH + 10)
    error = _fail_once(monkeypatch, where)  # batch 1 commits, batch 2 fails
    interpreter = (sys.getswitchinterval(), gc.get_threshold(), gc.get_freeze_count() > 0)
    with pytest.raises(error):
        importer.import_file(
            pooled, failing, secret_key=SECRET, actor=TEST_ACTOR, program_id=w.program_id, batch_size=BATCH
        )
    # The import's interpreter settings (switch interval, collector threshold) are the process's again,
    # whatever stopped it, and objects the process froze (the app does at its start) are still frozen.
    assert (sys.getswitchinterval(), gc.get_threshold(), gc.get_freeze_count() > 0) == interpreter
    committed = {f"F-{n}" for n in range(BATCH)}
    assert _external_ids(factory) == committed
    with factory() as session:
        checkpoint = session.scalars(select(ImportCheckpoint)).one()
        assert (checkpoint.rows_done, checkpoint.imported, checkpoint.finished) == (BATCH, BATCH, False)
    if BACKEND == "postgresql":
        assert _leftovers(one_connection) == CLEAN

    monkeypatch.undo()
    second = _jsonl(w, tmp_path / "second.jsonl", "S", BATCH + 5)
    report = importer.import_file(
        pooled, second, secret_key=SECRET, actor=TEST_ACTOR, program_id=w.program_id, batch_size=BATCH
    )
    assert (report.imported, report.duplicates, report.errors, report.finished) == (BATCH + 5, 0, [], True)
    assert _external_ids(factory) == committed | {f"S-{n}" for n in range(BATCH + 5)}
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(Posting)) == 2 * BATCH + 5
    assert balance(client, operator, w.seller)["pending_fen"] == (2 * BATCH + 5) * PER_ORDER
    assert_ledger_balanced(factory)
    if BACKEND == "postgresql":
        assert _leftovers(one_connection) == CLEAN


@pytest.mark.postgres_only
def test_two_imports_at_once_never_see_each_others_staged_rows(  # noqa: PLR0917 - fixtures
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    w = build(client, operator, factory, max_levels=2)
    engine = make_engine(database_url, pool_size=2, max_overflow=0)
    pooled = make_session_factory(engine)
    both_staged = threading.Barrier(2, timeout=30)
    real = ingest._fill_duplicates

    def meet(*args: Any, **kwargs: Any) -> None:
        both_staged.wait()  # each import's rows are staged and written, neither has committed
        real(*args, **kwargs)

    monkeypatch.setattr(ingest, "_fill_duplicates", meet)
    files = {p: _jsonl(w, tmp_path / f"{p}.jsonl", p, BATCH + 10 * i) for i, p in enumerate(("A", "B"))}
    reports: dict[str, importer.ImportReport] = {}
    failures: list[BaseException] = []

    def run(prefix: str) -> None:
        try:
            reports[prefix] = importer.import_file(
                pooled,
                files[prefix],
                secret_key=SECRET,
                actor=TEST_ACTOR,
                program_id=w.program_id,
                batch_size=2 * BATCH,
            )
        except BaseException as exc:  # raised in the test below
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(p,)) for p in files]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert failures == []
        assert {p: (r.imported, r.duplicates) for p, r in reports.items()} == {
            "A": (BATCH, 0),
            "B": (BATCH + 10, 0),
        }
        assert _external_ids(factory) == {f"A-{n}" for n in range(BATCH)} | {
            f"B-{n}" for n in range(BATCH + 10)
        }
        assert balance(client, operator, w.seller)["pending_fen"] == (2 * BATCH + 10) * PER_ORDER
        assert_ledger_balanced(factory)
        with engine.connect() as first, engine.connect() as second:  # both connections of the pool
            for conn in (first, second):
                assert (
                    conn.scalar(
                        text("SELECT count(*) FROM pg_class WHERE relnamespace = pg_my_temp_schema()")
                    )
                    == 0
                )
                assert conn.scalar(text("SHOW enable_nestloop")) == "on"
    finally:
        engine.dispose()


def test_the_import_lowers_the_switch_interval_while_it_runs_only(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    w = build(client, operator, factory, max_levels=2)
    before = sys.getswitchinterval()
    seen: list[float] = []
    original = ingest.prepare

    def recording(*args: Any, **kwargs: Any) -> Any:
        seen.append(sys.getswitchinterval())
        return original(*args, **kwargs)

    monkeypatch.setattr(importer, "prepare", recording)
    path = _jsonl(w, tmp_path / "orders.jsonl", "I", BATCH + 1)
    report = importer.import_file(
        factory, path, secret_key=SECRET, actor=TEST_ACTOR, program_id=w.program_id, batch_size=BATCH
    )
    assert report.imported == BATCH + 1
    assert seen == [min(before, importer.SWITCH_INTERVAL_S)] * 2
    assert sys.getswitchinterval() == before
