"""A poller's windows: an order's rows on two pages go in together, each poll reads again the overlap
before the watermark, and a window the platform refuses as too long is halved (淘宝联盟 accepts 20
minutes during its promotions), against the local stub of the platforms' APIs."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from neigou.cli.main import app as cli
from neigou.kit.settings import get_settings
from neigou.platforms import sync
from neigou.platforms.fetchers import Credentials
from neigou.platforms.models import PlatformOrder, PlatformOrderLine
from neigou.platforms.rows import BEIJING, Platform
from neigou.platforms.sync import LAG, SyncReport, poll, watermark
from tests.cli_env import cli_environment
from tests.orders.builders import PAID_AT, World
from tests.platforms.builders import jd_row, taobao_row, wall
from tests.platforms.stub import Stub, _jd
from tests.platforms.test_sync import ACTOR, NOW, SECRET, stub, world

__all__ = ["stub", "world"]  # the fixtures, used by name


def _poll_at(
    factory: sessionmaker[Session],
    stub: Stub,
    integration_id: int,
    platform: Platform,
    at: datetime,
    **kw: Any,
) -> SyncReport:
    with httpx.Client() as client:
        return poll(
            factory,
            integration_id=integration_id,
            platform=platform,
            credentials=Credentials(stub.url, "app-key", SECRET),
            client=client,
            secret_key="test-secret",
            actor=ACTOR,
            clock=lambda: at,
            **kw,
        )


def _taken_lines(factory: sessionmaker[Session]) -> dict[str, int]:
    """Per platform order, the lines its neigou order was taken in with."""
    with factory() as session:
        rows = session.execute(
            select(PlatformOrder.external_id, PlatformOrderLine.taken_fen).join(
                PlatformOrderLine, PlatformOrderLine.platform_order_id == PlatformOrder.id
            )
        ).all()
    out: dict[str, int] = {}
    for external_id, taken in rows:
        out[external_id] = out.get(external_id, 0) + (taken is not None)
    return out


def test_an_orders_rows_on_two_pages_go_in_together(
    factory: sessionmaker[Session], stub: Stub, world: tuple[World, int]
) -> None:
    """JD returns an order's skus as rows of their own: the first on page 1, the second on page 2. Each
    page was its own transaction, so the order was taken in with its first line only and the second
    was skipped ``line_after_order`` for good (its commission never paid)."""
    w, integration_id = world
    stub.answers = [
        (200, _jd([jd_row(700001, 100001, sub_union_id=w.link)], more=True)),
        (200, _jd([jd_row(700001, 100002, sub_union_id=w.link), jd_row(700002, sub_union_id=w.link)])),
    ]
    report = _poll_at(
        factory, stub, integration_id, Platform.JD_UNION, NOW, since=NOW - timedelta(minutes=30)
    )
    assert (report.created, report.skipped, report.synced_until) == (2, [], NOW - LAG)
    assert _taken_lines(factory) == {"700001": 2, "700002": 1}


class LiveWindow:
    """JD's ``order.row.query`` over rows that change while a window is paged: the rows modified within
    the call's window, by modification time, two a page (an offset, as ``pageIndex`` is); ``change``
    runs once the first page holding rows was answered."""

    def __init__(self, rows: list[dict[str, Any]], change: Callable[[], None]) -> None:
        self.rows, self.change = rows, change
        self.changed = False

    def __call__(self, call: dict[str, str]) -> tuple[int, Any]:
        request = json.loads(call["360buy_param_json"])["orderReq"]
        inside = sorted(
            (r for r in self.rows if request["startTime"] <= r["modifyTime"] <= request["endTime"]),
            key=lambda r: r["modifyTime"],
        )
        page = request["pageIndex"]
        rows = inside[(page - 1) * 2 : page * 2]
        if rows and not self.changed:
            self.changed = True
            self.change()
        return 200, _jd(rows, more=len(inside) > page * 2)


def test_a_row_that_moved_up_a_page_while_paged_is_read_by_the_next_poll(
    factory: sessionmaker[Session], stub: Stub, world: tuple[World, int]
) -> None:
    """Order A completes after page 1 was read: its row leaves the window, every later row moves up one
    place, and X, first on page 2 before, is on page 1 now and never returned. The next poll reads
    again from ``OVERLAP`` before the watermark and takes X in; before, it began at the watermark and
    X, modified before it, was lost for good."""
    w, integration_id = world

    def row(order_id: int, minutes: int, **kw: Any) -> dict[str, Any]:
        return jd_row(order_id, sub_union_id=w.link, modified=timedelta(minutes=minutes), **kw)

    rows = [row(710001, 120), row(710002, 125), row(710003, 130), row(710004, 135)]

    def complete_a() -> None:
        rows[0] = row(710001, 149, valid_code=17, finished=timedelta(minutes=149))

    stub.answer = LiveWindow(rows, complete_a)
    first = _poll_at(
        factory, stub, integration_id, Platform.JD_UNION, NOW, since=PAID_AT - timedelta(minutes=10)
    )
    assert first.created == 3
    assert set(_taken_lines(factory)) == {"710001", "710002", "710004"}  # 710003 was missed
    with factory() as session:
        assert watermark(session, integration_id, Platform.JD_UNION) == NOW - LAG
    stub.calls.clear()
    later = NOW + timedelta(minutes=10)
    second = _poll_at(factory, stub, integration_id, Platform.JD_UNION, later)
    assert (second.created, second.updated, second.skipped) == (1, 1, [])  # X in, A completed
    assert _taken_lines(factory) == {"710001": 1, "710002": 1, "710003": 1, "710004": 1}
    request = json.loads(stub.calls[0]["360buy_param_json"])["orderReq"]
    assert (request["startTime"], request["endTime"]) == (wall(NOW - LAG - sync.OVERLAP), wall(later - LAG))


def _span(call: dict[str, str]) -> timedelta:
    def at(text: str) -> datetime:
        return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=BEIJING)

    return at(call["end_time"]) - at(call["start_time"])


def scene(row: dict[str, Any]) -> str:
    """The ``order_scene`` 淘宝联盟 lists a row under: 2 with a relation id, 3 with a special id, else 1."""
    return "2" if row.get("relation_id") else "3" if row.get("special_id") else "1"


class Promotion:
    """淘宝联盟's ``order.details.get`` during a big promotion: a window longer than 20 minutes is
    refused (an ``isv.*`` sub code), a shorter one answered with the rows modified within it."""

    LONGEST = timedelta(minutes=20)

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows

    def __call__(self, call: dict[str, str]) -> tuple[int, Any]:
        if _span(call) > self.LONGEST:
            refusal = {"code": 15, "msg": "Remote service error", "sub_code": "isv.invalid-parameter",
                       "sub_msg": "大促期间查询时间段不可超过20分钟"}  # fmt: skip
            return 200, {"error_response": refusal}
        inside = [
            r
            for r in self.rows
            if call["start_time"] <= r["modified_time"] <= call["end_time"]
            and scene(r) == call["order_scene"]
        ]
        data = {"has_next": False, "position_index": "", "results": {"publisher_order_dto": inside}}
        return 200, {"tbk_order_details_get_response": {"data": data}}


def test_a_window_refused_as_too_long_is_halved_until_the_platform_takes_it(
    factory: sessionmaker[Session], stub: Stub, world: tuple[World, int]
) -> None:
    """A three-hour window was refused on every poll of a promotion and the watermark never moved."""
    w, integration_id = world
    stub.answer = Promotion([taobao_row(relation_id=w.link)])
    since = PAID_AT - timedelta(minutes=10)
    report = _poll_at(factory, stub, integration_id, Platform.TAOBAO, NOW, since=since)
    assert (report.created, report.skipped, report.synced_until) == (1, [], NOW - LAG)
    refused = [call for call in stub.calls if _span(call) > Promotion.LONGEST]
    assert [_span(call) for call in refused] == [
        NOW - LAG - since,
        (NOW - LAG - since) / 2,
        (NOW - LAG - since) / 4,
    ]
    taken = stub.calls[len(refused) :]
    assert {_span(call) for call in taken[:-3]} == {(NOW - LAG - since) / 8}  # the last window is shorter
    assert [call["order_scene"] for call in taken[:3]] == ["1", "2", "3"]  # every window once per scene
    assert (taken[0]["start_time"], taken[-1]["end_time"]) == (wall(since), wall(NOW - LAG))
    with factory() as session:
        assert watermark(session, integration_id, Platform.TAOBAO) == NOW - LAG


def test_a_window_of_the_operators_choosing(
    factory: sessionmaker[Session], stub: Stub, world: tuple[World, int]
) -> None:
    """A window set shorter than the platform's longest is used from the first call (none refused); one
    set longer than the platform takes is cut to it."""
    w, integration_id = world
    stub.answer = Promotion([taobao_row(relation_id=w.link)])
    since = PAID_AT - timedelta(minutes=10)
    window = timedelta(minutes=15)
    report = _poll_at(factory, stub, integration_id, Platform.TAOBAO, NOW, since=since, window=window)
    assert (report.created, report.synced_until) == (1, NOW - LAG)
    assert {_span(call) for call in stub.calls[:-3]} == {window}
    assert len(stub.calls) == 3 * -(-(NOW - LAG - since) // window)  # each window once per order_scene
    stub.calls.clear()
    stub.answer = lambda _call: (200, _jd([]))
    _poll_at(factory, stub, integration_id, Platform.JD_UNION, NOW, since=since, window=timedelta(hours=5))
    assert len(stub.calls) == 3  # one-hour windows, JD's longest


def test_the_poll_command_takes_a_window_and_an_overlap(
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    factory: sessionmaker[Session],
    stub: Stub,
    world: tuple[World, int],
) -> None:
    _, integration_id = world
    cli_environment(monkeypatch, database_url)
    monkeypatch.setenv("NEIGOU_OUTBOUND_ALLOW_PRIVATE", "1")  # the stub platform listens on 127.0.0.1
    monkeypatch.setenv("NEIGOU_PLATFORM_APP_KEY", "app-key")
    monkeypatch.setenv("NEIGOU_PLATFORM_APP_SECRET", SECRET)
    get_settings.cache_clear()
    stub.answer = lambda _call: (200, _jd([]))
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
    since = (datetime.now(UTC) - timedelta(minutes=40)).isoformat()
    first = CliRunner().invoke(cli, [*args, "--since", since, "--window", "10"])
    assert first.exit_code == 0, first.output
    requests = [json.loads(call["360buy_param_json"])["orderReq"] for call in stub.calls]
    assert len(requests) == 4  # 38 minutes up to now minus the lag, ten at a time
    assert {_span({"start_time": r["startTime"], "end_time": r["endTime"]}) for r in requests[:-1]} == {
        timedelta(minutes=10)
    }
    with factory() as session:
        until = watermark(session, integration_id, Platform.JD_UNION)
    assert until is not None
    stub.calls.clear()
    again = CliRunner().invoke(cli, [*args, "--overlap", "5"])
    assert again.exit_code == 0, again.output
    assert json.loads(stub.calls[0]["360buy_param_json"])["orderReq"]["startTime"] == wall(
        until - timedelta(minutes=5)
    )
