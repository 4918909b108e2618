"""An import's checkpoint is the file's for the program it is imported for: the same file imported for
another program is a new import (it neither "resumes" past the first's rows nor sends a crashed first
run's remaining rows to the other program), and a rerun for the first program resumes its own."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from neigou.orders import importer, ingest
from neigou.orders.models import Order
from tests.factories import create_program
from tests.orders.builders import SKU, build
from tests.orders.import_files import import_orders


def _orders(factory: sessionmaker[Session], program_id: int) -> int:
    with factory() as session:
        return int(session.scalar(select(func.count()).where(Order.program_id == program_id)) or 0)


def test_a_file_imported_for_another_program_starts_from_its_first_row(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    w = build(client, operator, factory, max_levels=2)
    other = create_program(client, operator, code="others")["id"]
    path = tmp_path / "orders.jsonl"
    rows = [
        {
            "external_id": f"P-{n}",
            "customer_ref": f"c{n}",
            "paid_at": "2026-03-01T04:00:00Z",
            "items": [{"sku": SKU, "quantity": 1, "paid_fen": 10_000}],
        }
        for n in range(10)
    ]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    real = ingest.finish
    calls = {"n": 0}

    def crash_on_third_batch(*args: Any, **kwargs: Any) -> ingest.BatchResult:
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("the machine went away")
        return real(*args, **kwargs)

    monkeypatch.setattr(importer, "finish", crash_on_third_batch)
    with pytest.raises(RuntimeError):
        import_orders(factory, path, program_id=w.program_id, batch_size=3)
    monkeypatch.setattr(importer, "finish", real)
    assert _orders(factory, w.program_id) == 6
    # the other program's import is its own: from the first row, all ten rows its orders
    report = import_orders(factory, path, program_id=other, batch_size=3)
    assert (report.resumed_from, report.rows_done, report.finished) == (0, 10, True)
    assert _orders(factory, other) == report.imported
    again = import_orders(factory, path, program_id=other, batch_size=3)
    assert (again.resumed_from, again.imported) == (10, 0)  # finished: nothing more
    # the first program's run resumes where it crashed, its rest its own
    rest = import_orders(factory, path, program_id=w.program_id, batch_size=3)
    assert (rest.resumed_from, rest.imported, rest.finished) == (6, 4, True)
    assert _orders(factory, w.program_id) == 10
