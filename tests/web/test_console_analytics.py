"""The analytics pages: the console's (zh-CN by default, English on request, Excel exports, refresh
now, simulator) and the member's own figures."""

from __future__ import annotations

import html
import io
import re

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy.orm import Session, sessionmaker

from tests.analytics.builders import AnalyticsWorld, build
from tests.conftest import TokenMaker
from tests.pages import refusal_code
from tests.sign_in import console_sign_in, member_sign_in

pytestmark = pytest.mark.world_per_module
MARCH = "from=2026-03-01&to=2026-03-31"


@pytest.fixture(scope="module")
def world(
    module_client: TestClient,
    module_operator: dict[str, str],
    module_make_token: TokenMaker,
    module_factory: sessionmaker[Session],
) -> AnalyticsWorld:
    return build(module_client, module_operator, module_make_token, module_factory)


def test_console_page_refresh_and_figures(
    client: TestClient, factory: sessionmaker[Session], world: AnalyticsWorld
) -> None:
    console_sign_in(client, factory)
    program = client.get(f"/console/programs/{world.program_id}")
    assert f'href="/console/programs/{world.program_id}/analytics"' in program.text
    refreshed = client.post(f"/console/programs/{world.program_id}/analytics/refresh", follow_redirects=False)
    assert refreshed.status_code == 303
    page = client.get(f"/console/programs/{world.program_id}/analytics?{MARCH}")
    assert page.status_code == 200
    assert "数据分析" in page.text
    assert 'data-testid="econ-orders">7<' in page.text
    assert 'data-testid="econ-commission">¥0.90<' in page.text
    assert 'data-testid="fission-recruits">1<' in page.text
    assert "分享链接" in page.text
    assert "自然流量" in page.text
    assert 'id="repeat-chart"' in page.text
    english = client.get(f"/console/programs/{world.program_id}/analytics?{MARCH}&lang=en")
    assert "Repeat purchase by channel" in english.text
    simulated = client.get(
        f"/console/programs/{world.program_id}/analytics?{MARCH}&tier=super_member&share=30&override=5"
    )
    assert 'data-testid="sim-simulated">¥1.20<' in simulated.text
    # the simulator asks for a tier by name and rates in percent, never a code or basis points
    assert '<option value="super_member" selected>超级会员（20.0% / 5.0%）</option>' in simulated.text
    assert "基点" not in simulated.text
    assert "(bp)" not in client.get(f"/console/programs/{world.program_id}/analytics?lang=en").text
    halves = client.get(
        f"/console/programs/{world.program_id}/analytics?{MARCH}&tier=super_member&share=30.0&override=5.00"
    )
    assert 'data-testid="sim-simulated">¥1.20<' in halves.text
    refused = client.get(
        f"/console/programs/{world.program_id}/analytics?{MARCH}&tier=super_member&share=130&override=5"
    )
    assert refused.status_code == 422
    assert 'data-testid="sim-share-error">请输入 0 到 100 的百分数' in refused.text
    assert 'value="130"' in refused.text  # what was typed stays
    assert 'data-testid="simulation"' not in refused.text
    inverted = client.get(f"/console/programs/{world.program_id}/analytics?from=2026-03-31&to=2026-03-01")
    assert inverted.status_code == 422
    assert 'data-testid="range-error"' in inverted.text


def _rows(content: bytes) -> list[tuple[object, ...]]:
    sheet = load_workbook(io.BytesIO(content)).active
    assert sheet is not None
    return [tuple(r) for r in sheet.iter_rows(values_only=True)]


def test_excel_export(client: TestClient, factory: sessionmaker[Session], world: AnalyticsWorld) -> None:
    console_sign_in(client, factory)
    client.post(f"/console/programs/{world.program_id}/analytics/refresh")
    response = client.get(f"/console/programs/{world.program_id}/analytics/export?report=repeat&{MARCH}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    rows = [tuple(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[0] == ("渠道", "顾客数", "复购顾客数", "复购率（基点）", "仍在复购窗口内的顾客")
    assert ("organic", 2, 1, 5000, 0) in rows
    economics = client.get(f"/console/programs/{world.program_id}/analytics/export?report=economics&{MARCH}")
    economics_sheet = load_workbook(io.BytesIO(economics.content)).active
    assert economics_sheet is not None
    values = {r[0]: r[1] for r in economics_sheet.iter_rows(values_only=True)}
    assert values["net_fen"] == 2 * 2490 + 5 * 4990 - 3490 - 90


def test_customers_still_inside_their_window_are_shown(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    world: AnalyticsWorld,
    make_token: TokenMaker,
) -> None:
    """March's first orders with a window of ten years: every customer is still inside it, counted
    apart from the repeat figures on the page and in the export, with the data's time noted."""
    console_sign_in(client, factory)
    client.post(f"/console/programs/{world.program_id}/analytics/refresh")
    wide = f"{MARCH}&window_days=3650"
    page = client.get(f"/console/programs/{world.program_id}/analytics?{wide}")
    assert "<th>仍在复购窗口内的顾客</th>" in page.text
    assert 'data-testid="repeat-in-window-organic">2<' in page.text
    assert 'data-testid="repeat-as-of">截至 ' in page.text
    english = client.get(f"/console/programs/{world.program_id}/analytics?{wide}&lang=en")
    assert "Still inside their window" in english.text
    export = client.get(f"/console/programs/{world.program_id}/analytics/export?report=repeat&{wide}")
    rows = _rows(export.content)
    assert rows[0][-1] == "仍在复购窗口内的顾客"
    assert ("organic", 2) in {(r[0], r[-1]) for r in rows}
    client.post("/api/v1/analytics/refresh", headers=operator)
    member_sign_in(client, make_token("member", world.a))
    mine = client.get(f"/m/analytics?{MARCH}")
    assert "仍在复购窗口内的顾客" in mine.text
    assert 'data-testid="my-repeat-as-of"' in mine.text


def test_pages_need_the_right_person(
    client: TestClient, world: AnalyticsWorld, make_token: TokenMaker
) -> None:
    anonymous = client.get(f"/console/programs/{world.program_id}/analytics", follow_redirects=False)
    assert anonymous.status_code in (303, 401)
    member_sign_in(client, make_token("member", world.a))
    assert client.get(
        f"/console/programs/{world.program_id}/analytics", follow_redirects=False
    ).status_code in (
        303,
        401,
        403,
    )
    assert client.post(
        f"/console/programs/{world.program_id}/analytics/refresh", follow_redirects=False
    ).status_code in (303, 401, 403)


def test_member_sees_own_figures(
    client: TestClient, operator: dict[str, str], world: AnalyticsWorld, make_token: TokenMaker
) -> None:
    client.post("/api/v1/analytics/refresh", headers=operator)
    member_sign_in(client, make_token("member", world.a))
    page = client.get(f"/m/analytics?{MARCH}")
    assert page.status_code == 200
    assert 'data-testid="my-orders">2<' in page.text
    assert 'data-testid="my-commission">¥0.60<' in page.text  # A's own, not the mentor's override
    assert 'data-testid="my-recruits">1<' in page.text
    home = client.get("/m/")
    assert 'href="/m/analytics"' in home.text


def test_breakdowns_on_the_page_and_in_excel(
    client: TestClient, factory: sessionmaker[Session], world: AnalyticsWorld
) -> None:
    console_sign_in(client, factory)
    client.post(f"/console/programs/{world.program_id}/analytics/refresh")
    base = f"/console/programs/{world.program_id}/analytics"
    page = client.get(f"{base}?{MARCH}&econ_by=tier&value_by=tier")
    assert page.status_code == 200
    assert "按等级的经营数据" in page.text
    assert page.text.count('data-testid="econ-by-row"') == 2
    assert 'data-testid="value-table"' in page.text
    assert 'data-testid="price-row"' in page.text
    assert client.get(f"{base}?{MARCH}&econ_by=week").status_code == 422
    rows = _rows(client.get(f"{base}/export?report=economics_by&by=day&{MARCH}").content)
    assert rows[0][0] == "day"
    assert sum(int(str(r[1])) for r in rows[1:]) == 7
    assert ("2026-03-05", 1, 2490, 1000, 90, 2490 - 1000 - 90, 2500, 0) in rows
    values = _rows(client.get(f"{base}/export?report=customers&{MARCH}").content)
    assert [r[0] for r in values[1:]] == ["group_link", "organic"]
    prices = client.get(f"{base}/export?report=prices&{MARCH}")
    assert prices.status_code == 200
    bad = client.get(f"{base}/export?report=customers&by=sku&{MARCH}")
    assert bad.status_code == 422
    assert refusal_code(bad) == "bad_split"  # a download link's refusal: a page


@pytest.mark.parametrize(
    ("query", "corrected"),
    [
        ("", False),
        ("from=2026-03-01", False),
        ("from=&to=", False),
        ("from=2026-03-31&to=2026-03-01", True),
        ("from=2020-01-01&to=2026-03-01", True),
        ("from=2026-03-01&to=march", True),
        ("from=9999-01-01&to=9999-12-31", True),
        ("from=0001-01-01&to=0001-01-02", True),
    ],
)
def test_every_export_link_exports_the_range_the_page_shows(
    client: TestClient, factory: sessionmaker[Session], world: AnalyticsWorld, query: str, corrected: bool
) -> None:
    console_sign_in(client, factory)
    page = client.get(f"/console/programs/{world.program_id}/analytics?{query}")
    assert page.status_code == (422 if corrected else 200)
    assert ('data-testid="range-error"' in page.text) is corrected
    shown = re.findall(r'<input type="date" name="(?:from|to)" value="([0-9-]+)">', page.text)
    assert len(shown) == 2
    links = [html.unescape(h) for h in re.findall(r'href="([^"]*/analytics/export\?[^"]*)"', page.text)]
    assert len(links) == 8
    for link in links:
        assert f"from={shown[0]}&to={shown[1]}" in link
        response = client.get(link)
        assert response.status_code == 200, (link, response.text)
        assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
        name = response.headers["content-disposition"]
        assert f"{shown[0]}-{shown[1]}.xlsx" in name or "fission-" + shown[1][:7] in name


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("from=2026-03-31&to=2026-03-01", "bad_range"),
        ("from=2020-01-01&to=2026-03-01", "range_too_long"),
        ("from=2026-03-01&to=march", "invalid_date"),
        ("from=2026-02-30", "invalid_date"),
        ("from=9999-01-01&to=9999-12-31", "date_out_of_range"),
        ("to=0001-01-02", "date_out_of_range"),
    ],
)
def test_an_export_of_a_range_the_page_would_replace_is_refused(
    client: TestClient, factory: sessionmaker[Session], world: AnalyticsWorld, query: str, code: str
) -> None:
    console_sign_in(client, factory)
    base = f"/console/programs/{world.program_id}/analytics"
    for report in ("economics", "fission", "funnel"):
        refused = client.get(f"{base}/export?report={report}&{query}")
        assert refused.status_code == 422, refused.text
        assert refusal_code(refused) == code  # a download link's refusal: a page


def test_an_export_without_a_range_is_of_the_pages_default_range(
    client: TestClient, factory: sessionmaker[Session], world: AnalyticsWorld
) -> None:
    console_sign_in(client, factory)
    base = f"/console/programs/{world.program_id}/analytics"
    page = client.get(base).text
    start, end = re.findall(r'<input type="date" name="(?:from|to)" value="([0-9-]+)">', page)
    for query in ("", "&from=&to="):
        response = client.get(f"{base}/export?report=economics{query}")
        assert response.status_code == 200
        assert f'filename="economics-{start}-{end}.xlsx"' in response.headers["content-disposition"]


PERCENT = re.compile(r"-?\d[\d.,]*%")
SPLITS = (
    "econ_by=day&value_by=channel&funnel_by=link",
    "econ_by=tier&value_by=tier&funnel_by=member",
    "econ_by=group&value_by=group&funnel_by=group",
    "econ_by=sku",
    "econ_by=brand",
)


def _headings(text: str) -> list[str]:
    """Each h1/h2/h3 as read, without its Excel link."""
    found = re.findall(r"<h([123])[^>]*>(.*?)</h\1>", text, re.S)
    plain = [re.sub(r"<[^>]+>", "", re.sub(r"<small>.*?</small>", "", h, flags=re.S)) for _, h in found]
    return [" ".join(html.unescape(h).split()) for h in plain]


def _sentence_case(heading: str) -> bool:
    """Only the first word capitalised; an acronym (SKU, GMV) or a program's own name may be."""
    words = heading.rsplit("·", maxsplit=1)[-1].split()
    return all(not w[0].isupper() or w.isupper() for w in words[1:])


def test_analytics_headings_and_percentages_read_alike(
    client: TestClient, factory: sessionmaker[Session], world: AnalyticsWorld, make_token: TokenMaker
) -> None:
    console_sign_in(client, factory)
    base = f"/console/programs/{world.program_id}/analytics"
    client.post(f"{base}/refresh")
    percents: set[str] = set()
    for split in SPLITS:
        page = client.get(f"{base}?{MARCH}&{split}&tier=super_member&share=30&override=5&lang=en")
        assert page.status_code == 200
        headings = _headings(page.text)
        assert len(headings) >= 9
        assert [h for h in headings if not _sentence_case(h)] == [], split
        percents |= set(PERCENT.findall(page.text))
    headings = _headings(client.get(f"{base}?{MARCH}&{SPLITS[1]}&lang=en").text)
    assert {"Economics by tier", "Customer value by tier", "Funnel by member"} <= set(headings)
    assert "Economics by SKU" in _headings(client.get(f"{base}?{MARCH}&econ_by=sku&lang=en").text)
    chinese = _headings(client.get(f"{base}?{MARCH}&{SPLITS[1]}").text)
    assert {"按等级的经营数据", "按等级的顾客价值", "按会员的转化漏斗"} <= set(chinese)
    # one rule for every percentage on the page: one decimal (repeat, cohorts, funnel, prices, tiers)
    assert {"50.0%", "20.0%", "5.0%"} <= percents
    assert [p for p in percents if not re.fullmatch(r"\d+\.\d%", p)] == []
    member_sign_in(client, make_token("member", world.a))
    mine = client.get(f"/m/analytics?{MARCH}&lang=en").text
    assert [h for h in _headings(mine) if not _sentence_case(h)] == []
    shown = PERCENT.findall(mine)
    assert shown
    assert [p for p in shown if not re.fullmatch(r"\d+\.\d%", p)] == []
