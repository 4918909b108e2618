"""A platform's exported order file (CSV or .xlsx) as a fetcher: its header names the platform's fields
as its API does (extra columns ignored), and its rows come in batches, read by ``kit.tabular``."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from neigou.kit.columns import Column, Layout
from neigou.kit.tabular import read_table
from neigou.platforms.fetchers import Batch
from neigou.platforms.order_keys import order_key
from neigou.platforms.rows import Platform

FILE_BATCH = 500

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
        """The file's rows in batches of ``size`` rows or a little more (a batch ends where an order's
        rows do); empty cells are left out, as the platform leaves them out.

        A row holding a NUL (in any cell) skips every row of its order, wherever in the file they are:
        the file is read once for the orders its NUL rows name before its batches are applied, so the
        order is not taken in from an earlier batch without that line."""
        layout = Layout(
            *(Column(name, required=name in REQUIRED[self.platform]) for name in FIELDS[self.platform]),
            unknown="ignore",
        )
        nul_orders = self._nul_orders(layout)
        rows: list[dict[str, Any]] = []
        nul_rows: set[int] = set()
        last = ""
        for row in read_table(self.path, layout, nul_rows="report"):
            key = order_key(self.platform, row.values)
            # A batch ends between orders: an order's rows that follow one another are applied together,
            # never taken in from one batch without the lines the next would bring (line_after_order).
            if len(rows) >= self.size and (key != last or not key):
                yield Batch(rows, nul_rows=frozenset(nul_rows), nul_orders=nul_orders)
                rows, nul_rows = [], set()
            if row.nul:
                nul_rows.add(len(rows))
            rows.append({k: v for k, v in row.values.items() if v != ""})
            last = key
        if rows:
            yield Batch(rows, nul_rows=frozenset(nul_rows), nul_orders=nul_orders)

    def _nul_orders(self, layout: Layout) -> frozenset[str]:
        """The orders the file's rows holding a NUL name (``order_keys``: NUL characters removed)."""
        rows = read_table(self.path, layout, nul_rows="report")
        return frozenset({order_key(self.platform, row.values) for row in rows if row.nul} - {""})
