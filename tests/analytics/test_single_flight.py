"""One refresh of a store at a time across processes: a second refresh of the same store (another web
process, the scheduler, the CLI, all sharing a ClickHouse server) is refused at once while one runs,
on the OLTP database's lock, so no fact is loaded twice and no request waits for it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.analytics.extract import refresh
from neigou.analytics.runtime import store_for
from neigou.analytics.single_flight import RefreshRunning, single_flight
from neigou.analytics.store import Store, open_store
from neigou.programs.models import Member
from tests.factories import create_member, create_program
from tests.sign_in import console_sign_in

JOIN_S = 60.0


@pytest.fixture
def shared(tmp_path: Path) -> Iterator[Store]:
    store = open_store(f"duckdb:///{tmp_path / 'analytics.duckdb'}")
    yield store
    store.close()


def elsewhere(store: Store) -> Store:
    """The same store as another process opens it: the same engine and name, a lock of its own."""
    return Store(engine=store.engine, lock=threading.Lock(), name=store.name)


def test_a_refresh_racing_another_process_is_refused_and_the_facts_are_copied_once(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], shared: Store
) -> None:
    program = create_program(client, operator, code="race")
    for name in ("a", "b", "c", "d"):
        create_member(client, operator, program["id"], name)
    outcome: list[object] = []

    def other_process() -> None:
        with factory() as session:
            try:
                outcome.append(refresh(session, elsewhere(shared), chunk=1))
            except RefreshRunning as exc:
                outcome.append(exc)

    def midway(table: str, _copied: int) -> None:
        # The first refresh has loaded one chunk of members and goes on from its own reading of the
        # watermark: another process's refresh runs now, on a connection of its own.
        if table == "members" and not outcome:
            racer = threading.Thread(target=other_process)
            racer.start()
            racer.join(JOIN_S)
            assert not racer.is_alive(), "the other refresh waited for this one"

    with factory() as session:
        first = refresh(session, shared, chunk=1, progress=midway)
    assert len(outcome) == 1
    assert isinstance(outcome[0], RefreshRunning), outcome
    assert outcome[0].code == "analytics_refresh_running"
    with factory() as session:
        ids = sorted(session.scalars(select(Member.id)))
    assert first["members"] == len(ids) == 4
    assert [int(r[0]) for r in shared.query("SELECT id FROM members ORDER BY id")] == ids
    with factory() as session:  # the lock went with the first refresh: the next one runs
        assert refresh(session, elsewhere(shared))["members"] == 0
    assert [int(r[0]) for r in shared.query("SELECT id FROM members ORDER BY id")] == ids


@pytest.mark.parametrize(("lang", "words"), [("zh-CN", "正在刷新"), ("en", "being refreshed")])
def test_a_refresh_asked_while_another_runs_answers_503_at_once(
    app: FastAPI,
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    *,
    lang: str,
    words: str,
) -> None:
    store = store_for(app.state.settings)
    with factory() as session, single_flight(session, elsewhere(store)):
        response = client.post("/api/v1/analytics/refresh", headers={**operator, "Accept-Language": lang})
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["retry-after"] == "30"
    body = response.json()
    assert body["code"] == "analytics_refresh_running"
    assert words in body["detail"]
    # Once it ended, the next refresh runs.
    assert client.post("/api/v1/analytics/refresh", headers=operator).status_code == 200


def test_the_console_says_a_refresh_is_running_on_its_page(
    app: FastAPI, client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    program = create_program(client, operator, code="busy")
    console_sign_in(client, factory)
    store = store_for(app.state.settings)
    page = f"/console/programs/{program['id']}/analytics"
    with factory() as session, single_flight(session, elsewhere(store)):
        refused = client.post(f"{page}/refresh", follow_redirects=False)
    assert refused.status_code == 303
    assert refused.headers["location"] == f"{page}?refresh=running"
    shown = client.get(refused.headers["location"])
    assert shown.status_code == 200
    assert 'data-testid="refresh-running">分析数据正在刷新' in shown.text
    refreshed = client.post(f"{page}/refresh", follow_redirects=False)
    assert refreshed.headers["location"] == page
    assert 'data-testid="refresh-running"' not in client.get(page).text
