"""What the order-import tests share: the CSV header, the time their orders were paid, a file of one
sku's orders, and an import under the suite's secret key and actor."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from neigou.orders import importer
from neigou.orders.importer import ImportReport
from tests.conftest import SECRET, TEST_ACTOR
from tests.orders.builders import SKU

HEADER = "external_id,program_id,customer_ref,link_code,paid_at,sku,quantity,paid_fen"
PAID_AT = "2026-03-01T12:00:00+08:00"


def sku_orders(path: Path, program_id: int, link: str, rows: Sequence[tuple[str, int, int]]) -> Path:
    """``path`` written as a file of orders of ``SKU`` through ``link``, paid at ``PAID_AT``: one line
    per ``(external id, quantity, paid fen)``, its customer ``c-<external id>``."""
    lines = [HEADER] + [f"{e},{program_id},c-{e},{link},{PAID_AT},{SKU},{q},{fen}" for e, q, fen in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def import_orders(factory: sessionmaker[Session], path: Path, **options: Any) -> ImportReport:
    """``importer.import_file`` of ``path`` (``options``: its program, batch size…) as the tests' actor."""
    return importer.import_file(factory, path, secret_key=SECRET, actor=TEST_ACTOR, **options)
