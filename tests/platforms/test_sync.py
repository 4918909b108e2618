"""Fetchers: HTTP pollers against a local stub of each platform's API (documented shapes, paging,
retries, the watermark), and exported files through the command line."""

from __future__ import annotations

import json
import traceback
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from neigou.cli.main import app as cli
from neigou.kit.actor import Actor
from neigou.kit.settings import get_settings
from neigou.platforms.fetchers import Credentials, PlatformError, top_sign
from neigou.platforms.models import PlatformOrder, PlatformOrderLine
from neigou.platforms.rows import Platform
from neigou.platforms.sync import LAG, poll, watermark
from tests.cli_env import cli_environment
from tests.orders.builders import PAID_AT, World, build
from tests.platforms.builders import integration, jd_row, pdd_row, taobao_row
from tests.platforms.stub import Stub, _jd, stub

ACTOR = Actor(kind="test", ref="test", label="test")
SECRET = "app-secret"
NOW = PAID_AT + timedelta(hours=2, minutes=30)
__all__ = ["stub"]  # the fixture, used by name here and by the tests that import it from here


@pytest.fixture
def world(client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]) -> tuple[World, int]:
    w = build(client, operator, factory)
    return w, integration(client, operator, w)


def _poll(
    factory: sessionmaker[Session],
    stub: Stub,
    integration_id: int,
    platform: Platform,
    *,
    key: str = "app-key",
    secret: str = SECRET,
    **kw: Any,
) -> Any:
    with httpx.Client() as client:
        return poll(
            factory,
            integration_id=integration_id,
            platform=platform,
            credentials=Credentials(stub.url, key, secret),
            client=client,
            secret_key="test-secret",
            actor=ACTOR,
            clock=lambda: NOW,
            **kw,
        )


def test_jd_poller_pages_retries_signs_and_keeps_a_watermark(
    factory: sessionmaker[Session], stub: Stub, world: tuple[World, int]
) -> None:
    w, integration_id = world
    stub.answers = [
        (503, {"error": "busy"}),
        (200, _jd([jd_row(400001, sub_union_id=w.link)], more=True)),
        (200, _jd([jd_row(400002, sub_union_id=w.link)])),
        (200, _jd([])),
        (
            200,
            _jd(
                [
                    jd_row(
                        400001,
                        valid_code=17,
                        sub_union_id=w.link,
                        modified=timedelta(hours=2),
                        finished=timedelta(hours=2),
                    )
                ]
            ),
        ),
    ]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("neigou.platforms.fetchers.time.sleep", lambda _s: None)
        report = _poll(
            factory, stub, integration_id, Platform.JD_UNION, since=PAID_AT - timedelta(minutes=30)
        )
    assert (report.created, report.updated, report.skipped) == (2, 1, [])
    # three one-hour windows up to now minus the lag; the first call failed once and was retried
    assert len(stub.calls) == 5
    first = stub.calls[1]
    assert first["method"] == "jd.union.open.order.row.query"
    assert first["sign"] == top_sign(SECRET, {k: v for k, v in first.items() if k != "sign"})
    request = json.loads(first["360buy_param_json"])["orderReq"]
    assert (request["pageIndex"], request["type"]) == (1, 3)
    assert json.loads(stub.calls[2]["360buy_param_json"])["orderReq"]["pageIndex"] == 2
    with factory() as session:
        assert watermark(session, integration_id, Platform.JD_UNION) == NOW - LAG
    stub.calls.clear()
    stub.answers = [(200, _jd([]))]
    again = _poll(factory, stub, integration_id, Platform.JD_UNION)
    # nothing new since the watermark: the overlap before it is read again (test_poller_windows)
    assert (again.created, again.updated, len(stub.calls)) == (0, 0, 1)


def test_a_failing_platform_stops_without_moving_the_watermark(
    factory: sessionmaker[Session], stub: Stub, world: tuple[World, int]
) -> None:
    _, integration_id = world
    stub.answers = [(200, {"error_response": {"code": 19, "msg": "invalid sign"}})]
    with pytest.raises(PlatformError):
        _poll(factory, stub, integration_id, Platform.JD_UNION, since=NOW - timedelta(minutes=30))
    with factory() as session:
        assert watermark(session, integration_id, Platform.JD_UNION) is None


def test_a_refusing_gateway_is_reported_without_the_key_in_its_url(
    factory: sessionmaker[Session], stub: Stub, world: tuple[World, int]
) -> None:
    _, integration_id = world
    key = "gw-k3y-0f-the-proxy"
    stub.url += f"?access_token={key}"
    stub.answers = [(403, {})]
    with pytest.raises(PlatformError) as refused:
        _poll(factory, stub, integration_id, Platform.JD_UNION, since=NOW - timedelta(minutes=30))
    assert "403" in str(refused.value)
    told = "".join(traceback.format_exception(refused.value))  # what a log of the failure would print
    assert key not in told
    assert "access_token" not in str(refused.value.__cause__) + str(refused.value.__context__)


@pytest.mark.parametrize("status", [400, 503])
def test_a_failure_never_tells_the_app_key_secret_or_signature(
    factory: sessionmaker[Session], stub: Stub, world: tuple[World, int], status: int
) -> None:
    """A gateway that echoes the call, and a platform that names the key it refuses: neither the key,
    the secret nor the signature reaches the error, its traceback or the command line's output."""
    _, integration_id = world
    key, secret = "8f3e1c0a5d7b42e6", "5e0c9b1d7a2f4e83aa01"
    stub.url = stub.url.replace("http://", "http://gw-user:gw-pa55word@") + f"?gateway_key={key}"
    echo = {"error_response": {"code": 19, "zh_desc": f"无效的app_key:{key}", "request": f"secret={secret}"}}
    stub.answers = [(status, echo)] * 5
    since = NOW - timedelta(minutes=30)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("neigou.platforms.fetchers.time.sleep", lambda _s: None)
        with pytest.raises(PlatformError) as failed:
            _poll(factory, stub, integration_id, Platform.JD_UNION, key=key, secret=secret, since=since)
    told = "".join(traceback.format_exception(failed.value))
    sign = stub.calls[-1]["sign"]
    assert str(status) in told
    for value in (key, secret, sign, "gw-pa55word"):
        assert value not in told
        assert value.lower() not in told.lower()
    stub.answers = [(200, echo)]
    with pytest.raises(PlatformError) as refused:
        _poll(factory, stub, integration_id, Platform.JD_UNION, key=key, secret=secret, since=since)
    told = "".join(traceback.format_exception(refused.value))
    assert "the platform refused the call (code 19)" in told
    assert "无效的app_key" not in told  # the platform's own words are never kept (they echo the call)
    for value in (key, secret, stub.calls[-1]["sign"]):
        assert value not in told


def test_an_answer_that_is_not_json_is_a_platform_error(
    factory: sessionmaker[Session], stub: Stub, world: tuple[World, int]
) -> None:
    _, integration_id = world
    stub.answers = [(200, "<html>")]
    stub.raw = True
    with pytest.raises(PlatformError, match="not JSON"):
        _poll(factory, stub, integration_id, Platform.JD_UNION, since=NOW - timedelta(minutes=30))
    stub.raw = False
    not_json = {"code": 200, "data": []}
    bad = {"jd_union_open_order_row_query_responce": {"code": "0", "queryResult": "{not json"}}
    stub.answers = [(200, bad), (200, not_json)]
    with pytest.raises(PlatformError):
        _poll(factory, stub, integration_id, Platform.JD_UNION, since=NOW - timedelta(minutes=30))
    with factory() as session:
        assert watermark(session, integration_id, Platform.JD_UNION) is None


@pytest.mark.parametrize(
    ("platform", "answer"),
    [
        (
            Platform.JD_UNION,
            {"jd_union_open_order_row_query_responce": {"queryResult": {"code": 200, "data": 5}}},
        ),
        (Platform.PDD, {"order_list_get_response": {"order_list": 5}}),
        (Platform.PDD, {"order_list_get_response": {"order_list": {"order_sn": "1"}}}),
        (
            Platform.TAOBAO,
            {"tbk_order_details_get_response": {"data": {"results": {"publisher_order_dto": 7}}}},
        ),
        (Platform.TAOBAO, {"tbk_order_details_get_response": {"data": {"results": [1]}}}),
    ],
)
def test_rows_of_another_shape_are_a_platform_error(
    factory: sessionmaker[Session], stub: Stub, world: tuple[World, int], platform: Platform, answer: Any
) -> None:
    """Rows that are not a list fail the poll as the platform's error (the command's one line), not
    as a TypeError out of the parser, and the watermark stays."""
    _, integration_id = world
    stub.answers = [(200, answer)]
    with pytest.raises(PlatformError, match="not"):
        _poll(factory, stub, integration_id, platform, since=NOW - timedelta(minutes=30))
    with factory() as session:
        assert watermark(session, integration_id, platform) is None


def test_a_platform_clock_a_little_ahead_is_allowed_as_far_as_the_skew(
    factory: sessionmaker[Session], stub: Stub, world: tuple[World, int]
) -> None:
    """A row modified a minute ahead of our clock (the platform's clock runs ahead) goes in: skipped, it
    would never be fetched again once the watermark passed it. Ten minutes ahead is past the skew."""
    w, integration_id = world
    ahead = NOW - PAID_AT + timedelta(minutes=1)
    far = NOW - PAID_AT + timedelta(minutes=10)
    rows = [
        jd_row(400101, sub_union_id=w.link, modified=ahead),
        jd_row(400102, sub_union_id=w.link, modified=far),
    ]
    stub.answers = [(200, _jd(rows))]
    report = _poll(factory, stub, integration_id, Platform.JD_UNION, since=NOW - timedelta(minutes=30))
    assert report.created == 1
    assert [(s.index, s.code) for s in report.skipped] == [(1, "future_time")]


def test_pdd_and_taobao_pollers_read_their_shapes(
    factory: sessionmaker[Session], stub: Stub, world: tuple[World, int]
) -> None:
    w, integration_id = world
    stub.answers = [(200, {"order_list_get_response": {"order_list": [pdd_row(custom=w.link)]}})]
    report = _poll(factory, stub, integration_id, Platform.PDD, since=PAID_AT - timedelta(hours=1))
    assert report.created == 1
    assert stub.calls[0]["type"] == "pdd.ddk.order.list.increment.get"
    page = {
        "has_next": False,
        "position_index": "x",
        "results": {"publisher_order_dto": [taobao_row(relation_id=w.link)]},
    }
    empty = {"has_next": False, "results": {}}
    # two three-hour windows, each read once per order_scene (the row is a 渠道订单, scene 2)
    stub.answers = [
        (200, {"tbk_order_details_get_response": {"data": d}}) for d in (empty, page, *[empty] * 4)
    ]
    report = _poll(factory, stub, integration_id, Platform.TAOBAO, since=PAID_AT - timedelta(hours=1))
    assert report.created == 1
    assert stub.calls[-1]["query_type"] == "4"


def test_cli_imports_an_exported_file(
    database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, world: tuple[World, int]
) -> None:
    w, integration_id = world
    cli_environment(monkeypatch, database_url)
    get_settings.cache_clear()
    rows = [jd_row(500001, sub_union_id=w.link), jd_row(500002, paid="1.001", sub_union_id=w.link)]
    columns = [
        "orderId",
        "skuId",
        "skuNum",
        "estimateCosPrice",
        "estimateFee",
        "validCode",
        "orderTime",
        "modifyTime",
        "subUnionId",
        "备注",
    ]
    lines = [",".join(columns)] + [",".join(str(r.get(c, "")) for c in columns[:-1]) + ",x" for r in rows]
    path = tmp_path / "jd.csv"
    path.write_text("\n".join(lines), encoding="utf-8")
    args = ["platforms", "import", str(path), "--integration", str(integration_id), "--platform", "jd_union"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "2 rows: 1 orders created, 0 updated, 0 refunds, 1 rows skipped" in result.output
    again = CliRunner().invoke(cli, args)
    assert "0 orders created" in again.output


def test_a_file_row_holding_a_nul_is_skipped_and_the_rest_go_in(
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    world: tuple[World, int],
    factory: sessionmaker[Session],
) -> None:
    """The file was refused at the row (the rows before it kept); now the row is skipped with its
    reason, like any row that cannot be mapped, and no NUL reaches either database."""
    w, integration_id = world
    cli_environment(monkeypatch, database_url)
    get_settings.cache_clear()
    rows = [jd_row(n, sub_union_id=w.link) for n in (510001, 510002, 510003)]
    columns = ["orderId", "skuId", "skuNum", "estimateCosPrice", "estimateFee", "validCode", "orderTime"]
    lines = [",".join(columns)] + [",".join(str(r.get(c, "")) for c in columns) for r in rows]
    lines[2] = lines[2].replace("510002", "510002\x00", 1)
    path = tmp_path / "jd.csv"
    path.write_text("\n".join(lines), encoding="utf-8")
    args = ["platforms", "import", str(path), "--integration", str(integration_id), "--platform", "jd_union"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "3 rows: 2 orders created, 0 updated, 0 refunds, 1 rows skipped" in result.output
    assert "nul_character" in result.output
    with factory() as session:
        stored = session.scalars(select(PlatformOrder.external_id).order_by(PlatformOrder.external_id)).all()
    assert stored == ["510001", "510003"]


def test_a_file_nul_row_skips_its_whole_order_until_the_fixed_file_stores_it(
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    world: tuple[World, int],
    factory: sessionmaker[Session],
) -> None:
    """A NUL in one line of a JD order took the order in without that line, and the fixed file's line was
    then skipped ``line_after_order``: now every row of the order is skipped, and the fixed file stores it
    whole."""
    w, integration_id = world
    cli_environment(monkeypatch, database_url)
    get_settings.cache_clear()
    rows = [jd_row(n, sku, sub_union_id=w.link) for n, sku in ((530001, 1), (530001, 2), (530002, 1))]
    columns = ["orderId", "skuId", "skuName", "skuNum", "estimateCosPrice", "estimateFee", "validCode"]
    lines = [",".join([*columns, "orderTime"])] + [
        ",".join(str(r[c]) for c in [*columns, "orderTime"]) for r in rows
    ]
    path = tmp_path / "jd.csv"
    path.write_text("\n".join([*lines[:2], lines[2].replace("洗发水", "洗发\x00水"), *lines[3:]]), "utf-8")
    args = ["platforms", "import", str(path), "--integration", str(integration_id), "--platform", "jd_union"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "3 rows: 1 orders created, 0 updated, 0 refunds, 2 rows skipped" in result.output
    table = [line for line in result.output.splitlines() if "platforms.rows_skipped" not in line]
    assert "\n".join(table).count("nul_character") == 2
    path.write_text("\n".join(lines), "utf-8")
    fixed = CliRunner().invoke(cli, args)
    assert "3 rows: 1 orders created, 0 updated, 0 refunds, 0 rows skipped" in fixed.output, fixed.output
    with factory() as session:
        stored = session.execute(
            select(PlatformOrder.external_id, func.count(PlatformOrderLine.id))
            .join(PlatformOrderLine, PlatformOrderLine.platform_order_id == PlatformOrder.id)
            .where(PlatformOrder.order_id.is_not(None))
            .group_by(PlatformOrder.external_id)
            .order_by(PlatformOrder.external_id)
        ).all()
    assert [tuple(row) for row in stored] == [("530001", 2), ("530002", 1)]
