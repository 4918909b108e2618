"""The paging dependency: limits, refusals as problem+json, X-Total-Count and the RFC 8288 next link."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.audit.models import AuditEntry
from neigou.kit.clock import utcnow
from neigou.kit.paging import (
    Cursor,
    CursorDep,
    Page,
    PageDep,
    PageQuery,
    count_rows,
    paginate,
    paginate_before,
    paging,
)
from neigou.web.problems import install

ROWS = list(range(1, 8))  # a list of seven rows, ids 1…7


def _app() -> FastAPI:
    app = FastAPI()
    install(app)

    @app.get("/api/v1/rows")
    def rows(page: PageDep) -> list[int]:
        page.answer(len(ROWS))
        return ROWS[page.offset : page.offset + page.limit]

    @app.get("/api/v1/board")
    def board(page: Annotated[PageQuery, Depends(paging(3))], kind: str = "all") -> dict[str, object]:
        page.answer(len(ROWS))
        return {"kind": kind, "limit": page.limit, "rows": ROWS[page.offset : page.offset + page.limit]}

    @app.get("/api/v1/log")
    def log(cursor: CursorDep) -> list[int]:
        older = [r for r in reversed(ROWS) if cursor.before_id is None or r < cursor.before_id]
        shown = older[: cursor.limit]
        cursor.answer(len(ROWS), shown[-1] if len(older) > cursor.limit else None)
        return shown

    return app


@pytest.fixture
def api() -> Iterator[TestClient]:
    with TestClient(_app()) as client:
        yield client


def test_defaults_answer_the_total_and_no_next_link_when_all_fit(api: TestClient) -> None:
    response = api.get("/api/v1/rows")
    assert response.json() == ROWS
    assert response.headers["x-total-count"] == "7"
    assert "link" not in response.headers


def test_next_link_keeps_the_query_and_moves_the_offset(api: TestClient) -> None:
    response = api.get("/api/v1/board?kind=top&limit=3")
    assert response.json() == {"kind": "top", "limit": 3, "rows": [1, 2, 3]}
    assert (
        response.headers["link"] == '<http://testserver/api/v1/board?kind=top&limit=3&offset=3>; rel="next"'
    )
    assert api.get("/api/v1/board").json()["limit"] == 3  # the endpoint's own default


def test_walking_the_links_reads_every_row_once_and_the_last_page_has_no_link(api: TestClient) -> None:
    seen: list[int] = []
    url: str | None = "/api/v1/rows?limit=3"
    pages = 0
    while url is not None:
        response = api.get(url)
        assert response.headers["x-total-count"] == "7"
        seen += response.json()
        pages += 1
        link = response.headers.get("link")
        url = link[1 : link.index(">")] if link else None
    assert (seen, pages) == (ROWS, 3)


def test_exact_last_page_has_no_link(api: TestClient) -> None:
    response = api.get("/api/v1/rows?limit=7")
    assert (len(response.json()), response.headers.get("link")) == (7, None)
    assert api.get("/api/v1/rows?limit=6").headers["link"].endswith('offset=6>; rel="next"')
    past = api.get("/api/v1/rows?offset=50")
    assert (past.json(), past.headers["x-total-count"], past.headers.get("link")) == ([], "7", None)


@pytest.mark.parametrize(
    "query",
    [
        "limit=0",
        "limit=501",
        "limit=-1",
        "limit=abc",
        "offset=-1",
        "offset=10000001",
        f"offset={2**63}",
        "limit=1.5",
    ],
)
def test_bad_paging_values_are_validation_problems(api: TestClient, query: str) -> None:
    response = api.get(f"/api/v1/rows?{query}")
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "validation_error"


def test_limit_bounds(api: TestClient) -> None:
    assert api.get("/api/v1/rows?limit=1").json() == [1]
    assert api.get("/api/v1/rows?limit=500").status_code == 200


def test_cursor_pages_walk_older_rows(api: TestClient) -> None:
    first = api.get("/api/v1/log?limit=3")
    assert (first.json(), first.headers["x-total-count"]) == ([7, 6, 5], "7")
    assert first.headers["link"] == '<http://testserver/api/v1/log?limit=3&before_id=5>; rel="next"'
    last = api.get("/api/v1/log?limit=3&before_id=2")
    assert (last.json(), last.headers.get("link")) == ([1], None)
    for bad in ("before_id=0", f"before_id={2**63}", "before_id=x"):
        assert api.get(f"/api/v1/log?{bad}").json()["code"] == "validation_error"


def test_counts_and_pages_in_sql(factory: sessionmaker[Session]) -> None:
    with factory() as session:
        for n in range(5):
            session.add(
                AuditEntry(
                    at=utcnow(),
                    actor_kind="cli",
                    actor_ref="paging",
                    actor_label="paging",
                    action="paging.test",
                    entity="paging",
                    entity_id=str(n),
                )
            )
        session.flush()
        stmt = select(AuditEntry).where(AuditEntry.entity == "paging").order_by(AuditEntry.id.desc())
        assert count_rows(session, stmt) == 5
        page = paginate(session, stmt, Page(limit=2, offset=4))
        assert ([e.entity_id for e in page.items], page.total) == (["0"], 5)
        newest = paginate_before(session, stmt, AuditEntry.id, Cursor(limit=2))
        assert ([e.entity_id for e in newest.items], newest.total) == (["4", "3"], 5)
        assert newest.next_before_id == newest.items[-1].id
        rest = paginate_before(session, stmt, AuditEntry.id, Cursor(limit=3, before_id=newest.next_before_id))
        assert ([e.entity_id for e in rest.items], rest.total, rest.next_before_id) == (
            ["2", "1", "0"],
            5,
            None,
        )
        session.rollback()
