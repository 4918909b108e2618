"""The live-code scan flush (``groups.scan_counts``) loses no scan and adds none twice: a flush whose
write fails leaves what it took for the next one, in Redis and in a web process's memory; and a web
process without Redis adds the scans in its memory to the database as it stops."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from neigou.groups import scan_counts
from neigou.groups.models import LiveCodeGroup
from neigou.kit.jobs import JobRunner
from neigou.kit.settings import Settings
from neigou.web.app import create_app
from tests.conftest import TokenMaker, app_settings, bearer, page_client
from tests.factories import create_member, create_program
from tests.groups.builders import create_group
from tests.local_redis import REDIS_URL, local_redis


@pytest.fixture(params=["memory", "redis"])
def counter_settings(request: pytest.FixtureRequest, database_url: str, tmp_path: Path) -> Settings:
    """An app's settings counting scans in its memory, or in the local Redis."""
    settings = app_settings(database_url, tmp_path)
    if request.param == "redis":
        local_redis().close()
        settings = settings.model_copy(update={"redis_url": REDIS_URL})
    return settings


@pytest.fixture
def served(
    counter_settings: Settings, factory: sessionmaker[Session], make_token: TokenMaker
) -> Iterator[tuple[TestClient, Callable[[int], None]]]:
    """A running app, and a function that scans its one live code ``n`` times."""
    scan_counts.drain(counter_settings)
    with page_client(create_app(counter_settings, session_factory=factory)) as client:
        yield client, _live_code(client, make_token)
    scan_counts.drain(counter_settings)


def _live_code(client: TestClient, make_token: TokenMaker) -> Callable[[int], None]:
    operator = bearer(make_token("operator"))
    program = create_program(client, operator, code="scan-flush")
    owner = create_member(client, operator, program["id"], "owner")
    group = create_group(client, operator, owner["id"], name="福利1群")["id"]
    body = {"owner_member_id": owner["id"], "group_ids": [group], "capacity": 400}
    created = client.post(
        "/api/v1/groups/live-codes", json=body, headers=bearer(make_token("member", owner["id"]))
    )
    assert created.status_code == 201, created.text
    code = created.json()["code"]

    def scan(n: int) -> None:
        for _ in range(n):
            assert client.get(f"/g/{code}").status_code == 200

    return scan


def _stored(factory: sessionmaker[Session]) -> int:
    with factory() as session:
        return int(session.scalar(select(func.coalesce(func.sum(LiveCodeGroup.scans), 0))) or 0)


def _run(client: TestClient, key: str) -> bool:
    runner: JobRunner = client.app.state.jobs  # type: ignore[attr-defined]
    return runner.run(scan_counts.FLUSH_JOB, key=key, payload={}, at=datetime.now(UTC))


def test_a_flush_whose_write_fails_leaves_its_scans_to_the_next_one(
    served: tuple[TestClient, Callable[[int], None]],
    factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client, scan = served
    settings = client.app.state.settings  # type: ignore[attr-defined]
    scan(3)
    written = scan_counts.flush

    def write_then_fail(session: Session, counts: dict[str, int]) -> None:
        written(session, counts)  # the UPDATE ran; the transaction rolls back
        raise RuntimeError("the database went away")

    monkeypatch.setattr(scan_counts, "flush", write_then_fail)
    with pytest.raises(RuntimeError):
        _run(client, "flush-1")
    assert _stored(factory) == 0
    assert sum(scan_counts.pending(settings).values()) == 3  # still counted, still shown
    scan(2)
    monkeypatch.setattr(scan_counts, "flush", written)
    assert _run(client, "flush-2")
    assert _stored(factory) == 5  # the failed run's three and the two since, each once
    assert scan_counts.pending(settings) == {}
    assert _run(client, "flush-3")
    assert _stored(factory) == 5


def test_a_flush_while_another_holds_the_scans_adds_nothing(
    served: tuple[TestClient, Callable[[int], None]], factory: sessionmaker[Session]
) -> None:
    client, scan = served
    settings = client.app.state.settings  # type: ignore[attr-defined]
    scan(2)
    held = scan_counts._take(settings)  # a flush that took the scans and has not ended yet
    assert held is not None
    assert sum(held.counts.values()) == 2
    scan(1)
    assert _run(client, "flush-meanwhile")
    assert _stored(factory) == 0
    scan_counts._finish(held, committed=False)  # its transaction rolled back
    assert _run(client, "flush-after")
    assert _stored(factory) == 3


def test_a_web_process_without_redis_adds_its_scans_as_it_stops(
    database_url: str, tmp_path: Path, factory: sessionmaker[Session], make_token: TokenMaker
) -> None:
    """A process that serves the codes and runs no jobs (a separate worker does): nothing else can
    reach the scans in its memory."""
    settings = app_settings(database_url, tmp_path)
    scan_counts.drain(settings)
    app = create_app(settings, session_factory=factory, start_jobs=False)
    with page_client(app) as client:
        _live_code(client, make_token)(4)
        assert _stored(factory) == 0
    assert _stored(factory) == 4
    assert scan_counts.pending(settings) == {}


def test_a_failed_flush_at_exit_raises_nothing_and_keeps_the_scans(
    database_url: str, tmp_path: Path, factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = app_settings(database_url, tmp_path)
    scan_counts.drain(settings)
    scan_counts.count_group_scan(settings, 1)

    def fail(_session: Session, _counts: dict[str, Any]) -> None:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(scan_counts, "flush", fail)
    scan_counts.flush_at_exit(settings, factory)  # no raise
    assert scan_counts.drain(settings) == {scan_counts.group_field(1): 1}
