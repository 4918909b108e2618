"""What a poller's rows become: JD's amounts written as JSON numbers go in exactly (read as decimals,
never floats), and a row skipped is reported and logged without its values while the watermark moves
past it, a window read again by ``since`` once the cause is cured."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from neigou.cli.main import app as cli
from neigou.kit.settings import get_settings
from neigou.platforms.models import PlatformOrder, PlatformOrderLine
from neigou.platforms.rows import BEIJING, Platform
from neigou.platforms.sync import LAG, watermark
from tests.cli_env import cli_environment
from tests.orders.builders import World
from tests.platforms.builders import jd_numbers, jd_row
from tests.platforms.stub import Stub, _jd
from tests.platforms.test_sync import NOW, _poll, stub, world

__all__ = ["stub", "world"]  # the fixtures, used by name

SINCE = NOW - timedelta(minutes=30)


def _lines(factory: sessionmaker[Session]) -> list[tuple[str, int, int]]:
    with factory() as session:
        rows = session.execute(
            select(PlatformOrder.external_id, PlatformOrderLine.paid_fen, PlatformOrderLine.estimate_fee_fen)
            .join(PlatformOrderLine, PlatformOrderLine.platform_order_id == PlatformOrder.id)
            .order_by(PlatformOrder.external_id)
        ).all()
    return [(external_id, paid, fee) for external_id, paid, fee in rows]


@pytest.mark.parametrize("where", ["queryResult text", "queryResult object"])
def test_jd_amounts_written_as_json_numbers_go_in_exactly(
    factory: sessionmaker[Session], stub: Stub, world: tuple[World, int], where: str
) -> None:
    """JD writes ``39.9``: read as a float, every amount was refused ``invalid_amount`` and the
    watermark moved past the rows for good. The answer's body and JD's ``queryResult`` text (a JSON
    document inside the answer) are both read with decimals."""
    w, integration_id = world
    row = jd_numbers(jd_row(400201, paid="39.90", fee="7.98", sub_union_id=w.link))
    assert (row["estimateCosPrice"], row["estimateFee"]) == (39.9, 7.98)  # numbers, as JD sends them
    if where == "queryResult text":
        stub.answers = [(200, _jd([row]))]
    else:
        result = {"code": 200, "data": [row], "hasMore": False}
        stub.answers = [(200, {"jd_union_open_order_row_query_responce": {"queryResult": result}})]
    report = _poll(factory, stub, integration_id, Platform.JD_UNION, since=SINCE)
    assert (report.created, report.skipped) == (1, [])
    assert _lines(factory) == [("400201", 3990, 798)]


def test_a_skipped_row_is_reported_and_logged_without_its_values_and_read_again_by_since(
    factory: sessionmaker[Session], stub: Stub, world: tuple[World, int], capsys: pytest.CaptureFixture[str]
) -> None:
    """A row the poll skips is in the report (the command's table) and in the log by reason, with no
    order id, link code or amount; the watermark moves past its window (one row that can never be read
    must not hold every later order back), so a row skipped for a cause since cured is read again by
    polling its window with ``since``."""
    w, integration_id = world
    good = jd_row(4003010001, sub_union_id=w.link)
    zero = {**jd_row(4003020002, sub_union_id=w.link), "orderTime": "0"}
    stub.answers = [(200, _jd([good, zero]))]
    capsys.readouterr()
    report = _poll(factory, stub, integration_id, Platform.JD_UNION, since=SINCE)
    assert (report.created, [(s.index, s.code) for s in report.skipped]) == (1, [(1, "missing_field")])
    assert str(report.skipped[0].message) == "The field orderTime is missing."
    with factory() as session:
        assert watermark(session, integration_id, Platform.JD_UNION) == NOW - LAG
    logged = capsys.readouterr().err
    assert logged.count("platforms.rows_skipped") == 1
    assert "missing_field" in logged
    for value in ("4003010001", "4003020002", w.link):
        assert value not in logged
    fixed = jd_row(4003020002, sub_union_id=w.link)
    stub.answers = [(200, _jd([fixed]))]
    again = _poll(factory, stub, integration_id, Platform.JD_UNION, since=SINCE)
    assert (again.created, again.skipped) == (1, [])
    assert [line[0] for line in _lines(factory)] == ["4003010001", "4003020002"]


def test_the_poll_command_reads_again_from_since_and_never_moves_the_watermark_back(
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    factory: sessionmaker[Session],
    stub: Stub,
    world: tuple[World, int],
) -> None:
    """``--since`` reads the windows from then again (rows skipped there for a cause since cured go in);
    the watermark stays where the latest poll left it. A time without its offset or ahead is refused."""
    w, integration_id = world
    cli_environment(monkeypatch, database_url)
    monkeypatch.setenv("NEIGOU_OUTBOUND_ALLOW_PRIVATE", "1")  # the stub platform listens on 127.0.0.1
    monkeypatch.setenv("NEIGOU_PLATFORM_APP_KEY", "app-key")
    monkeypatch.setenv("NEIGOU_PLATFORM_APP_SECRET", "app-secret")
    get_settings.cache_clear()
    args = [
        "platforms",
        "poll",
        "--integration",
        str(integration_id),
        "--platform",
        "jd_union",
        "--url",
        stub.url,
    ]
    since = (datetime.now(UTC) - timedelta(minutes=30)).astimezone(BEIJING).isoformat()
    stub.answers = [(200, _jd([jd_row(4004010001, sub_union_id=w.link)]))]
    first = CliRunner().invoke(cli, [*args, "--since", since])
    assert first.exit_code == 0, first.output
    assert "1 rows: 1 orders created" in first.output
    with factory() as session:
        moved = watermark(session, integration_id, Platform.JD_UNION)
    assert moved is not None
    earlier = (datetime.now(UTC) - timedelta(minutes=50)).isoformat()
    stub.answers = [
        (200, _jd([jd_row(4004010001, sub_union_id=w.link), jd_row(4004020002, sub_union_id=w.link)]))
    ]
    again = CliRunner().invoke(cli, [*args, "--since", earlier])
    assert again.exit_code == 0, again.output
    assert "2 rows: 1 orders created" in again.output
    with factory() as session:
        kept = watermark(session, integration_id, Platform.JD_UNION)
    assert kept is not None
    assert kept >= moved
    for refused in ("2026-03-24 12:00:00", "yesterday", (datetime.now(UTC) + timedelta(hours=1)).isoformat()):
        out = CliRunner().invoke(cli, [*args, "--since", refused])
        assert (out.exit_code, "invalid_since" in out.output) == (2, True), out.output
