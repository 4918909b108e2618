"""Member-count CSV imports: whole or nothing, per-row errors, held counts, the CLI and the API."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from neigou.cli.main import app as cli
from neigou.groups import count_files
from neigou.groups.models import GroupCount
from neigou.kit.db import transaction
from neigou.kit.errors import Invalid
from neigou.kit.i18n import LOCALES, translate_tree
from neigou.kit.settings import get_settings
from tests.cli_env import cli_environment
from tests.conftest import TEST_ACTOR, row_counts
from tests.factories import create_member, create_program
from tests.groups.builders import create_group

HEADER = "owner_member_id,group,member_count,observed_at\n"


@pytest.fixture
def world(client: TestClient, operator: dict[str, str]) -> dict[str, Any]:
    program = create_program(client, operator, code="fx")
    other_program = create_program(client, operator, code="other")
    owner = create_member(client, operator, program["id"], name="群主·王")
    stranger = create_member(client, operator, other_program["id"], name="别的计划")
    first = create_group(client, operator, owner["id"], name="内购1群", external_id="wx-1")
    second = create_group(client, operator, owner["id"], name="内购2群")
    create_group(client, operator, stranger["id"], name="内购1群")
    return {"program": program, "owner": owner, "stranger": stranger, "first": first, "second": second}


def _count(factory: sessionmaker[Session]) -> int:
    with factory() as session:
        return int(session.scalar(select(func.count(GroupCount.id))) or 0)


def test_a_clean_file_imports_every_row(world: dict[str, Any], factory: sessionmaker[Session]) -> None:
    owner = world["owner"]["id"]
    text = HEADER + "".join(
        f"{owner},{group},{300 + day},2026-03-{day:02d}T21:00:00+08:00\n"
        for day in range(1, 31)
        for group in ("wx-1", "内购2群")
    )
    text += f"{owner},内购2群,900,2026-03-31T21:00:00+08:00\n"
    seen: list[int] = []
    with transaction(factory) as session:
        result = count_files.import_counts(
            session, content=text, actor=TEST_ACTOR, program_id=world["program"]["id"], progress=seen.append
        )
    assert result == count_files.ImportResult(imported=61, needs_review=1, duplicates=0)
    assert sum(seen) == 61
    with transaction(factory) as session:  # the same file again adds nothing
        again = count_files.import_counts(session, content=text, actor=TEST_ACTOR)
    assert again == count_files.ImportResult(imported=0, needs_review=0, duplicates=61)
    assert _count(factory) == 61


def test_one_bad_row_imports_nothing(world: dict[str, Any], factory: sessionmaker[Session]) -> None:
    owner, stranger = world["owner"]["id"], world["stranger"]["id"]
    with transaction(factory) as session:
        count_files.import_counts(
            session, content=HEADER + f"{owner},内购1群,300,2026-03-01T21:00:00+08:00\n", actor=TEST_ACTOR
        )
    before = row_counts(factory)
    text = (
        HEADER
        + f"{owner},内购1群,310,2026-03-02T21:00:00+08:00\n"
        + f"{owner},没有这个群,310,2026-03-02T21:00:00+08:00\n"
        + f"{stranger},内购1群,310,2026-03-02T21:00:00+08:00\n"
        + f"{owner},内购1群,301,2026-03-01T21:00:00+08:00\n"
        + f"{owner},内购2群,1,2026-03-02T21:00:00+08:00\n"
        + f"{owner},内购2群,2,2026-03-02T13:00:00Z\n"
        + f"{owner},内购2群,abc,2026-03-02T21:00:00+08:00\n"
        + f"{owner},内购2群,3,2099-01-01T00:00:00+08:00\n"
        + "13812345678,内购1群,310,2026-03-02T21:00:00+08:00\n"
    )
    with pytest.raises(Invalid) as refused, transaction(factory) as session:
        count_files.import_counts(session, content=text, actor=TEST_ACTOR, program_id=world["program"]["id"])
    assert refused.value.code == "import_rejected"
    assert [(e["line"], e["code"]) for e in refused.value.extra["errors"]] == [
        (3, "unknown_group"),
        (4, "unknown_owner"),
        (5, "observation_conflict"),
        (7, "observation_conflict"),
        (8, "bad_count"),
        (9, "observed_in_future"),
        (10, "unknown_owner"),
    ]
    # A row is refused by its line and column: the group name or the phone typed into it is not repeated.
    for locale in LOCALES:
        shown = translate_tree([refused.value.detail, refused.value.extra["errors"]], locale)
        assert "没有这个群" not in repr(shown)
        assert "13812345678" not in repr(shown)
    assert row_counts(factory) == before


@pytest.fixture
def env(database_url: str, engine: object, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    cli_environment(monkeypatch, database_url)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_the_cli_imports_with_a_progress_bar_and_lists_row_errors(
    env: None, world: dict[str, Any], tmp_path: Path, factory: sessionmaker[Session]
) -> None:
    owner = world["owner"]["id"]
    good = tmp_path / "counts.csv"
    good.write_bytes(
        ("群主ID,群名称,人数,统计时间\n" + f"{owner},内购1群,320,2026-03-24T21:00:00+08:00\n").encode(
            "gb18030"
        )
    )
    result = CliRunner().invoke(cli, ["groups", "import-counts", str(good)])
    assert result.exit_code == 0, result.output
    assert "imported 1 count(s) from counts.csv: 0 held for review, 0 already recorded" in result.output
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + f"{owner},内购9群,320,2026-03-24T21:00:00+08:00\n", encoding="utf-8")
    refused = CliRunner().invoke(
        cli, ["groups", "import-counts", str(bad), "--program-id", str(world["program"]["id"])]
    )
    assert refused.exit_code == 2
    assert "import_rejected" in refused.output
    assert "line 2: [unknown_group]" in refused.output
    assert "内购9群" not in refused.output
    assert _count(factory) == 1


def _workbook(path: Path, rows: list[list[Any]]) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    path.write_bytes(buffer.getvalue())
    return path


def test_an_xlsx_file_imports_like_a_csv(
    env: None, world: dict[str, Any], tmp_path: Path, factory: sessionmaker[Session]
) -> None:
    owner = world["owner"]["id"]
    header = ["群主ID", "群名称", "群人数", "统计时间", "备注"]
    good = _workbook(
        tmp_path / "counts.xlsx",
        [
            header,
            [owner, "内购1群", 320, "2026-03-24T21:00:00+08:00", "周一"],
            [owner, "内购2群", 330.0, "2026-03-24T21:00:00+08:00"],
        ],
    )
    result = CliRunner().invoke(cli, ["groups", "import-counts", str(good)])
    assert result.exit_code == 0, result.output
    assert "imported 2 count(s) from counts.xlsx: 0 held for review, 0 already recorded" in result.output
    # A date cell carries no zone: the row is refused with the row number Excel shows.
    naive = _workbook(
        tmp_path / "naive.xlsx",
        [header, [], [owner, "内购1群", 321, datetime(2026, 3, 25, 21)]],  # noqa: DTZ001 - Excel dates are naive
    )
    refused = CliRunner().invoke(cli, ["groups", "import-counts", str(naive)])
    assert refused.exit_code == 2
    assert "line 3: [naive_time]" in refused.output
    missing = _workbook(tmp_path / "missing.xlsx", [["群主ID", "群名称"], [owner, "内购1群"]])
    refused = CliRunner().invoke(cli, ["groups", "import-counts", str(missing)])
    assert (refused.exit_code, "line 1: [missing_columns]" in refused.output) == (2, True)
    assert _count(factory) == 2


def test_the_api_imports_and_reports_row_errors(
    client: TestClient, operator: dict[str, str], world: dict[str, Any], factory: sessionmaker[Session]
) -> None:
    program_id, owner = world["program"]["id"], world["owner"]["id"]
    url = f"/api/v1/programs/{program_id}/group-counts/import"
    ok = client.post(
        url, json={"csv": HEADER + f"{owner},wx-1,330,2026-03-24T21:00:00+08:00\n"}, headers=operator
    )
    assert (ok.status_code, ok.json()) == (200, {"imported": 1, "needs_review": 0, "duplicates": 0})
    before = row_counts(factory)
    refused = client.post(url, json={"csv": HEADER + "1,x,1,2026-03-24\n"}, headers=operator)
    assert (refused.status_code, refused.json()["code"]) == (422, "import_rejected")
    assert refused.json()["errors"] == [
        {"line": 2, "code": "naive_time", "message": refused.json()["errors"][0]["message"]}
    ]
    # Times outside the product's days: one with no UTC instant at all, one before 1970.
    for at in ("0001-01-01T06:00:00+14:00", "1969-12-31T23:59:59+00:00"):
        outside = client.post(url, json={"csv": HEADER + f"{owner},wx-1,330,{at}\n"}, headers=operator)
        assert (outside.status_code, outside.json()["code"]) == (422, "import_rejected"), outside.text
        assert [e["code"] for e in outside.json()["errors"]] == ["date_out_of_range"]
    assert row_counts(factory) == before
    audit = client.get(f"/api/v1/audit-log?entity=program&entity_id={program_id}", headers=operator).json()
    assert audit[0]["action"] == "group.counts.import"
