"""A platform's exported order file (CSV or .xlsx) as a fetcher: its header names the platform's fields
as its API does (extra columns ignored), and its rows come in batches, read once by ``kit.tabular``.

The rows of one order may lie apart (other orders' rows between them), but within
:data:`MAX_ORDER_ROWS` rows of the file: batches end only between orders (``batches.Grouped``), an
order of more rows than that is skipped ``too_many_lines`` whole, and the reader holds at most a batch
and two windows of rows, whatever the file."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from neigou.kit.columns import Column, Layout
from neigou.kit.tabular import read_table
from neigou.platforms.batches import MAX_ORDER_ROWS, TOO_LONG, Batch, Grouped
from neigou.platforms.rows import Platform

__all__ = ["FIELDS", "FILE_BATCH", "MAX_ORDER_ROWS", "REQUIRED", "TOO_LONG", "FileFetcher"]

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
        """The file's rows in batches of ``size`` rows or a little more (a batch ends between orders);
        empty cells are left out, as the platform leaves them out. The file is read once."""
        layout = Layout(
            *(Column(name, required=name in REQUIRED[self.platform]) for name in FIELDS[self.platform]),
            unknown="ignore",
        )
        grouped = Grouped(self.platform, self.size)
        for row in read_table(self.path, layout, nul_rows="report"):
            yield from grouped.add({k: v for k, v in row.values.items() if v != ""}, nul=row.nul)
        yield from grouped.finish()
