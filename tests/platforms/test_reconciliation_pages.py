"""A reconciliation month a page at a time: on a month of a few hundred orders, the pages put together are
the whole month (no row twice, none left out), the totals and the counts per cause are the whole month's
whatever the page or the cause filter, ``cause=`` keeps one cause, and bad paging is a 422 problem. The
workbook holds every row and the totals, read from the database a page at a time (counted statements), and
refuses a month past its row limit; the console shows a page with the month's totals."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth.models import Role
from neigou.kit.exports import XLSX_MEDIA_TYPE
from neigou.kit.paging import DEFAULT_LIMIT, MAX_LIMIT
from neigou.platforms import reconciliation
from tests.conftest import TokenMaker, bearer
from tests.platforms.builders import Feeds, feed, feeds_world, jd_row
from tests.sign_in import console_sign_in
from tests.statements import statements

pytestmark = pytest.mark.world_per_module

AGREE = range(600000, 600120)  # taken in, the platform pays what neigou booked
MISSING = range(600120, 600180)  # an unknown share link: not a neigou order
AMOUNT = range(600180, 600300)  # taken in, then settled for 18.00 where 20.00 was estimated
MONTH = {"platform": "jd_union", "month": "2026-03"}
EXPECTED: dict[str, tuple[int, int, int, str | None]] = {
    **{str(n): (2000, 2000, 0, None) for n in AGREE},
    **{str(n): (2000, 0, 2000, "missing") for n in MISSING},
    **{str(n): (1800, 2000, -200, "amount") for n in AMOUNT},
}
COUNTS = {"orders": 300, "agreeing": 120, "missing": 60, "status": 0, "missing_line": 0, "amount": 120}


@pytest.fixture(scope="module")
def world(module_client: TestClient, module_operator: dict[str, str], module_factory: Any) -> Feeds:
    f = feeds_world(module_client, module_operator, module_factory)
    link = f.w.link
    rows = [jd_row(n, sub_union_id=link) for n in (*AGREE, *AMOUNT)]
    rows += [jd_row(n, sub_union_id="no-such-link") for n in MISSING]
    assert feed(module_client, module_operator, f.integration_id, "jd_union", rows)["created"] == 240
    settled = [
        jd_row(
            n,
            valid_code=17,
            sub_union_id=link,
            finished=timedelta(days=2),
            modified=timedelta(days=9),
            pay_month="20260310",
            actual_fee="18.00",
        )
        for n in AMOUNT
    ]
    feed(module_client, module_operator, f.integration_id, "jd_union", settled)
    return f


def _url(f: Feeds, path: str = "reconciliation") -> str:
    return f"/api/v1/programs/{f.w.program_id}/{path}"


def _figures(rows: list[dict[str, Any]]) -> dict[str, tuple[int, int, int, str | None]]:
    return {
        r["external_id"]: (
            r["platform_commission_fen"],
            r["ledger_commission_fen"],
            r["diff_fen"],
            r["cause"],
        )
        for r in rows
    }


def _all_pages(client: TestClient, operator: dict[str, str], f: Feeds, **params: Any) -> list[dict[str, Any]]:
    """Every page of the list, following ``Link: rel="next"``; each page's totals are the month's."""
    rows: list[dict[str, Any]] = []
    response = client.get(_url(f), params={**MONTH, **params}, headers=operator)
    while True:
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["counts"] == COUNTS
        assert (body["platform_commission_fen"], body["ledger_commission_fen"], body["diff_fen"]) == (
            576_000,
            480_000,
            96_000,
        )
        rows += body["rows"]
        following = re.fullmatch(r'<(.+)>; rel="next"', response.headers.get("link", ""))
        if following is None:
            return rows
        response = client.get(following[1], headers=operator)


def test_the_pages_put_together_are_the_whole_month_and_the_totals_are_its_own(
    client: TestClient, operator: dict[str, str], world: Feeds
) -> None:
    first = client.get(_url(world), params=MONTH, headers=operator)
    assert first.status_code == 200, first.text
    assert len(first.json()["rows"]) == DEFAULT_LIMIT
    assert first.headers["x-total-count"] == "300"
    rows = _all_pages(client, operator, world, limit=37)
    assert len(rows) == 300  # no row twice
    assert _figures(rows) == EXPECTED
    members = sum(r["members_commission_fen"] for r in rows)
    assert first.json()["members_commission_fen"] == members > 0
    whole = client.get(_url(world), params={**MONTH, "limit": MAX_LIMIT}, headers=operator).json()
    assert [r["external_id"] for r in whole["rows"]] == [r["external_id"] for r in rows]  # one order
    past = client.get(_url(world), params={**MONTH, "offset": 300}, headers=operator)
    assert (past.json()["rows"], past.json()["counts"], "link" in past.headers) == ([], COUNTS, False)


@pytest.mark.parametrize(
    ("cause", "kept"),
    [("missing", MISSING), ("amount", AMOUNT), ("none", AGREE), ("differing", (*MISSING, *AMOUNT))],
)
def test_the_cause_filter_keeps_its_rows_and_the_months_totals(
    client: TestClient, operator: dict[str, str], world: Feeds, cause: str, kept: Any
) -> None:
    rows = _all_pages(client, operator, world, cause=cause, limit=50)
    assert _figures(rows) == {str(n): EXPECTED[str(n)] for n in kept}
    one = client.get(_url(world), params={**MONTH, "cause": cause, "limit": 1}, headers=operator)
    assert one.headers["x-total-count"] == str(len(kept))
    empty = client.get(_url(world), params={**MONTH, "cause": "status"}, headers=operator)
    assert (empty.json()["rows"], empty.headers["x-total-count"]) == ([], "0")


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": MAX_LIMIT + 1},
        {"limit": "ten"},
        {"offset": -1},
        {"cause": "bogus"},
        {"cause": ""},
    ],
)
def test_bad_paging_is_a_problem(
    client: TestClient, operator: dict[str, str], world: Feeds, params: dict[str, Any]
) -> None:
    response = client.get(_url(world), params={**MONTH, **params}, headers=operator)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "validation_error"
    if "cause" in params:
        book = client.get(_url(world, "reconciliation.xlsx"), params={**MONTH, **params}, headers=operator)
        assert (book.status_code, book.json()["code"]) == (422, "validation_error")


def test_the_workbook_holds_every_row_and_the_totals_read_a_page_at_a_time(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    world: Feeds,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(reconciliation, "EXPORT_PAGE_ROWS", 70)
    with factory() as session:
        engine = session.get_bind().engine
    with statements(engine) as sent:
        response = client.get(_url(world, "reconciliation.xlsx"), params=MONTH, headers=operator)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == XLSX_MEDIA_TYPE
    pages = [s for s in sent if "reconciled" in s and "LIMIT" in s.upper()]
    assert len(pages) == 5  # 300 rows, 70 a statement
    # each page after the first starts after the last row read, never by skipping rows
    assert [s.count("reconciled.paid_at >") for s in pages] == [0, 1, 1, 1, 1]
    book = load_workbook(io.BytesIO(response.content))
    orders, totals = book.worksheets
    values = list(orders.values)
    assert values[0] == reconciliation.COLUMNS
    assert {str(v[0]): (v[2], v[3], v[5], v[6] or None) for v in values[1:]} == EXPECTED
    assert len(values) == 301
    summary: dict[Any, Any] = {row[0]: row[1] for row in totals.iter_rows(min_row=2, values_only=True)}
    assert {k: summary[k] for k in ("platform_commission_fen", "ledger_commission_fen", "diff_fen")} == {
        "platform_commission_fen": 576_000,
        "ledger_commission_fen": 480_000,
        "diff_fen": 96_000,
    }
    assert {k: summary[k] for k in COUNTS} == COUNTS
    missing = client.get(
        _url(world, "reconciliation.xlsx"), params={**MONTH, "cause": "missing"}, headers=operator
    )
    kept = list(load_workbook(io.BytesIO(missing.content)).worksheets[0].values)[1:]
    assert sorted(str(v[0]) for v in kept) == [str(n) for n in MISSING]


def test_a_workbook_past_its_row_limit_is_refused_and_a_cause_at_a_time_is_not(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    world: Feeds,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(reconciliation, "MAX_EXPORT_ROWS", 100)
    for base in (
        _url(world, "reconciliation.xlsx"),
        f"/console/programs/{world.w.program_id}/reconciliation.xlsx",
    ):
        if base.startswith("/console"):
            console_sign_in(client, factory, username="pages-limit")
        refused = client.get(base, params=MONTH, headers=operator, follow_redirects=False)
        assert refused.status_code == 422, refused.text[:300]
        assert refused.headers["content-type"] != XLSX_MEDIA_TYPE
        if not base.startswith("/console"):
            assert refused.headers["content-type"] == "application/problem+json"
            assert (refused.json()["code"], refused.json()["max_rows"]) == ("export_too_large", 100)
        kept = client.get(base, params={**MONTH, "cause": "missing"}, headers=operator)
        assert kept.status_code == 200, kept.text[:300]
    client.cookies.clear()


def test_the_list_is_for_the_programs_own_operators(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, world: Feeds
) -> None:
    rival = client.post(
        "/api/v1/organizations", json={"code": "rival-pages", "name": "对手"}, headers=operator
    )
    assert rival.status_code == 201, rival.text
    callers = {
        401: {},
        403: bearer(make_token(Role.MEMBER, world.w.seller)),
        404: bearer(make_token(Role.OPERATOR, organization_id=rival.json()["id"])),
        200: operator,
    }
    for path in ("reconciliation", "reconciliation.xlsx"):
        for status, headers in callers.items():
            response = client.get(
                _url(world, path), params={**MONTH, "cause": "missing", "limit": 5}, headers=headers
            )
            assert response.status_code == status, (path, status, response.text[:300])
            if status != 200:
                assert "600120" not in response.text


def test_the_console_shows_a_page_differences_first_with_the_months_totals(
    client: TestClient, factory: sessionmaker[Session], world: Feeds
) -> None:
    console_sign_in(client, factory, username="pages-ops")
    url = f"/console/programs/{world.w.program_id}/reconciliation"
    shown: list[str] = []
    for number in (1, 2, 3):
        page = client.get(url, params={**MONTH, "page": number})
        assert page.status_code == 200, page.text[:300]
        rows = re.findall(
            r'data-testid="reconciliation-row" data-cause="([a-z_]*)"><td>(\d+)</td>', page.text
        )
        assert len(rows) == 100
        assert re.search(r'data-testid="reconciliation-differing">180 / 300<', page.text)
        assert 'data-testid="pager"' in page.text
        shown += [cause for cause, _ in rows]
    assert shown == ["missing"] * 60 + ["amount"] * 120 + [""] * 120
    agreeing = client.get(url, params={**MONTH, "cause": "none", "page": 2})
    assert len(re.findall(r'data-cause=""', agreeing.text)) == 20
    assert "cause=none" in agreeing.text  # the workbook link keeps the filter
    refused = client.get(url, params={**MONTH, "page": 0})
    assert refused.status_code == 422
    client.cookies.clear()
