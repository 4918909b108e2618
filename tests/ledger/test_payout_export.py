"""A payout batch's finance file is read in keyset pages while it is written (the Excel file through a
temporary file, streamed; the CSV streamed page by page, each page read in a short session of its own),
and one file holds at most ``MAX_EXPORT_ROWS`` withdrawals: past it the API and the console answer 422
``export_too_large`` before reading a row."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit import exports
from neigou.kit.errors import Invalid
from neigou.kit.exports import XLSX_MEDIA_TYPE
from neigou.kit.sealed import Sealer
from neigou.ledger import payouts
from tests.orders.builders import settled_world
from tests.sign_in import console_sign_in
from tests.statements import statements


def _batch(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    size: int = 3,
    *,
    payee: bool = False,
) -> tuple[int, list[int]]:
    """A batch of ``size`` approved withdrawals of ¥1.00, ¥1.01, ¥1.02…, the member's payee given
    when ``payee`` (the file then unseals an account)."""
    w, _order = settled_world(client, operator, factory)
    if payee:
        account = {"kind": "alipay", "account": "13800000000", "holder_name": "张三"}
        put = client.put(f"/api/v1/members/{w.seller}/payee", json=account, headers=operator)
        assert put.status_code == 200, put.text
    made = []
    for n in range(size):
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
    pages = [s for s in sent if "JOIN members" in s and "LIMIT" in s.upper()]
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


def _before(factory: sessionmaker[Session], sealer: Sealer, batch_id: int, locale: str) -> bytes:
    """The CSV as it was built before it was streamed: every row in memory, then sent."""
    with factory() as session:
        return exports.csv_bytes(payouts.COLUMNS, payouts.batch_rows(session, batch_id, sealer, locale))


def test_the_csv_is_streamed_page_by_page_and_is_the_file_it_was(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    batch_id, made = _batch(client, operator, factory, size=5, payee=True)
    monkeypatch.setattr(payouts, "EXPORT_PAGE_ROWS", 2)
    sealer = Sealer.from_settings(client.app.state.settings)  # type: ignore[attr-defined]
    before = {locale: _before(factory, sealer, batch_id, locale) for locale in ("zh-CN", "en")}
    assert before["zh-CN"].startswith("\ufeff".encode() + b"withdrawal_id,")
    with factory() as session:
        engine = session.get_bind().engine
    with statements(engine) as sent:
        streamed = client.get(f"/api/v1/payout-batches/{batch_id}/export", headers=operator)
    assert streamed.status_code == 200, streamed.text
    assert streamed.headers["content-type"] == "text/csv; charset=utf-8"
    assert streamed.headers["content-disposition"] == f'attachment; filename="payout-batch-{batch_id}.csv"'
    assert "content-length" not in streamed.headers  # sent as it is made, never held whole first
    assert streamed.content == before["zh-CN"]
    pages = [s for s in sent if "JOIN members" in s and "LIMIT" in s.upper()]
    assert len(pages) == 3  # five withdrawals, two a statement, each after the last id read
    listed = list(csv.DictReader(io.StringIO(streamed.content.decode("utf-8-sig"))))
    assert [int(r["withdrawal_id"]) for r in listed] == made
    assert {r["payee_account"] for r in listed} == {"13800000000"}
    english = client.get(
        f"/api/v1/payout-batches/{batch_id}/export?format=csv", headers={**operator, "accept-language": "en"}
    )
    assert english.content == before["en"]
    console_sign_in(client, factory)
    page = client.get(f"/console/payout-batches/{batch_id}/export?format=csv")
    assert (page.status_code, page.content) == (200, before["zh-CN"])


def test_each_page_of_the_csv_is_read_in_a_short_session_given_back_before_it_is_sent(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    batch_id, _made = _batch(client, operator, factory, size=5)
    monkeypatch.setattr(payouts, "EXPORT_PAGE_ROWS", 2)
    sealer = Sealer.from_settings(client.app.state.settings)  # type: ignore[attr-defined]
    opened: list[Session] = []

    @contextmanager
    def reads() -> Iterator[Session]:
        with factory() as session:
            opened.append(session)
            yield session

    with factory() as session:
        chunks = payouts.csv_chunks(session, reads, batch_id, sealer, "zh-CN")
        assert opened == []  # checked in the request's session; nothing read yet
        got = [next(chunks)]
        assert got[0] == "\ufeff".encode() + ",".join(payouts.COLUMNS).encode() + b"\r\n"
        for page in (1, 2, 3):
            got.append(next(chunks))
            assert len(opened) == page  # one page read per piece sent, never ahead of the reader
            assert not any(s.in_transaction() for s in opened)  # given back before the piece is sent
            assert got[-1].count(b"\r\n") == (2 if page < 3 else 1)
        assert next(chunks, None) is None
        assert len(opened) == 3
    assert b"".join(got) == _before(factory, sealer, batch_id, "zh-CN")


def test_a_csv_past_the_row_limit_is_refused_before_its_first_byte(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    batch_id, _made = _batch(client, operator, factory)
    monkeypatch.setattr(payouts, "MAX_EXPORT_ROWS", 2)
    refused = client.get(f"/api/v1/payout-batches/{batch_id}/export?format=csv", headers=operator)
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert (refused.json()["code"], refused.json()["max_rows"]) == ("export_too_large", 2)
    assert "content-disposition" not in refused.headers
    missing = client.get(f"/api/v1/payout-batches/{batch_id + 100}/export?format=csv", headers=operator)
    assert (missing.status_code, missing.json()["code"]) == (404, "batch_not_found")
    console_sign_in(client, factory)
    page = client.get(f"/console/payout-batches/{batch_id}/export?format=csv")
    assert page.status_code == 422
    assert not page.headers["content-type"].startswith("text/csv")
    assert 'data-code="export_too_large"' in page.text
    sealer = Sealer.from_settings(client.app.state.settings)  # type: ignore[attr-defined]
    with factory() as session, pytest.raises(Invalid) as raised:  # refused when asked, before any piece
        payouts.csv_chunks(session, _no_reads, batch_id, sealer, "en")
    assert raised.value.code == "export_too_large"


@contextmanager
def _no_reads() -> Iterator[Session]:
    raise AssertionError("a refused file reads no page")
    yield  # pragma: no cover
