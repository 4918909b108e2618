"""What each poller asks its platform for, as the platforms document it: JD's business parameters in
``360buy_param_json``, 多多进宝's pages of at most 100 orders, 淘宝联盟's three order scenes."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from neigou.platforms.fetchers import PlatformError, top_sign
from neigou.platforms.rows import Platform
from neigou.platforms.sync import LAG, watermark
from tests.orders.builders import World
from tests.platforms.builders import pdd_row, taobao_row
from tests.platforms.stub import Stub, _jd
from tests.platforms.test_sync import NOW, SECRET, _poll, stub, world

__all__ = ["stub", "world"]  # the fixtures, used by name

SINCE = NOW - timedelta(minutes=30)


def test_jd_sends_its_business_parameters_as_360buy_param_json(
    factory: sessionmaker[Session], stub: Stub, world: tuple[World, int]
) -> None:
    """JD's router reads ``360buy_param_json`` (every JD SDK sends it): sent as ``param_json``, every
    call was refused as missing its parameters."""
    stub.answer = lambda _call: (200, _jd([]))
    report = _poll(factory, stub, world[1], Platform.JD_UNION, since=SINCE)
    assert report.synced_until == NOW - LAG
    call = stub.calls[0]
    assert "param_json" not in call
    assert json.loads(call["360buy_param_json"])["orderReq"]["pageIndex"] == 1
    assert call["sign"] == top_sign(SECRET, {k: v for k, v in call.items() if k != "sign"})


class PddPages:
    """多多进宝's ``order.list.increment.get``: pages of ``page_size`` orders, at most 100 whatever is
    asked (its documented range is 10 to 100)."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows

    def __call__(self, call: dict[str, str]) -> tuple[int, Any]:
        size = min(int(call["page_size"]), 100)
        first = (int(call["page"]) - 1) * size
        return 200, {"order_list_get_response": {"order_list": self.rows[first : first + size]}}


def test_pdd_pages_hold_at_most_100_orders_and_every_page_is_read(
    factory: sessionmaker[Session], stub: Stub, world: tuple[World, int]
) -> None:
    """``page_size`` 300 was sent and a page of fewer than 300 rows taken for the window's last: the
    platform answers 100, so only the first page of a window was read and the watermark moved past the
    rest. Rows of unpaid orders (skipped, nothing to store) stand for any rows here."""
    rows = [pdd_row(f"261101-{n:09d}", status=-1) for n in range(1, 251)]
    stub.answer = PddPages(rows)
    report = _poll(factory, stub, world[1], Platform.PDD, since=SINCE)
    assert report.rows == 250
    assert [(call["page"], call["page_size"]) for call in stub.calls] == [
        ("1", "100"),
        ("2", "100"),
        ("3", "100"),
    ]
    with factory() as session:
        assert watermark(session, world[1], Platform.PDD) == NOW - LAG


class TaobaoScenes:
    """淘宝联盟's ``order.details.get`` answering per ``order_scene`` (1 when none is sent), two pages
    per scene that has rows; ``failing`` is a scene it refuses."""

    def __init__(self, scenes: dict[str, list[dict[str, Any]]], failing: str | None = None) -> None:
        self.scenes, self.failing = scenes, failing

    def __call__(self, call: dict[str, str]) -> tuple[int, Any]:
        scene = call.get("order_scene", "1")
        if scene == self.failing:
            return 200, {"error_response": {"code": 7, "msg": "busy"}}
        rows, page = self.scenes.get(scene, []), int(call["page_no"])
        part = rows[:1] if page == 1 else rows[1:]
        more = page == 1 and len(rows) > 1
        data = {
            "has_next": more,
            "position_index": f"{scene}-{page}",
            "results": {"publisher_order_dto": part},
        }
        return 200, {"tbk_order_details_get_response": {"data": data}}


def _special(row: dict[str, Any], code: str) -> dict[str, Any]:
    return {**row, "special_id": code}


def test_taobao_reads_every_order_scene_each_paged_on_its_own(
    factory: sessionmaker[Session], stub: Stub, world: tuple[World, int]
) -> None:
    """Without ``order_scene`` the query reads 常规订单 (scene 1) only, and the channel and member
    orders, the ones carrying ``relation_id`` and ``special_id`` (the share link's code), never came."""
    w, integration_id = world
    channel = [
        taobao_row(f"18000000000000011{n}", parent=f"18000000000000010{n}", relation_id=w.link)
        for n in (1, 2)
    ]
    member = _special(taobao_row("1800000000000000211", parent="1800000000000000210"), w.link)
    stub.answer = TaobaoScenes({"2": channel, "3": [member]})
    report = _poll(factory, stub, integration_id, Platform.TAOBAO, since=SINCE)
    assert (report.created, report.skipped) == (3, [])
    calls = [(c["order_scene"], c["page_no"], c["position_index"]) for c in stub.calls]
    assert calls == [("1", "1", ""), ("2", "1", ""), ("2", "2", "2-1"), ("3", "1", "")]
    with factory() as session:
        assert watermark(session, integration_id, Platform.TAOBAO) == NOW - LAG


def test_a_taobao_window_moves_the_watermark_only_once_every_scene_is_read(
    factory: sessionmaker[Session], stub: Stub, world: tuple[World, int]
) -> None:
    w, integration_id = world
    channel = [taobao_row("1800000000000000311", parent="1800000000000000310", relation_id=w.link)]
    stub.answer = TaobaoScenes({"2": channel}, failing="3")
    with pytest.raises(PlatformError):
        _poll(factory, stub, integration_id, Platform.TAOBAO, since=SINCE)
    with factory() as session:
        assert watermark(session, integration_id, Platform.TAOBAO) is None
