"""The click writer process: the web process hands batches down a pipe and the writer stores them;
a clean stop loses nothing, a killed writer is started again, a failed batch stays buffered, and a
Ctrl-C aimed at the process group does not stop the writer before the web process's last flush."""

from __future__ import annotations

import gc
import multiprocessing
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.clock import utcnow
from neigou.kit.settings import Settings
from neigou.links.click_writer import ClickWriterError, ClickWriterProcess, run_writer
from neigou.links.clicks import ClickRecorder, ClickRow, click_row, new_click_ref
from neigou.links.models import LinkClick
from neigou.links.useragent import UaClass
from neigou.web.app import create_app
from tests.conftest import TokenMaker, bearer
from tests.connections import OpenConnections
from tests.links.builders import PHONE_UA, LinkWorld, build, make_link


def _stored(factory: sessionmaker[Session]) -> int:
    with factory() as session:
        return int(session.scalar(select(func.count(LinkClick.id))) or 0)


def _events(world: LinkWorld, link_id: int, count: int) -> list[ClickRow]:
    return [
        click_row(
            ref=new_click_ref(),
            link_id=link_id,
            program_id=world.program_id,
            member_id=world.member_id,
            clicked_at=utcnow(),
            visitor_id=None,
            ua_class=UaClass.MOBILE,
        )
        for _ in range(count)
    ]


@pytest.fixture
def linked(client: TestClient, operator: dict[str, str], make_token: TokenMaker) -> tuple[LinkWorld, int]:
    world = build(client, operator, make_token)
    return world, int(make_link(client, operator, member_id=world.member_id)["id"])


@pytest.fixture
def writer(database_url: str) -> Iterator[ClickWriterProcess]:
    process = ClickWriterProcess(database_url)
    yield process
    process.stop()


def test_the_app_hands_clicks_to_its_writer_and_a_clean_stop_loses_none(
    settings: Settings, factory: sessionmaker[Session], make_token: TokenMaker
) -> None:
    app = create_app(settings.model_copy(update={"click_writer": "process"}), session_factory=factory)
    operator = bearer(make_token("operator"))
    with TestClient(app) as client:
        writer = app.state.links.writer
        assert writer is not None
        assert writer.pid is not None
        assert writer.pid != os.getpid()
        world = build(client, operator, make_token)
        link = make_link(client, operator, member_id=world.member_id)
        for _ in range(25):
            response = client.get(
                f"/l/{link['code']}", headers={"user-agent": PHONE_UA}, follow_redirects=False
            )
            assert response.status_code == 302
        assert app.state.links.flush() == 25  # stored by the writer, acknowledged to the web process
        assert _stored(factory) == 25
        for _ in range(7):
            client.get(f"/l/{link['code']}", follow_redirects=False)
    # The shutdown's last flush went through the writer, which then exited.
    assert _stored(factory) == 32
    assert writer.pid is None


def test_a_killed_writer_is_started_again_and_nothing_is_lost(
    writer: ClickWriterProcess, linked: tuple[LinkWorld, int], factory: sessionmaker[Session]
) -> None:
    world, link_id = linked
    recorder = ClickRecorder(writer, max_batch=10)
    writer.start()
    first = writer.pid
    assert first is not None
    os.kill(first, signal.SIGKILL)
    for event in _events(world, link_id, 30):
        recorder.record(event)
    assert recorder.flush() == 30
    assert writer.starts == 2
    assert writer.pid not in (None, first)
    assert _stored(factory) == 30


def test_the_writer_ignores_ctrl_c_until_the_web_process_stops_it(
    writer: ClickWriterProcess, linked: tuple[LinkWorld, int], factory: sessionmaker[Session]
) -> None:
    world, link_id = linked
    writer.start()
    pid = writer.pid
    assert pid is not None
    os.kill(pid, signal.SIGINT)
    os.kill(pid, signal.SIGTERM)
    writer.write(_events(world, link_id, 4))
    assert writer.pid == pid
    assert writer.starts == 1
    assert _stored(factory) == 4
    writer.stop()
    assert writer.pid is None


def test_a_batch_the_writer_cannot_store_stays_buffered(
    tmp_path: Path, linked: tuple[LinkWorld, int], writer: ClickWriterProcess, factory: sessionmaker[Session]
) -> None:
    world, link_id = linked
    broken = ClickWriterProcess(f"sqlite:///{tmp_path / 'no-tables.db'}")  # no migrations ran there
    recorder = ClickRecorder(broken, max_batch=5)
    try:
        for event in _events(world, link_id, 8):
            recorder.record(event)
        with pytest.raises(ClickWriterError, match="link"):
            recorder.flush()
        assert recorder.pending == 8
        assert recorder.dropped == 0
        assert broken.pid is not None  # the writer survived its failed batch
    finally:
        broken.stop()
    recorder.sink = writer  # the same buffer, now to a healthy writer
    assert recorder.flush() == 8
    assert _stored(factory) == 8


def test_a_writer_that_cannot_open_its_database_says_why(tmp_path: Path) -> None:
    unreachable = ClickWriterProcess("nosuchdriver://nowhere/db")
    with pytest.raises(ClickWriterError, match="did not start"):
        unreachable.start()
    assert unreachable.pid is None


def test_the_writer_closes_its_connections_before_it_reports_stopped(
    database_url: str,
    linked: tuple[LinkWorld, int],
    factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The writer's loop, run here rather than in its own process so that its pool's events are
    counted: the requests are queued on the pipe before it starts, the replies read after it returns."""
    monkeypatch.setattr(signal, "signal", lambda *_: None)  # the loop would ignore this process's Ctrl-C
    world, link_id = linked
    web_end, writer_end = multiprocessing.Pipe()
    web_end.send(("batch", _events(world, link_id, 3)))
    web_end.send(("stop", None))
    gc.collect()
    with OpenConnections() as connections:
        run_writer(writer_end, database_url, None)
        left_open = connections.count
    assert [web_end.recv() for _ in range(3)] == [("ready", None), ("ok", 3), ("ok", "stopped")]
    assert connections.opened > 0
    assert left_open == 0
    assert _stored(factory) == 3
    web_end.close()
    writer_end.close()
