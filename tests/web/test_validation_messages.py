"""A request the API cannot read (422) lists each error with its stable ``type`` and a message a person reads
in the reader's language (Chinese by default): the product's sentence for the type, with the schema's
bound or values filled in, never pydantic's English text nor the value sent (``kit.field_errors``)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from enum import Enum
from typing import Annotated, Any, Literal

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import AnyHttpUrl, AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from neigou.kit.field_errors import CLEARED
from neigou.kit.i18n import Message
from neigou.web import problems

# What the reader typed: no message may repeat it.
TYPED = "Zq7Typed"
# An English sentence: three words of ASCII letters in a row. A Chinese message may hold an example
# (``2026-03-24T21:00:00+08:00``, ``ISO 8601``, ``JSON``) or a schema's values, never a sentence.
ENGLISH_SENTENCE = re.compile(r"[A-Za-z]{2,}(?:[ ,;:]+[A-Za-z]{2,}){2,}")


class Kind(Enum):
    DAILY = "daily"
    WEEKLY = "weekly"


class Line(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: Annotated[str, Field(min_length=3, max_length=8)]
    qty: Annotated[int, Field(ge=1, le=99)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(max_length=5)] = "ok"
    note: Annotated[str, Field(min_length=3)] = "fine"
    title: Annotated[str, Field(min_length=1)] = "t"
    count: int = 1
    ratio: Annotated[int, Field(gt=0, lt=10)] = 1
    price: Annotated[Decimal, Field(max_digits=5, decimal_places=2)] = Decimal("1.00")
    flag: bool = False
    period: Literal["daily", "weekly", "monthly"] = "daily"
    kind: Kind = Kind.DAILY
    url: AnyHttpUrl | None = None
    at: AwareDatetime | None = None
    day: dt.date | None = None
    tags: Annotated[list[str], Field(min_length=1, max_length=2)] = ["a"]
    lines: list[Line] = []
    meta: dict[str, int] = {}
    checked: str = "ok"
    kept: str | None = "kept"

    @field_validator("checked")
    @classmethod
    def _checked(cls, value: str) -> str:
        if value != "ok":
            raise ValueError(f"not ok: {value}")  # pydantic's text would quote the value sent
        return value

    @field_validator("kept")
    @classmethod
    def _kept(cls, value: str | None) -> str | None:
        if value is None:
            raise ValueError(Message(CLEARED, fields="kept"))  # a validator's own sentence
        return value


app = FastAPI()
problems.install(app)


@app.post("/api/v1/probe")
def _probe(body: Body) -> dict[str, str]:
    return {}


@app.get("/api/v1/probe/{item_id}")
def _item(item_id: int) -> dict[str, str]:
    return {}


def _in(field: str, value: Any) -> dict[str, Any]:
    return {field: value}


# (body, the error's location, its type, its message in English, its message in Chinese)
CASES: list[tuple[Any, str, str, str, str]] = [
    ({}, "", "missing", "This field is required.", "此项必填。"),
    (_in("count", TYPED), "count", "int_parsing", "A whole number is expected here.", "此处应填写整数。"),
    (_in("count", [1]), "count", "int_type", "A whole number is expected here.", "此处应填写整数。"),
    (_in("name", 5), "name", "string_type", "Text is expected here.", "此处应填写文字。"),
    (_in("name", TYPED), "name", "string_too_long", "At most 5 characters.", "最多 5 个字符。"),
    (_in("note", "Zq"), "note", "string_too_short", "At least 3 characters.", "至少 3 个字符。"),
    (_in("title", ""), "title", "string_too_short", "This field is required.", "此项必填。"),
    (_in("tags", ["Xa1", "Xb2", TYPED]), "tags", "too_long", "At most 2 entries.", "最多 2 项。"),
    (_in("tags", []), "tags", "too_short", "At least 1 entries.", "至少 1 项。"),
    (_in("ratio", 0), "ratio", "greater_than", "More than 0.", "须大于 0。"),
    (_in("ratio", 10), "ratio", "less_than", "Less than 10.", "须小于 10。"),
    (_in("price", "123.456"), "price", "decimal_max_digits", "At most 5 digits.", "最多 5 位数字。"),
    (_in("price", TYPED), "price", "decimal_parsing", "A number is expected here.", "此处应填写数字。"),
    (_in("flag", TYPED), "flag", "bool_parsing", "Yes or no is expected here.", "此处应选择是或否。"),
    (
        _in("period", TYPED),
        "period",
        "literal_error",
        "One of 'daily', 'weekly' or 'monthly' is expected here.",
        "此处应为以下值之一：'daily', 'weekly'或'monthly'。",
    ),
    (
        _in("kind", TYPED),
        "kind",
        "enum",
        "One of 'daily' or 'weekly' is expected here.",
        "此处应为以下值之一：'daily'或'weekly'。",
    ),
    (
        _in("url", TYPED),
        "url",
        "url_parsing",
        "A web address starting with http:// or https:// is expected here.",
        "此处应填写以 http:// 或 https:// 开头的网址。",
    ),
    (
        _in("at", TYPED),
        "at",
        "datetime_from_date_parsing",
        "An ISO 8601 time with its zone, such as 2026-03-24T21:00:00+08:00, is expected here.",
        "此处应填写带时区的 ISO 8601 时间，例如 2026-03-24T21:00:00+08:00。",
    ),
    (
        _in("at", "2025-01-02T03:04:05"),
        "at",
        "timezone_aware",
        "An ISO 8601 time with its zone, such as 2026-03-24T21:00:00+08:00, is expected here.",
        "此处应填写带时区的 ISO 8601 时间，例如 2026-03-24T21:00:00+08:00。",
    ),
    (
        _in("day", TYPED),
        "day",
        "date_from_datetime_parsing",
        "A date such as 2026-03-24 is expected here.",
        "此处应填写日期，例如 2026-03-24。",
    ),
    (_in("lines", TYPED), "lines", "list_type", "A list is expected here.", "此处应为列表。"),
    (
        _in("lines", [TYPED]),
        "lines.0",
        "model_attributes_type",
        "A JSON object is expected here.",
        "此处应为 JSON 对象。",
    ),
    (_in("meta", TYPED), "meta", "dict_type", "A JSON object is expected here.", "此处应为 JSON 对象。"),
    (
        _in("lines", [{"sku": "abc", "qty": 1}, {"sku": "abc", "qty": 100}]),
        "lines.1.qty",
        "less_than_equal",
        "At most 99.",
        "不能大于 99。",
    ),
    (
        _in("lines", [{"sku": "abc", "qty": 1, TYPED: 1}]),
        f"lines.0.{TYPED}",
        "extra_forbidden",
        "This field is not known here; leave it out.",
        "此处没有这一项，请去掉。",
    ),
    (
        _in(TYPED, 1),
        TYPED,
        "extra_forbidden",
        "This field is not known here; leave it out.",
        "此处没有这一项，请去掉。",
    ),
    (
        _in("checked", TYPED),
        "checked",
        "value_error",
        "This value is not accepted here.",
        "此处不接受这个值。",
    ),
    (_in("kept", None), "kept", "value_error", "kept cannot be cleared.", "kept 不能清空。"),
    ([TYPED], "", "model_attributes_type", "A JSON object is expected here.", "此处应为 JSON 对象。"),
]


def _send(body: Any, language: str | None) -> dict[str, Any]:
    headers = {"Accept-Language": language} if language else {}
    with TestClient(app) as client:
        if body == {}:  # no body at all: the body itself is missing
            answer = client.post("/api/v1/probe", headers=headers)
        else:
            answer = client.post("/api/v1/probe", json=body, headers=headers)
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    result: dict[str, Any] = answer.json()
    return result


def _values_of(body: Any) -> list[str]:
    """The values the reader typed in ``body`` (the field names it sent are not values)."""
    if isinstance(body, dict):
        return [v for value in body.values() for v in _values_of(value)]
    if isinstance(body, list):
        return [v for value in body for v in _values_of(value)]
    # Short numbers a bound may hold as well (``At least 1.``) and an empty text are no evidence.
    return [str(body)] if len(str(body)) > 3 else []


@pytest.mark.no_database
@pytest.mark.parametrize("language", [None, "zh-CN", "en"])
@pytest.mark.parametrize("case", CASES, ids=[f"{c[2]}@{c[1] or 'body'}" for c in CASES])
def test_each_error_says_why_in_the_reader_s_language(
    case: tuple[Any, str, str, str, str], language: str | None
) -> None:
    body, field, kind, english, chinese = case
    answer = _send(body, language)
    errors = [e for e in answer["errors"] if (e["field"], e["type"]) == (field, kind)]
    assert errors, answer["errors"]
    message = errors[0]["message"]
    assert message == (english if language == "en" else chinese)
    for error in answer["errors"]:
        for typed in _values_of(body):
            assert typed not in error["message"], error
        if language != "en":
            assert not ENGLISH_SENTENCE.search(error["message"]), error
            assert re.search(r"[\u4e00-\u9fff]", error["message"]), error
    if language != "en":
        assert not ENGLISH_SENTENCE.search(answer["detail"])


@pytest.mark.no_database
def test_a_body_that_is_not_json_and_a_path_value_say_why() -> None:
    with TestClient(app) as client:
        broken = client.post(
            "/api/v1/probe", content=b'{"name": ', headers={"content-type": "application/json"}
        )
        path = client.get(f"/api/v1/probe/{TYPED}", headers={"Accept-Language": "en"})
    assert [(e["type"], e["message"]) for e in broken.json()["errors"]] == [
        ("json_invalid", "请求内容不是有效的 JSON。")
    ]
    assert [(e["field"], e["type"], e["message"]) for e in path.json()["errors"]] == [
        ("path.item_id", "int_parsing", "A whole number is expected here.")
    ]
    assert TYPED not in path.text


@pytest.mark.no_database
def test_several_errors_each_keep_their_type_and_say_why() -> None:
    body = {"count": TYPED, "lines": [{"sku": "ab", "qty": 0}], "checked": TYPED}
    answer = _send(body, "en")
    assert answer["code"] == "validation_error"
    assert sorted((e["field"], e["type"], e["message"]) for e in answer["errors"]) == [
        ("checked", "value_error", "This value is not accepted here."),
        ("count", "int_parsing", "A whole number is expected here."),
        ("lines.0.qty", "greater_than_equal", "At least 1."),
        ("lines.0.sku", "string_too_short", "At least 3 characters."),
    ]
    assert TYPED not in str(answer)


def test_a_route_s_nested_refusal_speaks_chinese_by_default(
    client: TestClient, operator: dict[str, str]
) -> None:
    """A real route: an event's price-list line (``items[0]``) with a stock under its bound and an unknown
    field, and a name past its length."""
    body = {
        "program_id": 1,
        "name": TYPED * 30,
        "starts_at": "2026-03-24T21:00:00+08:00",
        "ends_at": "2026-03-25T21:00:00+08:00",
        "guests_per_employee": 1,
        "items": [{"sku": "A1", "price_fen": 100, "stock": -1, "per_person_limit": 1, TYPED: True}],
    }
    chinese = client.post("/api/v1/events", json=body, headers=operator)
    english = client.post("/api/v1/events", json=body, headers={**operator, "Accept-Language": "en"})
    assert chinese.status_code == english.status_code == 422, chinese.text
    for answer in (chinese, english):
        assert TYPED not in "".join(e["message"] for e in answer.json()["errors"])
    shown = {(e["field"], e["type"]): e["message"] for e in chinese.json()["errors"]}
    assert shown[("items.0.stock", "greater_than_equal")] == "不能小于 0。"
    assert shown[(f"items.0.{TYPED}", "extra_forbidden")] == "此处没有这一项，请去掉。"
    assert all(not ENGLISH_SENTENCE.search(m) for m in shown.values()), shown
    said = {(e["field"], e["type"]): e["message"] for e in english.json()["errors"]}
    assert said[("items.0.stock", "greater_than_equal")] == "At least 0."


def test_a_validator_s_own_sentence_is_said_in_the_reader_s_language(
    client: TestClient, operator: dict[str, str]
) -> None:
    """A product's PATCH clearing its title: the validator's ``value_error`` keeps its type and says why
    in the reader's language, where it was pydantic's ``Value error, title cannot be cleared``."""
    body = {"title": None}
    chinese = client.patch("/api/v1/products/1", json=body, headers=operator)
    english = client.patch("/api/v1/products/1", json=body, headers={**operator, "Accept-Language": "en"})
    assert [(e["type"], e["message"]) for e in chinese.json()["errors"]] == [
        ("value_error", "title 不能清空。")
    ]
    assert [e["message"] for e in english.json()["errors"]] == ["title cannot be cleared."]
