"""Analytics in a real browser: the operator refreshes the store and reads the demo program's
economics, repeat purchase chart and cohorts, and its funnel on a desktop and a phone; a member reads
their own figures on a phone."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI
from playwright.sync_api import Browser, Page, expect

from neigou.demo.seed import DemoWorld
from tests.analytics.holder import held_store
from tests.browser.conftest import ARTIFACTS, member_sign_in, sign_in

pytestmark = pytest.mark.browser


def test_operator_reads_analytics(browser: Browser, live_server: str, world: DemoWorld) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    sign_in(page, live_server, world, f"/console/programs/{world.partner_program_id}/analytics")
    expect(page.get_by_test_id("analytics-title")).to_contain_text("数据分析")
    page.get_by_test_id("analytics-refresh").click()
    expect(page.get_by_test_id("analytics-title")).to_contain_text("数据分析")
    assert page.get_by_test_id("econ-orders").inner_text() != "0"
    expect(page.locator("#repeat-chart canvas")).to_have_count(1)
    expect(page.get_by_test_id("repeat-table")).to_contain_text("分享链接")
    page.screenshot(path=str(ARTIFACTS / "console-analytics-zh.png"), full_page=True)
    with page.expect_download() as download:
        page.get_by_test_id("export-repeat").click()
    assert download.value.suggested_filename.endswith(".xlsx")
    # The breakdowns: economics per sku, customer value per tier, group price against app price.
    page.get_by_test_id("econ-by").get_by_role("link", name="商品编码").click()
    expect(page.get_by_test_id("econ-by")).to_contain_text("商品编码")
    assert page.get_by_test_id("econ-by-row").count() > 0
    page.get_by_test_id("value-by").get_by_role("link", name="等级").click()
    expect(page.get_by_test_id("value-table")).to_be_visible()
    expect(page.get_by_test_id("price-table")).to_be_visible()
    page.get_by_test_id("econ-by-table").screenshot(path=str(ARTIFACTS / "console-analytics-by-sku-zh.png"))
    with page.expect_download() as download:
        page.get_by_test_id("export-economics-by").click()
    assert "economics_by" in download.value.suggested_filename


def test_operator_is_told_the_figures_are_busy(
    browser: Browser, served: tuple[str, FastAPI], world: DemoWorld, tmp_path: Path
) -> None:
    live_server, app = served
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    sign_in(page, live_server, world)
    with held_store(tmp_path / "held.duckdb") as held:
        app.state.settings = app.state.settings.model_copy(update={"analytics_url": f"duckdb:///{held}"})
        page.goto(f"{live_server}/console/programs/{world.partner_program_id}/analytics")
        notice = page.get_by_test_id("unavailable")
        expect(notice).to_contain_text("数据暂时无法显示")
        expect(page.get_by_test_id("nav-orders")).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / "console-analytics-busy-zh.png"), full_page=True)
    page.get_by_test_id("try-again").click()  # the store is free again
    expect(page.get_by_test_id("analytics-title")).to_contain_text("数据分析")
    page.close()


@pytest.mark.parametrize(("width", "height"), [(1440, 900), (390, 844)])
def test_operator_reads_the_funnel(
    browser: Browser, live_server: str, world: DemoWorld, width: int, height: int
) -> None:
    page = browser.new_page(viewport={"width": width, "height": height})
    sign_in(page, live_server, world, f"/console/programs/{world.partner_program_id}/analytics")
    page.get_by_test_id("analytics-refresh").click()
    funnel = page.get_by_test_id("funnel")
    expect(funnel).to_contain_text("按链接的转化漏斗")
    assert page.get_by_test_id("funnel-row").count() > 0
    expect(page.locator("#funnel-chart svg")).to_have_count(1)
    _labels_are_whole_and_inside_the_chart(page)
    funnel.scroll_into_view_if_needed()
    _fits(page, width)
    funnel.screenshot(path=str(ARTIFACTS / f"console-analytics-funnel-{width}.png"))
    page.get_by_test_id("funnel-by").get_by_role("link", name="群").click()
    expect(page.get_by_test_id("funnel")).to_contain_text("按群的转化漏斗")
    assert page.get_by_test_id("funnel-row").count() > 0
    _labels_are_whole_and_inside_the_chart(page)
    _fits(page, width)
    with page.expect_download() as download:
        page.get_by_test_id("export-funnel").click()
    assert download.value.suggested_filename.startswith("funnel-group-")
    with page.expect_download() as download:
        page.get_by_test_id("export-fission").click()
    assert download.value.suggested_filename.startswith("fission-")
    page.close()


FITS = """() => {
  const card = document.querySelector("[data-testid=funnel]").getBoundingClientRect();
  const style = getComputedStyle(document.querySelector("[data-testid=funnel]"));
  const inner = [card.left + parseFloat(style.paddingLeft), card.right - parseFloat(style.paddingRight)];
  const table = document.querySelector("[data-testid=funnel-table]").parentElement;
  return {
    page: document.documentElement.scrollWidth, viewport: window.innerWidth, inner: inner,
    choices: Array.from(document.querySelectorAll("[data-testid=funnel-by] > *"))
      .map((e) => { const b = e.getBoundingClientRect(); return [e.textContent, b.left, b.right, b.top]; }),
    table: [table.scrollWidth, table.clientWidth],
  };
}"""


def _fits(page: Page, width: int) -> None:
    """Nothing is wider than the screen: the page does not scroll sideways, every funnel choice lies
    inside the card's padding next to the one before, and the funnel table fits its card without
    scrolling sideways."""
    fits = page.evaluate(FITS)
    assert fits["page"] <= fits["viewport"] == width, fits
    left, right = fits["inner"]
    for name, start, end, _top in fits["choices"]:
        assert left - 0.5 <= start < end <= right + 0.5, (name, fits)
    # The choices sit side by side from the left (wrapping when they must), never spread to the edges.
    for before, after in zip(fits["choices"], fits["choices"][1:], strict=False):
        assert after[3] > before[3] or after[1] - before[2] < 16, (after[0], fits)
    assert fits["table"][0] <= fits["table"][1], fits


LABELS = """() => {
  const box = (e) => { const b = e.getBoundingClientRect(); return [b.left, b.top, b.right, b.bottom]; };
  return {
    chart: box(document.getElementById("funnel-chart")),
    texts: Array.from(document.querySelectorAll("#funnel-chart svg text")).map((t) => [t.textContent, box(t)]),
    names: Array.from(document.querySelectorAll("[data-testid=funnel-row]")).slice(0, 10)
      .map((tr) => tr.cells[0].textContent),
  };
}"""


def _labels_are_whole_and_inside_the_chart(page: Page) -> None:
    """Every text of the funnel chart lies inside it, and each of the first ten rows' names is a label,
    in full or cut with "…" after a readable start."""
    drawn = page.evaluate(LABELS)
    left, top, right, bottom = drawn["chart"]
    for text, (x0, y0, x1, y1) in drawn["texts"]:
        assert left - 1 <= x0, (text, x0, left)
        assert x1 <= right + 1, (text, x1, right)
        assert top - 1 <= y0, (text, y0, top)
        assert y1 <= bottom + 1, (text, y1, bottom)
    labels = {text for text, _ in drawn["texts"]}
    for name in drawn["names"]:
        cut = [t for t in labels if t.endswith("…") and len(t) > 6 and name.startswith(t[:-1])]
        assert name in labels or cut, (name, sorted(labels))


def test_member_reads_own_figures_on_a_phone(browser: Browser, live_server: str, world: DemoWorld) -> None:
    page = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
    member_sign_in(page, live_server, world)
    page.goto(f"{live_server}/m/analytics")
    expect(page.get_by_test_id("my-analytics-title")).to_have_text("我的数据")
    page.screenshot(path=str(ARTIFACTS / "workspace-analytics-zh.png"), full_page=True)


def test_member_is_told_the_figures_are_busy_on_a_phone(
    browser: Browser, served: tuple[str, FastAPI], world: DemoWorld, tmp_path: Path
) -> None:
    live_server, app = served
    page = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
    member_sign_in(page, live_server, world)
    with held_store(tmp_path / "held.duckdb") as held:
        app.state.settings = app.state.settings.model_copy(update={"analytics_url": f"duckdb:///{held}"})
        page.goto(f"{live_server}/m/analytics")
        expect(page.get_by_test_id("unavailable")).to_contain_text("数据暂时无法显示")
        expect(page.get_by_test_id("bn-me")).to_have_attribute("aria-current", "page")
        page.screenshot(path=str(ARTIFACTS / "workspace-analytics-busy-zh.png"), full_page=True)
    page.get_by_test_id("try-again").click()
    expect(page.get_by_test_id("my-analytics-title")).to_have_text("我的数据")
    page.close()
