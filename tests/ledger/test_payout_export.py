"""A payout batch's finance file is read in keyset pages while it is written (the Excel file through a
temporary file, streamed), and one file holds at most ``MAX_EXPORT_ROWS`` withdrawals: past it the API and
the console answer 422 ``export_too_large`` before reading a row."""

from __future__ import annotations

import csv
import io

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.exports import XLSX_MEDIA_TYPE
from neigou.ledger import payouts
from tests.orders.builders import settled_world
from tests.sign_in import console_sign_in
from tests.statements import statements


def _batch(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> tuple[int, list[int]]:
    """A batch of three approved withdrawals of ¥1.00, ¥1.01 and ¥1.02."""
    w, _order = settled_world(client, operator, factory)
    made = []
    for n in range(3):
        asked = client.post(
            f"/api/v1/members/{w.seller}/withdrawals",
            json={"amount_fen": 100 + n, "request_id": f"x{n}"},
            headers=operator,
        )
        assert asked.status_code == 201, asked.text
        made.append(asked.json()["id"])
        assert client.post(f"/api/v1/withdrawals/{made[-1]}/approve", headers=operator).status_code == 200
    batch = client.post(f"/api/v1/programs/{w.program_id}/payout-batches", headers=operator)
    assert batch.status_code in (200, 201), batch.text
    return batch.json()["id"], made


def test_the_payout_file_is_read_in_keyset_pages(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    batch_id, made = _batch(client, operator, factory)
    monkeypatch.setattr(payouts, "EXPORT_PAGE_ROWS", 2)
    with factory() as session:
        engine = session.get_bind().engine
    with statements(engine) as sent:
        xlsx = client.get(f"/api/v1/payout-batches/{batch_id}/export?format=xlsx", headers=operator)
    assert xlsx.status_code == 200, xlsx.text
    assert xlsx.headers["content-type"] == XLSX_MEDIA_TYPE
    assert xlsx.headers["content-disposition"] == f'attachment; filename="payout-batch-{batch_id}.xlsx"'
    pages = [s for s in sent if "payee_accounts" in s and "LIMIT" in s.upper()]
    assert len(pages) == 2  # three withdrawals, two a statement, each after the last id read
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == payouts.COLUMNS
    assert [(r[0], r[3]) for r in rows[1:]] == [(made[0], 100), (made[1], 101), (made[2], 102)]
    exported = client.get(f"/api/v1/payout-batches/{batch_id}/export?format=csv", headers=operator)
    listed = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert [int(r["withdrawal_id"]) for r in listed] == made


def test_a_batch_past_the_row_limit_is_refused_on_the_api_and_the_console(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    batch_id, _made = _batch(client, operator, factory)
    monkeypatch.setattr(payouts, "MAX_EXPORT_ROWS", 2)
    for format in ("xlsx", "csv"):
        refused = client.get(f"/api/v1/payout-batches/{batch_id}/export?format={format}", headers=operator)
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert (refused.json()["code"], refused.json()["max_rows"]) == ("export_too_large", 2)
    console_sign_in(client, factory)
    page = client.get(f"/console/payout-batches/{batch_id}/export?format=xlsx")
    assert page.status_code == 422
    assert page.headers["content-type"] != XLSX_MEDIA_TYPE
    monkeypatch.setattr(payouts, "MAX_EXPORT_ROWS", 3)
    assert client.get(f"/console/payout-batches/{batch_id}/export?format=xlsx").status_code == 200
