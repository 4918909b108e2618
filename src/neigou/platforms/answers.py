"""What a platform's order query answered: its rows, whether more pages follow and the next cursor, or
the platform's refusal told by its codes only (``refused``). Used by ``fetchers.Poller``."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from neigou.kit.json_input import loads_untrusted
from neigou.platforms.rows import Platform

# 多多进宝's ``page_size`` (``pdd.ddk.order.list.increment.get``: 10 to 100, 100 by default). A page of
# fewer rows is the window's last; a full one may be followed by more.
PDD_PAGE_SIZE = 100


class PlatformError(Exception):
    """The platform's API failed or answered something other than its documented shape."""


# The fields of a platform's refusal that hold its codes: ``code`` and ``sub_code`` (Taobao's and JD's
# ``error_response``, JD's ``queryResult``), ``error_code`` and ``sub_code`` (PDD's). A code is a number
# or a short token (``isv.invalid-parameter``); anything else in the refusal (``msg``, ``sub_msg``,
# ``zh_desc``, ``error_msg``, ``message``) is the platform's free text, which may echo the call's
# parameters, and is never kept.
_CODE_FIELDS = ("code", "error_code", "sub_code")
_CODE = re.compile(r"[A-Za-z0-9_.:\-]{1,64}", re.ASCII)


def refused(answer: object, *, told: str = "the platform refused the call") -> str:
    """A platform's refusal told by our fixed classification (``told``) and the platform's error code
    and sub code, never its message: ``the platform refused the call (code 15, sub_code isv.x)``."""
    fields = answer if isinstance(answer, dict) else {}
    codes = [f"{name} {code}" for name in _CODE_FIELDS if (code := _code(fields.get(name))) is not None]
    return f"{told} ({', '.join(codes)})" if codes else f"{told} (no error code)"


def _code(value: object) -> str | None:
    """A refusal's code as it is kept: an integer, or a short token of letters, digits and ``._:-``."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value if isinstance(value, str) and _CODE.fullmatch(value) else None


def read_answer(text: str | bytes) -> Any:
    """A platform's JSON answer (or JD's ``queryResult`` text in it) as the feed endpoint reads a body:
    numbers with a fraction as ``Decimal`` (JD writes ``39.9``: a float would be refused by
    ``rows.yuan_to_fen``), ``NaN`` and ``Infinity`` as nothing (``None``)."""
    return loads_untrusted(text, parse_float=Decimal, parse_constant=lambda _constant: None)


def _rows(value: object, name: str) -> list[Any]:
    """A page's rows: a list (or nothing); any other value is an answer of another shape."""
    if value is None or value == "":
        return []
    if not isinstance(value, list):
        raise PlatformError(f"{name} is not a list")
    return value


def _jd(body: dict[str, Any]) -> tuple[list[dict[str, Any]], bool, str]:
    answer = body.get("jd_union_open_order_row_query_responce") or body.get(
        "jd_union_open_order_row_query_response"
    )
    if not isinstance(answer, dict):
        raise PlatformError("no jd_union_open_order_row_query_responce")
    result = answer.get("queryResult")
    result = read_answer(result) if isinstance(result, str) else result
    if not isinstance(result, dict) or result.get("code") != 200:
        raise PlatformError(refused(result, told="JD's queryResult is not a success"))
    return _rows(result.get("data"), "queryResult.data"), bool(result.get("hasMore")), ""


def _pdd(body: dict[str, Any]) -> tuple[list[dict[str, Any]], bool, str]:
    answer = body.get("order_list_get_response")
    if not isinstance(answer, dict):
        raise PlatformError("no order_list_get_response")
    rows = _rows(answer.get("order_list"), "order_list")
    return rows, len(rows) >= PDD_PAGE_SIZE, ""


def _taobao(body: dict[str, Any]) -> tuple[list[dict[str, Any]], bool, str]:
    answer = body.get("tbk_order_details_get_response")
    data = answer.get("data") if isinstance(answer, dict) else None
    if not isinstance(data, dict):
        raise PlatformError("no tbk_order_details_get_response.data")
    results = data.get("results") or {}
    if not isinstance(results, dict):
        raise PlatformError("results is not an object")
    rows = _rows(results.get("publisher_order_dto"), "publisher_order_dto")
    return rows, bool(data.get("has_next")), str(data.get("position_index") or "")


PARSERS: dict[Platform, Callable[[dict[str, Any]], tuple[list[dict[str, Any]], bool, str]]] = {
    Platform.JD_UNION: _jd,
    Platform.PDD: _pdd,
    Platform.TAOBAO: _taobao,
}
