"""A platform's order file is read once, its orders held whole only within ``MAX_ORDER_ROWS`` rows: an
order of more rows (one order on every row of the file) is skipped ``too_many_lines`` with all
its rows, memory bounded; a row further from the rest of its order is reported, not stored as another
order."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit import tabular
from neigou.kit.i18n import translate
from neigou.platforms import files
from neigou.platforms.files import MAX_ORDER_ROWS, TOO_LONG, FileFetcher
from neigou.platforms.rows import Platform
from tests.platforms.builders import Feeds, feeds_world, jd_row
from tests.platforms.test_nul_orders import _import, _stored, _write

pytestmark = pytest.mark.world_per_module


@pytest.fixture(scope="module")
def world(module_client: TestClient, module_operator: dict[str, str], module_factory: Any) -> Feeds:
    return feeds_world(module_client, module_operator, module_factory)


def _fillers(count: int, start: int) -> list[dict[str, Any]]:
    """Rows of other orders, each skipped on its face (a status not taken in): cheap to apply."""
    return [jd_row(start + n, 1001, valid_code=999) for n in range(count)]


def test_the_file_is_read_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    opened = [0]
    real: Callable[..., Any] = tabular.read_table

    def counted(*args: Any, **kwargs: Any) -> Any:
        opened[0] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(files, "read_table", counted)
    rows = [jd_row(1, 1), {**jd_row(2, 1), "skuName": "x\x00"}, jd_row(2, 2), jd_row(1, 2)]
    batches = list(
        FileFetcher(Platform.JD_UNION, _write(tmp_path / "a.csv", Platform.JD_UNION, rows), 1).batches()
    )
    assert opened[0] == 1
    assert [len(b.rows) for b in batches] == [4]  # order 1's rows are apart, order 2's between them
    assert batches[0].nul_rows == {1}


def test_an_order_spreading_over_too_many_rows_is_skipped_whole(
    factory: sessionmaker[Session], tmp_path: Path, world: Feeds
) -> None:
    link = world.w.link
    big = [jd_row(610001, 2000 + n, sub_union_id=link) for n in range(MAX_ORDER_ROWS + 20)]
    rows = [jd_row(610000, 1001, sub_union_id=link), *big, jd_row(610002, 1001, sub_union_id=link)]
    report = _import(
        factory, world, FileFetcher(Platform.JD_UNION, _write(tmp_path / "a.csv", Platform.JD_UNION, rows))
    )
    assert [s.index for s in report.skipped] == list(range(1, len(big) + 1))
    assert {(s.code, s.message) for s in report.skipped} == {("too_many_lines", TOO_LONG)}
    assert translate(TOO_LONG, "zh-CN") == (
        f"该行随整单跳过：该订单在文件中超过 {MAX_ORDER_ROWS} 行，超出一个订单应有的行数。"
    )
    assert _stored(factory, world.w.program_id) == {"610000": 1, "610002": 1}


def test_an_orders_rows_within_the_window_go_in_together_and_a_row_past_it_is_reported(
    factory: sessionmaker[Session], tmp_path: Path, world: Feeds
) -> None:
    link = world.w.link
    near = [
        jd_row(620001, 1, sub_union_id=link),
        *_fillers(300, 700000),
        jd_row(620001, 2, sub_union_id=link),
    ]
    far = [jd_row(620002, 1, sub_union_id=link), *_fillers(MAX_ORDER_ROWS + 10, 800000)]
    far.append(jd_row(620002, 2, sub_union_id=link))
    rows = [*near, *far]
    report = _import(
        factory,
        world,
        FileFetcher(Platform.JD_UNION, _write(tmp_path / "a.csv", Platform.JD_UNION, rows), 50),
    )
    ours = {i for i, r in enumerate(rows) if str(r["orderId"]).startswith("62")}
    late = [(s.index, s.code) for s in report.skipped if s.index in ours]
    assert late == [(len(rows) - 1, "line_after_order")]
    stored = _stored(factory, world.w.program_id)
    assert (stored["620001"], stored["620002"]) == (2, 1)


def test_an_order_spread_wider_than_the_window_keeps_its_first_part(
    factory: sessionmaker[Session], tmp_path: Path, world: Feeds
) -> None:
    """Each row within the window of the one before, the three further apart than the window: the first
    part goes in and the row past it is reported, as for a row far from the rest (not all skipped)."""
    link = world.w.link
    rows = [
        jd_row(650001, 1, sub_union_id=link),
        *_fillers(300, 900000),
        jd_row(650001, 2, sub_union_id=link),
        *_fillers(300, 910000),
        jd_row(650001, 3, sub_union_id=link),
    ]
    report = _import(
        factory,
        world,
        FileFetcher(Platform.JD_UNION, _write(tmp_path / "a.csv", Platform.JD_UNION, rows), 50),
    )
    ours = {i for i, r in enumerate(rows) if str(r["orderId"]) == "650001"}
    assert [(s.index, s.code) for s in report.skipped if s.index in ours] == [
        (len(rows) - 1, "line_after_order")
    ]
    assert _stored(factory, world.w.program_id)["650001"] == 2


def test_one_order_on_every_row_is_not_held_in_memory(tmp_path: Path) -> None:
    count = 30_000
    path = _write(tmp_path / "a.csv", Platform.JD_UNION, [jd_row(630001, n) for n in range(count)])
    tracemalloc.start()
    try:
        batches, largest = 0, 0
        for batch in FileFetcher(Platform.JD_UNION, path).batches():
            batches += 1
            largest = max(largest, len(batch.rows))
            assert set(batch.skips) == set(range(len(batch.rows)))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert largest <= files.FILE_BATCH + 2 * MAX_ORDER_ROWS
    assert batches >= count // (files.FILE_BATCH + 2 * MAX_ORDER_ROWS)
    assert peak < 16 << 20


def test_a_later_part_of_an_order_skipped_for_a_nul_is_skipped_too(tmp_path: Path) -> None:
    rows = [
        {**jd_row(640001, 1), "skuName": "x\x00"},
        *_fillers(MAX_ORDER_ROWS + 10, 900000),
        jd_row(640001, 2),
    ]
    path = _write(tmp_path / "a.csv", Platform.JD_UNION, rows)
    batches = list(FileFetcher(Platform.JD_UNION, path).batches())
    assert batches[0].nul_rows == {0}
    assert batches[-1].nul_orders == {"640001"}
    assert len(batches) > 1
    assert batches[-1].rows[-1]["skuId"] == "2"
