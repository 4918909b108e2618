"""A platform file's row holding a NUL skips every row of its platform order, wherever the NUL is (the
order id cell, another field, a column not read) and wherever the order's other rows are (before it,
after it, other orders' rows between, within ``files.MAX_ORDER_ROWS``): the other orders go in, and the
fixed file later stores the order whole."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from neigou.orders.models import Order, OrderLine
from neigou.platforms.adapters import NUL_IN_ROW, NUL_NO_ORDER, WITH_NUL_ROW, read_rows
from neigou.platforms.files import FIELDS, FileFetcher
from neigou.platforms.models import PlatformOrder, PlatformOrderLine
from neigou.platforms.order_keys import ORDER_ID, order_key
from neigou.platforms.rows import Platform, PlatformLine, Skip
from neigou.platforms.sync import SyncReport, sync
from tests.conftest import TEST_ACTOR
from tests.orders.builders import PAID_AT
from tests.platforms.builders import Feeds, feeds_world, jd_row, pdd_row, taobao_row

pytestmark = pytest.mark.world_per_module
NOW = PAID_AT.replace(year=PAID_AT.year + 1)
NAME = {Platform.JD_UNION: "skuName", Platform.PDD: "goods_name", Platform.TAOBAO: "item_title"}


@pytest.fixture(scope="module")
def world(module_client: TestClient, module_operator: dict[str, str], module_factory: Any) -> Feeds:
    return feeds_world(module_client, module_operator, module_factory)


def _rows(platform: Platform, link: str) -> tuple[list[dict[str, Any]], str, str]:
    """Three rows: two lines of one order (the first id), one line of another (the second id)."""
    if platform is Platform.JD_UNION:
        rows = [jd_row(520001, 1001, sub_union_id=link), jd_row(520001, 1002, sub_union_id=link)]
        return [*rows, jd_row(520002, 1001, sub_union_id=link)], "520001", "520002"
    if platform is Platform.PDD:
        a, b = pdd_row("261101-000000071", custom=link), pdd_row("261101-000000072", custom=link)
        return [a, {**a, "goods_id": 57412}, b], "261101-000000071", "261101-000000072"
    rows = [
        taobao_row("1800000000000000011", parent="1800000000000000010", relation_id=link),
        taobao_row("1800000000000000012", parent="1800000000000000010", relation_id=link),
        taobao_row("1800000000000000021", parent="1800000000000000020", relation_id=link),
    ]
    return rows, "1800000000000000010", "1800000000000000020"


def _write(path: Path, platform: Platform, rows: list[dict[str, Any]]) -> Path:
    """The rows as the platform's CSV export, with a column neigou does not read (备注)."""
    names = [n for n in FIELDS[platform] if any(r.get(n) not in (None, "") for r in rows)] + ["备注"]
    cells = [[str(r.get(n) if r.get(n) is not None else "") for n in names] for r in rows]
    assert not any("," in c or '"' in c or "\n" in c for line in cells for c in line)
    path.write_text("\n".join(",".join(line) for line in [names, *cells]), encoding="utf-8")
    return path


def _with_nul(platform: Platform, row: dict[str, Any], where: str) -> dict[str, Any]:
    field = {"id": ORDER_ID[platform][0], "cell": NAME[platform], "extra": "备注"}[where]
    return {**row, field: f"{row.get(field) or ''}\x00"}


def _import(factory: sessionmaker[Session], feeds: Feeds, fetcher: FileFetcher) -> SyncReport:
    return sync(
        factory,
        integration_id=feeds.integration_id,
        fetcher=fetcher,
        secret_key="test-secret",
        actor=TEST_ACTOR,
    )


def _stored(factory: sessionmaker[Session], program_id: int) -> dict[str, int]:
    """Each stored platform order's id and its count of lines taken in; a neigou order has as many (a
    line reported after its order was taken in is stored for reconciliation, never taken in)."""
    with factory() as session:
        lines = dict(
            session.execute(
                select(PlatformOrder.external_id, func.count(PlatformOrderLine.id))
                .join(PlatformOrderLine, PlatformOrderLine.platform_order_id == PlatformOrder.id)
                .where(
                    PlatformOrder.program_id == program_id,
                    PlatformOrder.order_id.is_not(None),
                    PlatformOrderLine.taken_fen.is_not(None),
                )
                .group_by(PlatformOrder.external_id)
            ).all()
        )
        taken = dict(
            session.execute(
                select(Order.external_id, func.count(OrderLine.id))
                .join(OrderLine, OrderLine.order_id == Order.id)
                .where(Order.program_id == program_id)
                .group_by(Order.external_id)
            ).all()
        )
    assert taken == lines
    return {str(k): int(v) for k, v in lines.items()}


@pytest.mark.parametrize("platform", list(Platform))
@pytest.mark.parametrize("where", ["id", "cell", "extra"])
@pytest.mark.parametrize("case", [(False, 500, 1), (False, 1, 0), (True, 1, 0), (True, 1, 1)])
def test_a_nul_row_skips_its_whole_order_and_the_fixed_file_stores_it_whole(  # noqa: PLR0917 - fixtures and parameters
    factory: sessionmaker[Session],
    tmp_path: Path,
    world: Feeds,
    platform: Platform,
    where: str,
    case: tuple[bool, int, int],
) -> None:
    """``held`` is the order's row holding the NUL. Batches of one row keep the order's rows together
    when they follow one another, and put its rows ``apart`` (another order between) in other batches,
    before and after the NUL row's."""
    apart, size, held = case
    rows, order, other = _rows(platform, world.w.link)
    broken = [_with_nul(platform, r, where) if i == held else r for i, r in enumerate(rows)]
    if apart:
        broken = [broken[0], broken[2], broken[1]]
    report = _import(
        factory, world, FileFetcher(platform, _write(tmp_path / "a.csv", platform, broken), size)
    )
    assert (report.created, report.updated) == (1, 0)
    indexes = (0, 2) if apart else (0, 1)
    assert [(s.index, s.code) for s in report.skipped] == [(i, "nul_character") for i in indexes]
    assert [s.message for s in report.skipped] == [NUL_IN_ROW if i == held else WITH_NUL_ROW for i in (0, 1)]
    assert _stored(factory, world.w.program_id) == {other: 1}

    fixed = FileFetcher(platform, _write(tmp_path / "b.csv", platform, rows), 500 if apart else size)
    again = _import(factory, world, fixed)
    assert (again.created, again.skipped) == (1, [])
    assert _stored(factory, world.w.program_id) == {order: 2, other: 1}


def test_an_orders_rows_share_a_batch_even_apart(tmp_path: Path) -> None:
    """Else the order went in from the first batch and its next line was skipped ``line_after_order``."""
    rows, _, _ = _rows(Platform.PDD, "code")
    c = {**rows[2], "order_sn": "261101-000000073"}
    path = _write(tmp_path / "a.csv", Platform.PDD, [rows[2], rows[0], rows[1], c])
    assert [len(b.rows) for b in FileFetcher(Platform.PDD, path, 2).batches()] == [3, 1]
    assert [len(b.rows) for b in FileFetcher(Platform.PDD, path, 1).batches()] == [1, 2, 1]
    # the first order's rows with another order's between them (files.MAX_ORDER_ROWS apart at most)
    path = _write(tmp_path / "b.csv", Platform.PDD, [rows[0], rows[2], rows[1], c])
    assert [len(b.rows) for b in FileFetcher(Platform.PDD, path, 1).batches()] == [3, 1]


def test_a_row_whose_order_id_is_only_a_nul_is_skipped_alone(
    factory: sessionmaker[Session], tmp_path: Path, world: Feeds
) -> None:
    """It names no order, so its order cannot be held back: that order goes in without it (as the
    message says), and the others as they are."""
    rows, order, other = _rows(Platform.TAOBAO, world.w.link)
    broken = [rows[0], {**rows[1], "trade_parent_id": "\x00"}, rows[2]]
    fetcher = FileFetcher(Platform.TAOBAO, _write(tmp_path / "a.csv", Platform.TAOBAO, broken))
    report = _import(factory, world, fetcher)
    assert [(s.index, s.code, s.message) for s in report.skipped] == [(1, "nul_character", NUL_NO_ORDER)]
    assert _stored(factory, world.w.program_id) == {order: 1, other: 1}


def test_rows_are_grouped_by_each_platforms_order_id_without_nul_or_spaces() -> None:
    assert order_key(Platform.JD_UNION, {"orderId": 520001}) == "520001"
    assert order_key(Platform.JD_UNION, {"orderId": " 520001\x00", "parentId": "9"}) == "520001"
    assert order_key(Platform.PDD, {"order_sn": "\x00261101-1"}) == "261101-1"
    # 淘宝联盟: the parent order, else the sub-order (as the adapter reads it)
    assert order_key(Platform.TAOBAO, {"trade_parent_id": "18\x0010", "trade_id": "11"}) == "1810"
    assert order_key(Platform.TAOBAO, {"trade_parent_id": "", "trade_id": "11\x00"}) == "11"
    # a cell of nothing but NUL names no order, and is not read as the next field
    assert order_key(Platform.TAOBAO, {"trade_parent_id": "\x00", "trade_id": "11"}) == ""
    assert order_key(Platform.JD_UNION, {"skuId": "1"}) == ""


def test_read_rows_skips_every_row_of_an_order_a_nul_row_names() -> None:
    rows = [jd_row(1, 1), jd_row(1, 2), {**jd_row(1, 3), "orderId": "1\x00"}, jd_row(2, 1), jd_row(3, 1)]
    out = read_rows(Platform.JD_UNION, rows, NOW)
    assert [(s.index, s.code) for s in out if isinstance(s, Skip)] == [(i, "nul_character") for i in range(3)]
    assert [line.external_id for line in out if isinstance(line, PlatformLine)] == ["2", "3"]
    # a row a file's reader found holding a NUL (in a column not read), and an order a NUL row of another
    # batch named
    out = read_rows(Platform.JD_UNION, rows[3:], NOW, nul_rows={1}, nul_orders={"2"})
    assert [(s.code, s.message) for s in out if isinstance(s, Skip)] == [
        ("nul_character", WITH_NUL_ROW),
        ("nul_character", NUL_IN_ROW),
    ]
    # a NUL row naming no order is skipped alone
    out = read_rows(Platform.JD_UNION, [jd_row(4, 1), {**jd_row(4, 2), "orderId": "\x00"}], NOW)
    assert isinstance(out[0], PlatformLine)
    assert out[1] == Skip(1, "nul_character", NUL_NO_ORDER)
