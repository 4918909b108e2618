"""What the order-import tests share: the CSV header, the time their orders were paid, and an import
under the suite's secret key and actor."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from neigou.orders import importer
from neigou.orders.importer import ImportReport
from tests.conftest import SECRET, TEST_ACTOR

HEADER = "external_id,program_id,customer_ref,link_code,paid_at,sku,quantity,paid_fen"
PAID_AT = "2026-03-01T12:00:00+08:00"


def import_orders(factory: sessionmaker[Session], path: Path, **options: Any) -> ImportReport:
    """``importer.import_file`` of ``path`` (``options``: its program, batch size…) as the tests' actor."""
    return importer.import_file(factory, path, secret_key=SECRET, actor=TEST_ACTOR, **options)
