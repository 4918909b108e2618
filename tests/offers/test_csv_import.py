"""Catalog CSV import: all rows or none, every bad row reported by line, re-import updates."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from neigou.audit.models import AuditEntry
from neigou.cli.main import app as cli
from neigou.kit.settings import get_settings
from neigou.offers import repository as offers_repository
from tests.cli_env import cli_environment
from tests.conftest import row_counts
from tests.offers.factories import post
from tests.workbooks import workbook

GOOD = """sku,title,price_yuan,commission_rate_bp,brand_code,category_code,image_url,active
LQ-SHAMPOO-500,澜泉 氨基酸控油洗发水 500ml,49.90,2000,lanquan,personal-care,https://img.example.com/1.jpg,是
YD-TEE,"衣朵 纯棉圆领T恤, 男女同款",59,1500,yiduo,,,true
RICE-5KG,东北五常大米 5kg,39.9,800,,,,false
"""


def upload(client: TestClient, headers: dict[str, str], content: bytes, query: str = "") -> Any:
    return client.post(
        f"/api/v1/products/import{query}",
        files={"file": ("catalog.csv", content, "text/csv")},
        headers=headers,
    )


@pytest.fixture
def refs(client: TestClient, operator: dict[str, str]) -> None:
    post(client, operator, "brands", {"code": "lanquan", "name": "澜泉"})
    post(client, operator, "brands", {"code": "yiduo", "name": "衣朵"})
    post(client, operator, "categories", {"code": "personal-care", "name": "个护美妆"})


def catalog(client: TestClient, headers: dict[str, str]) -> dict[str, dict[str, Any]]:
    return {p["sku"]: p for p in client.get("/api/v1/products", headers=headers).json()}


def test_good_file_imports_every_row(
    client: TestClient, operator: dict[str, str], refs: None, factory: sessionmaker[Session]
) -> None:
    # Excel writes a BOM at the start of UTF-8 CSV files.
    response = upload(client, operator, b"\xef\xbb\xbf" + GOOD.encode())
    assert response.status_code == 200, response.text
    assert response.json() == {"rows": 3, "created": 3, "updated": 0, "dry_run": False}
    products = catalog(client, operator)
    shampoo = products["LQ-SHAMPOO-500"]
    assert (shampoo["price_fen"], shampoo["commission_rate_bp"], shampoo["brand_code"]) == (
        4990,
        2000,
        "lanquan",
    )
    assert (shampoo["category_code"], shampoo["image_url"], shampoo["active"]) == (
        "personal-care",
        "https://img.example.com/1.jpg",
        True,
    )
    assert products["YD-TEE"]["title"] == "衣朵 纯棉圆领T恤, 男女同款"
    assert (products["YD-TEE"]["price_fen"], products["YD-TEE"]["category_code"]) == (5900, None)
    assert (products["RICE-5KG"]["price_fen"], products["RICE-5KG"]["active"]) == (3990, False)
    with factory() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "product.import")).one()
    assert entry.after == {"rows": 3, "created": ["LQ-SHAMPOO-500", "RICE-5KG", "YD-TEE"], "updated": []}


def test_one_bad_row_imports_nothing_and_names_the_row(
    client: TestClient, operator: dict[str, str], refs: None, factory: sessionmaker[Session]
) -> None:
    bad = (
        GOOD
        + "BAD-PRICE,坏价格,12.345,100,,,,\n"
        + "YD-TEE,重复,1,1,,,,\n"
        + "GHOST,,1,1,,,,\n"
        + "NOBRAND,x,1,1,ghost,,,\n"
    )
    before = row_counts(factory)
    response = upload(client, operator, bad.encode())
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "import_invalid"
    assert body["error_count"] == 4
    assert [(e["row"], e["sku"], e["field"], e["code"]) for e in body["errors"]] == [
        (5, "BAD-PRICE", "price_yuan", "too_many_decimals"),
        (6, "YD-TEE", "sku", "duplicate_sku"),
        (7, "GHOST", "title", "required"),
        (8, "NOBRAND", "brand_code", "unknown_brand"),
    ]
    assert body["errors"][1]["message"] == "该商品编码已在第 3 行出现。"  # the sku not repeated
    assert row_counts(factory) == before


def test_a_nul_in_a_cell_imports_nothing_on_either_database(
    client: TestClient, operator: dict[str, str], refs: None, factory: sessionmaker[Session]
) -> None:
    # SQLite stored the title with its NUL (200) where PostgreSQL refused the file. The row is a row
    # error like any other: the rows after it are still checked and reported, and nothing is written.
    before = row_counts(factory)
    content = GOOD + "NUL-TITLE,a\x00b,1,1,,,,\nBAD-PRICE,t,-1,1,,,,\n"
    response = upload(client, operator, content.encode())
    assert (response.status_code, response.json()["code"]) == (422, "import_invalid")
    assert [(e["row"], e["code"]) for e in response.json()["errors"]] == [
        (5, "nul_character"),
        (6, "negative_amount"),
    ]
    assert response.json()["errors"][0]["message"] == "第 5 行含有空字符（\\u0000），无法保存。"
    assert row_counts(factory) == before


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("zh-CN", "名称不能为空：仅有空白或不可见字符不算名称。"),
        ("en", "A name is required: white space and invisible characters alone are none."),
    ],
)
def test_a_title_of_invisible_marks_is_refused_as_the_api_refuses_it(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], language: str, message: str
) -> None:
    """A title of only zero-width and direction marks has the JSON API's ``blank_name`` and its message
    in the reader's language, by row and column, not pydantic's English ``invalid_value``."""
    before = row_counts(factory)
    content = "sku,title,price_fen,commission_rate_bp\nBLANK-1,\u200b\u202a\u202c,100,100\nOK-1,好,100,100\n"
    response = client.post(
        "/api/v1/products/import",
        files={"file": ("catalog.csv", content.encode(), "text/csv")},
        headers={**operator, "Accept-Language": language},
    )
    assert (response.status_code, response.json()["code"]) == (422, "import_invalid"), response.text
    errors = response.json()["errors"]
    assert [(e["row"], e["sku"], e["field"], e["code"], e["message"]) for e in errors] == [
        (2, "BLANK-1", "title", "blank_name", message)
    ]
    assert row_counts(factory) == before


@pytest.mark.parametrize(
    ("language", "messages"),
    [
        ("zh-CN", ["最多 200 个字符。", "此处填写的格式不符合要求。"]),
        ("en", ["At most 200 characters.", "This is not written in the form expected here."]),
    ],
)
def test_a_cell_pydantic_refuses_has_a_message_in_the_readers_language(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    language: str,
    messages: list[str],
) -> None:
    """A title too long or an image address of another form is ``invalid_value`` with the bound or the
    form expected in the reader's language, never pydantic's English (``String should have at most…``)."""
    before = row_counts(factory)
    content = f"sku,title,price_fen,commission_rate_bp,image_url\nLONG-1,{'长' * 201},100,100,\nURL-1,好,100,100,ftp://x\n"
    response = client.post(
        "/api/v1/products/import",
        files={"file": ("catalog.csv", content.encode(), "text/csv")},
        headers={**operator, "Accept-Language": language},
    )
    assert (response.status_code, response.json()["code"]) == (422, "import_invalid"), response.text
    errors = response.json()["errors"]
    assert [(e["row"], e["field"], e["code"], e["message"]) for e in errors] == [
        (2, "title", "invalid_value", messages[0]),
        (3, "image_url", "invalid_value", messages[1]),
    ]
    assert "should" not in response.text
    assert row_counts(factory) == before


def test_header_problems_are_reported_on_row_one(client: TestClient, operator: dict[str, str]) -> None:
    response = upload(client, operator, b"sku,name,price\nA,b,1\n")
    assert response.status_code == 422
    codes = {(e["field"], e["code"]) for e in response.json()["errors"]}
    assert codes == {
        ("B", "unknown_column"),
        ("C", "unknown_column"),
        ("title", "missing_column"),
        ("commission_rate_bp", "missing_column"),
        ("price_fen", "missing_column"),
    }
    assert all(e["row"] == 1 for e in response.json()["errors"])
    empty = upload(client, operator, b"")
    assert (empty.status_code, empty.json()["code"]) == (422, "empty_file")


def test_reimport_updates_existing_skus_and_keeps_absent_columns(
    client: TestClient, operator: dict[str, str], refs: None
) -> None:
    assert upload(client, operator, GOOD.encode()).status_code == 200
    first = catalog(client, operator)
    again = "sku,title,price_fen,commission_rate_bp\nLQ-SHAMPOO-500,澜泉 洗发水 新包装,4590,2200\nNEW-1,新品,100,0\n"
    response = upload(client, operator, again.encode())
    assert response.json() == {"rows": 2, "created": 1, "updated": 1, "dry_run": False}
    products = catalog(client, operator)
    shampoo = products["LQ-SHAMPOO-500"]
    assert (shampoo["title"], shampoo["price_fen"], shampoo["commission_rate_bp"]) == (
        "澜泉 洗发水 新包装",
        4590,
        2200,
    )
    # Columns the file does not carry keep their stored values.
    assert (shampoo["brand_code"], shampoo["image_url"], shampoo["active"]) == (
        "lanquan",
        "https://img.example.com/1.jpg",
        True,
    )
    assert shampoo["id"] == first["LQ-SHAMPOO-500"]["id"]
    assert products["RICE-5KG"] == first["RICE-5KG"]
    assert products["NEW-1"]["active"] is True
    cleared = "sku,title,price_fen,commission_rate_bp,image_url\nLQ-SHAMPOO-500,澜泉 洗发水,4590,2200,\n"
    assert upload(client, operator, cleared.encode()).status_code == 200
    assert catalog(client, operator)["LQ-SHAMPOO-500"]["image_url"] is None


def test_dry_run_and_gbk_files(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    gbk = "sku,title,price_fen,commission_rate_bp\nTEA,西湖龙井 250g,12800,3000\n".encode("gb18030")
    before = row_counts(factory)
    dry = upload(client, operator, gbk, "?dry_run=true")
    assert dry.json() == {"rows": 1, "created": 1, "updated": 0, "dry_run": True}
    assert row_counts(factory) == before
    assert upload(client, operator, gbk).status_code == 200
    assert catalog(client, operator)["TEA"]["title"] == "西湖龙井 250g"


def test_xlsx_with_chinese_headers_imports_like_csv(
    client: TestClient, operator: dict[str, str], refs: None, factory: sessionmaker[Session]
) -> None:
    header = ["商品编码", "商品名称", "价格（元）", "佣金比例(bp)", "品牌编码", "上架"]
    good = workbook(
        [
            header,
            ["LQ-SHAMPOO-500", "澜泉 氨基酸控油洗发水 500ml", 49.9, 2000, "lanquan", "是"],
            ["RICE-5KG", "东北五常大米 5kg", 39.9, 800, None, "否"],
        ]
    )
    response = upload(client, operator, good)
    assert response.status_code == 200, response.text
    assert response.json() == {"rows": 2, "created": 2, "updated": 0, "dry_run": False}
    products = catalog(client, operator)
    assert [
        (
            products[s]["price_fen"],
            products[s]["commission_rate_bp"],
            products[s]["brand_code"],
            products[s]["active"],
        )
        for s in ("LQ-SHAMPOO-500", "RICE-5KG")
    ] == [(4990, 2000, "lanquan", True), (3990, 800, None, False)]
    before = row_counts(factory)
    bad = workbook([header, ["A-1", "一", 1, 100], [], ["A-2", "二", "abc", 100]])
    refused = upload(client, operator, bad)
    assert refused.status_code == 422
    assert [(e["row"], e["sku"], e["field"], e["code"]) for e in refused.json()["errors"]] == [
        (4, "A-2", "price_yuan", "invalid_amount")  # the row number Excel shows
    ]
    assert row_counts(factory) == before


@pytest.mark.parametrize(
    ("content", "status", "code"),
    [
        (b"sku,title,price_fen,commission_rate_bp\rCR-1,\xe5\x8f\xa4,100,0\rCR-2,x,1,0\r", 200, None),
        (b"sku,title,price_fen,commission_rate_bp\n\xff\xfe\x80,x,1,0\n", 422, "bad_encoding"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), 422, "unsupported_file"),
        (b"PK\x03\x04" + bytes(600), 422, "unreadable_file"),
        (
            b'sku,title,price_fen,commission_rate_bp\nA,"' + b"x" * 200_000 + b'",1,0\n',
            422,
            "unreadable_file",
        ),
        (b"\n\n,,\n", 422, "empty_file"),
    ],
    ids=["bare-cr", "undecodable", "xls", "bad-zip", "huge-cell", "blank"],
)
def test_odd_files_are_answered_never_a_500(
    client: TestClient, operator: dict[str, str], content: bytes, status: int, code: str | None
) -> None:
    response = upload(client, operator, content)
    assert response.status_code == status, response.text
    if code is None:
        assert response.json()["rows"] == 2
        assert catalog(client, operator)["CR-1"]["title"] == "古"
    else:
        assert response.json()["code"] == code


@pytest.fixture
def env(database_url: str, engine: object, monkeypatch: pytest.MonkeyPatch) -> Any:
    cli_environment(monkeypatch, database_url)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_cli_import_reports_rows_and_writes_all_or_nothing(
    env: None, tmp_path: Path, factory: sessionmaker[Session]
) -> None:
    runner = CliRunner()
    good = tmp_path / "good.csv"
    good.write_text("sku,title,price_yuan,commission_rate_bp\nA-1,商品一,1.00,100\nA-2,商品二,2.5,200\n")
    dry = runner.invoke(cli, ["products", "import", str(good), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would import 2 rows: 2 created, 0 updated" in dry.output
    done = runner.invoke(cli, ["products", "import", str(good)])
    assert done.exit_code == 0, done.output
    assert "imported 2 rows: 2 created, 0 updated" in done.output
    bad = tmp_path / "bad.csv"
    bad.write_text("sku,title,price_yuan,commission_rate_bp\nA-3,商品三,3,100\nA-4,商品四,abc,100\n")
    before = row_counts(factory)
    refused = runner.invoke(cli, ["products", "import", str(bad)])
    assert refused.exit_code == 2
    assert "import_invalid" in refused.output
    assert "invalid_amount" in refused.output
    assert row_counts(factory) == before


def test_skus_another_import_created_meanwhile_are_updated_not_refused(
    client: TestClient, operator: dict[str, str], refs: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two imports of one file at once: the second read its skus as new before the first committed
    them. It answers as if it had come after (it updates them), never 409 ``sku_taken``."""
    assert upload(client, operator, GOOD.encode()).status_code == 200
    real = offers_repository.existing_skus
    reads: list[object] = []

    def read_meanwhile(session: Session, organization_id: int, skus: Any) -> dict[str, int]:
        reads.append(skus)  # the first read of the second import: before the first one's commit
        return {} if len(reads) == 1 else real(session, organization_id, skus)

    monkeypatch.setattr(offers_repository, "existing_skus", read_meanwhile)
    again = upload(client, operator, GOOD.replace("49.90", "45").encode())
    assert again.status_code == 200, again.text
    assert again.json() == {"rows": 3, "created": 0, "updated": 3, "dry_run": False}
    assert catalog(client, operator)["LQ-SHAMPOO-500"]["price_fen"] == 4500
    assert len(reads) == 2
