"""Order ids in the reconciliation workbooks: a feed takes digit ids only, and an id stored otherwise (by
other means, or before ids were read in one form) is still written as text, never a formula."""

from __future__ import annotations

import io
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.db import transaction
from neigou.platforms.models import PlatformOrder
from neigou.platforms.rows import LineStatus, Platform
from tests.orders.builders import PAID_AT
from tests.platforms.builders import Feeds, feed, feeds_world, jd_row
from tests.sign_in import console_sign_in

pytestmark = pytest.mark.world_per_module


@pytest.fixture(scope="module")
def world(module_client: TestClient, module_operator: dict[str, str], module_factory: Any) -> Feeds:
    return feeds_world(module_client, module_operator, module_factory)


def test_formula_like_order_ids_are_text_in_the_excel_exports(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], world: Feeds
) -> None:
    """A feed reads an order id as digits only (such ids are skipped ``invalid_field``); one stored by
    other means, or before ids were read so, is still written as text."""
    ids = ['=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(A1)", "＝1"]
    rows = [{**jd_row(sub_union_id="no-such-link"), "orderId": i, "skuId": n + 1} for n, i in enumerate(ids)]
    out = feed(client, operator, world.integration_id, "jd_union", rows)
    assert [s["reason"] for s in out["skipped"]] == ["invalid_field"] * len(ids)
    with transaction(factory) as session:
        session.add_all(
            PlatformOrder(
                program_id=world.w.program_id,
                integration_id=world.integration_id,
                platform=Platform.JD_UNION,
                external_id=external_id,
                link_code="no-such-link",
                status=LineStatus.PAID,
                paid_at=PAID_AT,
                skip_code="unknown_link",
                updated_at=PAID_AT,
            )
            for external_id in ids
        )
    api = client.get(
        f"/api/v1/programs/{world.w.program_id}/reconciliation.xlsx?platform=jd_union&month=2026-03",
        headers=operator,
    )
    console_sign_in(client, factory, username="formula-ops")
    page = client.get(
        f"/console/programs/{world.w.program_id}/reconciliation.xlsx?platform=jd_union&month=2026-03"
    )
    for sheet in (api, page):
        assert sheet.status_code == 200, sheet.text
        book = load_workbook(io.BytesIO(sheet.content)).active
        assert book is not None
        cells = {c.value: c for row in book.iter_rows() for c in row}
        for external_id in ids:
            assert cells[external_id].data_type == "s"  # a string, never a formula
