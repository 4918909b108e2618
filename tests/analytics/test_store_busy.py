"""An analytics store file another process holds (DuckDB lets one process open a file) answers 503 with
a code and a Retry-After, in the reader's language, instead of a 500."""

from __future__ import annotations

import html
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.i18n import LANG_COOKIE
from tests.analytics.holder import held_store
from tests.conftest import TokenMaker
from tests.factories import create_member, create_program
from tests.sign_in import console_sign_in, member_sign_in


@pytest.fixture
def held(tmp_path: Path) -> Iterator[Path]:
    """A DuckDB file opened by another process for as long as the test runs."""
    with held_store(tmp_path / "analytics.duckdb") as path:
        yield path


@pytest.mark.parametrize(("lang", "words"), [("zh-CN", "另一个进程"), ("en", "another process")])
def test_a_store_held_by_another_process_answers_503(
    app: FastAPI, client: TestClient, operator: dict[str, str], held: Path, *, lang: str, words: str
) -> None:
    app.state.settings = app.state.settings.model_copy(update={"analytics_url": f"duckdb:///{held}"})
    response = client.post("/api/v1/analytics/refresh", headers={**operator, "Accept-Language": lang})
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert int(response.headers["retry-after"]) > 0
    body = response.json()
    assert body["code"] == "analytics_store_busy"
    assert words in body["detail"]
    assert str(held) not in body["detail"]  # the file's path and the holder's pid stay on the server


@pytest.mark.parametrize(
    ("ask", "words", "again"),
    [
        ({}, "数据暂时无法显示", "再试一次"),
        ({"query": "?lang=en"}, "The figures are temporarily unavailable", "Try again"),
        ({"cookie": "en"}, "The figures are temporarily unavailable", "Try again"),
    ],
)
def test_the_console_page_of_a_held_store_is_a_page_in_the_readers_language(
    app: FastAPI,
    client: TestClient,
    factory: sessionmaker[Session],
    operator: dict[str, str],
    held: Path,
    *,
    ask: dict[str, str],
    words: str,
    again: str,
) -> None:
    program = create_program(client, operator)
    app.state.settings = app.state.settings.model_copy(update={"analytics_url": f"duckdb:///{held}"})
    console_sign_in(client, factory)
    if "cookie" in ask:
        client.cookies.set(LANG_COOKIE, ask["cookie"])
    path = f"/console/programs/{program['id']}/analytics{ask.get('query', '')}"
    page = client.get(path)
    assert page.status_code == 503, page.text
    assert page.headers["content-type"].startswith("text/html")
    assert int(page.headers["retry-after"]) > 0
    assert words in page.text
    assert 'data-code="analytics_store_busy"' in page.text
    assert 'data-testid="nav-orders"' in page.text  # the console's frame
    assert f'href="{html.escape(path)}" data-testid="try-again">{again}<' in page.text
    assert str(held) not in page.text
    # Refreshing from the page is refused the same way; the API stays problem+json.
    refresh = client.post(f"/console/programs/{program['id']}/analytics/refresh", follow_redirects=False)
    assert (refresh.status_code, refresh.headers["content-type"][:9]) == (503, "text/html")
    assert 'data-testid="try-again"' not in refresh.text


def test_the_members_figures_of_a_held_store_are_a_workspace_page(
    app: FastAPI, client: TestClient, operator: dict[str, str], make_token: TokenMaker, held: Path
) -> None:
    program = create_program(client, operator)
    member = create_member(client, operator, program["id"])
    app.state.settings = app.state.settings.model_copy(update={"analytics_url": f"duckdb:///{held}"})
    member_sign_in(client, make_token("member", member_id=member["id"]))
    page = client.get("/m/analytics?lang=en")
    assert (page.status_code, page.headers["content-type"][:9]) == (503, "text/html")
    assert int(page.headers["retry-after"]) > 0
    assert "The figures are temporarily unavailable" in page.text
    assert 'data-testid="bottom-nav"' in page.text  # the workspace's frame
    assert "another process" not in page.text  # how the deployment is set up is the console's business
