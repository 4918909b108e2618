"""A platform's refusal (an ``error_response``, JD's ``queryResult`` of another code) may echo the call's
parameters, and so a receiver's name or phone: the poller's failure keeps our fixed classification and
the platform's error code and sub code only, never the platform's messages (docs/privacy.md)."""

from __future__ import annotations

import json
import traceback
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from neigou.platforms.fetchers import PlatformError
from neigou.platforms.rows import Platform
from tests.orders.builders import World
from tests.platforms.stub import Stub
from tests.platforms.test_sync import NOW, _poll, stub, world

__all__ = ["stub", "world"]  # the fixtures, used by name


@pytest.mark.parametrize(
    ("platform", "refusal", "kept"),
    [
        (
            Platform.TAOBAO,
            {"code": 15, "msg": "Remote service error", "sub_code": "isv.invalid-parameter",
             "sub_msg": "非法参数 receiver_name=王丽华 mobile=+683 1234"},
            "(code 15, sub_code isv.invalid-parameter)",
        ),
        (
            Platform.PDD,
            {"error_code": 10001, "error_msg": "参数错误 王丽华", "sub_code": "50001",
             "sub_msg": "start_update_time=1767225600 王丽华", "request_id": "17672256001234"},
            "(error_code 10001, sub_code 50001)",
        ),
        (Platform.JD_UNION, {"code": "19", "zh_desc": "王丽华 无效", "en_desc": "invalid 王丽华"}, "(code 19)"),
        (Platform.JD_UNION, {"zh_desc": "王丽华"}, "(no error code)"),
        (Platform.JD_UNION, {"code": "王丽华 13812345678"}, "(no error code)"),  # no code: free text
    ],
)  # fmt: skip
def test_a_platforms_refusal_is_told_by_its_codes_only(
    *,
    factory: sessionmaker[Session],
    stub: Stub,
    world: tuple[World, int],
    platform: Platform,
    refusal: dict[str, object],
    kept: str,
) -> None:
    """A platform's ``error_response`` may echo the call's parameters (a receiver's name, a phone):
    the failure keeps our classification and the platform's codes, never its messages."""
    _, integration_id = world
    # an ``isv.*`` refusal is tried again with a shorter window (``Poller.batches``) until it stands
    stub.answers = [(200, {"error_response": refusal})] * 3
    with pytest.raises(PlatformError) as failed:
        _poll(factory, stub, integration_id, platform, since=NOW - timedelta(minutes=30))
    assert str(failed.value) == f"the platform refused the call {kept}"
    told = "".join(traceback.format_exception(failed.value))
    for echoed in ("王丽华", "1234", "start_update_time", "Remote service error"):
        assert echoed not in told


def test_a_jd_query_result_that_fails_is_told_by_its_code_only(
    factory: sessionmaker[Session], stub: Stub, world: tuple[World, int]
) -> None:
    _, integration_id = world
    result = {"code": 500, "message": "服务异常 王丽华 13812345678", "data": [{"skuName": "王丽华"}]}
    answer = {
        "jd_union_open_order_row_query_responce": {"queryResult": json.dumps(result, ensure_ascii=False)}
    }
    stub.answers = [(200, answer)]
    with pytest.raises(PlatformError) as failed:
        _poll(factory, stub, integration_id, Platform.JD_UNION, since=NOW - timedelta(minutes=30))
    assert str(failed.value) == "JD's queryResult is not a success (code 500)"
