"""A platform's exported order file (CSV or .xlsx) as a fetcher: its header names the platform's fields
as its API does (extra columns ignored), and its rows come in batches, read once by ``kit.tabular``.

The rows of one order may lie apart (other orders' rows between them), but within
:data:`MAX_ORDER_ROWS` rows of the file: an order's rows are held until no later row can belong to it
(:data:`MAX_ORDER_ROWS` rows past its last one), so a batch ends only between orders and holds every
row of each of its orders, and a NUL in any of them skips the order whole (``adapters.read_rows``). An
order whose rows spread over more rows than that (every row of the file one order's, say) is skipped
``too_many_lines`` with all its rows, and so are its later rows, so it never goes in split. A row more
than :data:`MAX_ORDER_ROWS` rows after the last row of its order reads as a part of its own: the
feed answers its new lines ``line_after_order`` once the order is stored, and a NUL in it skips that
part (and every later row of the order), not the rows read before. The reader holds at most a batch
and two windows of rows, whatever the file."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from neigou.kit.columns import Column, Layout, Row
from neigou.kit.i18n import Message
from neigou.kit.tabular import read_table
from neigou.platforms.fetchers import Batch
from neigou.platforms.order_keys import order_key
from neigou.platforms.rows import Platform, Skip

FILE_BATCH = 500
MAX_ORDER_ROWS = 500
"""The rows of the file one order's rows may spread over, far more than a platform order has lines."""
TOO_LONG = Message(
    "The row is skipped with its whole order: the order has more than {max_rows} rows in the file, more "
    "than an order has.",
    max_rows=MAX_ORDER_ROWS,
)

# The fields each platform's rows are read by: a file's header names them as the platform's API does.
FIELDS: dict[Platform, tuple[str, ...]] = {
    Platform.JD_UNION: (
        "orderId", "parentId", "orderTime", "finishTime", "modifyTime", "skuId", "skuName", "skuNum",
        "skuReturnNum", "estimateCosPrice", "actualCosPrice", "estimateFee", "actualFee", "validCode",
        "positionId", "subUnionId", "payMonth",
    ),
    Platform.PDD: (
        "order_sn", "goods_id", "goods_name", "goods_quantity", "order_amount", "promotion_amount",
        "order_status", "custom_parameters", "order_create_time", "order_pay_time", "order_receive_time",
        "order_settle_time", "order_modify_at",
    ),
    Platform.TAOBAO: (
        "trade_parent_id", "trade_id", "item_id", "item_title", "item_num", "alipay_total_price",
        "pub_share_pre_fee", "pub_share_fee", "tk_status", "relation_id", "special_id", "external_id",
        "tk_create_time", "tk_paid_time", "tk_earning_time", "modified_time",
    ),
}  # fmt: skip
REQUIRED = {
    Platform.JD_UNION: {
        "orderId",
        "skuId",
        "skuNum",
        "estimateCosPrice",
        "estimateFee",
        "validCode",
        "orderTime",
    },
    Platform.PDD: {
        "order_sn",
        "goods_id",
        "goods_quantity",
        "order_amount",
        "promotion_amount",
        "order_status",
    },
    Platform.TAOBAO: {"trade_id", "item_num", "alipay_total_price", "pub_share_pre_fee", "tk_status"},
}


@dataclass
class FileFetcher:
    """An exported CSV or Excel file whose header names the platform's fields (extra columns ignored)."""

    platform: Platform
    path: Path
    size: int = FILE_BATCH

    def batches(self) -> Iterator[Batch]:
        """The file's rows in batches of ``size`` rows or a little more (a batch ends between orders);
        empty cells are left out, as the platform leaves them out. The file is read once."""
        layout = Layout(
            *(Column(name, required=name in REQUIRED[self.platform]) for name in FIELDS[self.platform]),
            unknown="ignore",
        )
        grouped = _Grouped(self.platform, self.size)
        for row in read_table(self.path, layout, nul_rows="report"):
            yield from grouped.add(row)
        yield from grouped.finish()


@dataclass(eq=False)
class _Order:
    """One order's rows read so far: the first and the last one's place in the file."""

    key: str
    first: int
    last: int
    nul: bool = False
    too_long: bool = False
    count: int = 1  # its rows read so far


class _Held(NamedTuple):
    values: dict[str, Any]
    nul: bool
    order: _Order | None  # None: a row naming no order, or a later row of an order too long
    too_long: bool


class _Grouped:
    """Rows held until their orders are whole, handed out in batches that end between orders."""

    def __init__(self, platform: Platform, size: int, limit: int = MAX_ORDER_ROWS) -> None:
        self.platform, self.size, self.limit = platform, size, limit
        self.held: list[_Held] = []
        self.start = 0  # the file place (0-based, data rows) of held[0]
        self.next = 0  # the place of the next row
        self.scanned = 0  # held rows whose orders are whole and looked at for a batch's end
        self.reach = -1  # the last row of any order met in the scanned rows
        self.open: OrderedDict[str, _Order] = OrderedDict()  # orders a later row may still join, by first row
        self.too_long: set[str] = set()
        self.nul_orders: set[str] = set()

    def add(self, row: Row) -> Iterator[Batch]:
        place, self.next = self.next, self.next + 1
        key = order_key(self.platform, row.values)
        order: _Order | None = None
        too_long = key in self.too_long
        if key and not too_long:
            order = self.open.get(key)
            if order is not None and place - order.last > self.limit:
                self._close(self.open.pop(key))  # too far from its rows: a part of its own
                order = None
            if order is not None and order.count < self.limit and place - order.first >= self.limit:
                # Spread wider than the rows held: what came before is a part of its own, as above.
                self._close(self.open.pop(key))
                order = None
            if order is None:
                order = self.open[key] = _Order(key, place, place)
            elif order.count >= self.limit:
                order.too_long, order.last = True, place
                self.too_long.add(key)
                del self.open[key]
            else:
                order.last, order.count = place, order.count + 1
            order.nul = order.nul or row.nul
        self.held.append(_Held({k: v for k, v in row.values.items() if v != ""}, row.nul, order, too_long))
        while self.open:  # the first open order is whole once no later row may join it
            first = next(iter(self.open.values()))
            if place - first.last < self.limit:
                break
            self._close(self.open.popitem(last=False)[1])
        yield from self._scan(next(iter(self.open.values())).first if self.open else self.next)

    def finish(self) -> Iterator[Batch]:
        while self.open:
            self._close(self.open.popitem(last=False)[1])
        yield from self._scan(self.next)
        if self.held:
            yield self._batch(len(self.held))

    def _close(self, order: _Order) -> None:
        if order.nul:
            self.nul_orders.add(order.key)

    def _scan(self, whole: int) -> Iterator[Batch]:
        """Look at the held rows before place ``whole`` (their orders are whole) for a batch's end."""
        while self.start + self.scanned < whole:
            place = self.start + self.scanned
            held = self.held[self.scanned]
            self.reach = max(self.reach, held.order.last if held.order is not None else place)
            self.scanned += 1
            if self.reach <= place and self.scanned >= self.size:
                yield self._batch(self.scanned)

    def _batch(self, count: int) -> Batch:
        rows = self.held[:count]
        del self.held[:count]
        self.start += count
        self.scanned -= count
        skips = {
            index: Skip(index, "too_many_lines", TOO_LONG)
            for index, held in enumerate(rows)
            if held.too_long or (held.order is not None and held.order.too_long)
        }
        return Batch(
            [held.values for held in rows],
            nul_rows=frozenset(index for index, held in enumerate(rows) if held.nul),
            # the NUL orders of earlier parts that rows of this batch belong to (not every one met so far)
            nul_orders=frozenset(
                held.order.key
                for held in rows
                if held.order is not None and held.order.key in self.nul_orders
            ),
            skips=skips,
        )
