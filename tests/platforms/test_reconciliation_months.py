"""The month and platform a reconciliation is asked for, on the API and on the console: a month that is not
a real ``YYYY-MM`` is 422 ``invalid_month``, one that has not begun 422 ``month_in_future`` (problem+json on
the API, a page in the page's language on the console, its Excel download included); the current month is
answered, and a platform left out is a validation error on the API and JD 联盟 on the console."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.clock import utcnow
from neigou.kit.exports import XLSX_MEDIA_TYPE
from tests.platforms.builders import Feeds, feeds_world
from tests.sign_in import console_sign_in

pytestmark = pytest.mark.world_per_module

NOT_MONTHS = [
    "2026-13",
    "2026-00",
    "abc",
    "2026-1",
    "2026-003",
    "２０２６-０３",
    "0001-01",
    "9999-12",
    " 2026-03",
]
MESSAGES = {
    "invalid_month": {
        "zh-CN": "月份须写成 YYYY-MM，例如 2026-03。",
        "en": "The month must be written YYYY-MM, such as 2026-03.",
    },
    "month_in_future": {
        "zh-CN": "2099-01 尚未到来，还没有可对账的订单。",
        "en": "The month 2099-01 lies in the future; it has no orders to reconcile yet.",
    },
}
PATHS = ("reconciliation", "reconciliation.xlsx")


@pytest.fixture(scope="module")
def world(module_client: TestClient, module_operator: dict[str, str], module_factory: Any) -> Feeds:
    return feeds_world(module_client, module_operator, module_factory)


def _this_month(client: TestClient, operator: dict[str, str], program_id: int) -> str:
    """The month it is now in the program's time zone."""
    program = client.get(f"/api/v1/programs/{program_id}", headers=operator)
    now = utcnow().astimezone(ZoneInfo(program.json()["timezone"]))
    return f"{now.year:04d}-{now.month:02d}"


def _refusal_page(response: Response, code: str, lang: str) -> None:
    assert response.status_code == 422, response.text[:300]
    assert response.headers["content-type"].startswith("text/html"), response.text[:300]
    assert f'<html lang="{lang}">' in response.text
    assert f'data-testid="http-error" data-code="{code}"' in response.text
    assert f'data-testid="http-error-message">{MESSAGES[code][lang]}</p>' in response.text


@pytest.mark.parametrize("month", [*NOT_MONTHS, "2099-01"])
def test_the_console_refuses_a_month_that_is_not_past_or_current_with_a_page_in_its_language(
    client: TestClient, factory: sessionmaker[Session], world: Feeds, month: str
) -> None:
    code = "month_in_future" if month == "2099-01" else "invalid_month"
    console_sign_in(client, factory, username="months-ops")
    for path in PATHS:
        url = f"/console/programs/{world.w.program_id}/{path}"
        _refusal_page(client.get(url, params={"platform": "jd_union", "month": month}), code, "zh-CN")
        english = client.get(url, params={"platform": "jd_union", "month": month, "lang": "en"})
        _refusal_page(english, code, "en")
        # a page reads no Accept-Language: the language the page itself would be in
        asked = client.get(url, params={"month": month}, headers={"accept-language": "en"})
        _refusal_page(asked, code, "zh-CN")
        client.cookies.set("neigou_lang", "en")
        _refusal_page(client.get(url, params={"month": month}), code, "en")
        client.cookies.delete("neigou_lang")


@pytest.mark.parametrize("month", ["2026-13", "2026-00", "abc", "2026-1", "2099-01"])
def test_the_api_refuses_such_a_month_with_a_problem(
    client: TestClient, operator: dict[str, str], world: Feeds, month: str
) -> None:
    code = "month_in_future" if month == "2099-01" else "invalid_month"
    for path in PATHS:
        url = f"/api/v1/programs/{world.w.program_id}/{path}"
        refused = client.get(
            url, params={"platform": "taobao", "month": month}, headers={**operator, "accept-language": "en"}
        )
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert (refused.json()["code"], refused.json()["detail"]) == (code, MESSAGES[code]["en"])


def test_the_current_month_is_answered_and_a_missing_platform_or_month_is_a_validation_error(
    client: TestClient, operator: dict[str, str], world: Feeds
) -> None:
    url = f"/api/v1/programs/{world.w.program_id}/reconciliation"
    month = _this_month(client, operator, world.w.program_id)
    current = client.get(url, params={"platform": "pdd", "month": month}, headers=operator)
    assert current.status_code == 200, current.text
    for params, missing in (({"month": month}, "platform"), ({"platform": "pdd"}, "month")):
        for path in (url, f"{url}.xlsx"):
            refused = client.get(path, params=params, headers=operator)
            assert refused.status_code == 422, refused.text
            assert refused.headers["content-type"] == "application/problem+json"
            assert refused.json()["code"] == "validation_error"
            assert [e["field"] for e in refused.json()["errors"]] == [f"query.{missing}"]
    unknown = client.get(url, params={"platform": "amazon", "month": month}, headers=operator)
    assert (unknown.status_code, unknown.json()["code"]) == (422, "validation_error")


def test_the_console_shows_the_current_month_of_jd_union_when_none_is_asked(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], world: Feeds
) -> None:
    month = _this_month(client, operator, world.w.program_id)
    console_sign_in(client, factory, username="months-default")
    base = f"/console/programs/{world.w.program_id}"
    for params in ({}, {"month": ""}, {"platform": "jd_union", "month": month}):
        page = client.get(f"{base}/reconciliation", params=params)
        assert page.status_code == 200, page.text[:300]
        assert f"· {month}</h1>" in page.text
        book = client.get(f"{base}/reconciliation.xlsx", params=params)
        assert (book.status_code, book.headers["content-type"]) == (200, XLSX_MEDIA_TYPE)
        assert f"reconciliation-jd_union-{month}.xlsx" in book.headers["content-disposition"]
    unknown = client.get(f"{base}/reconciliation", params={"platform": "amazon"})
    assert unknown.status_code == 422
    assert 'data-code="validation_error"' in unknown.text
    assert "platform" in unknown.text
