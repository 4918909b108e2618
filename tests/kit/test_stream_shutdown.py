"""The app's shutdown on a Redis that accepts connections and never answers: each stream's last drain
waits its socket timeouts, and the streams stop side by side under one deadline, so the shutdown takes
about what one stream needs, not the sum over the streams (before: one after the other, about one
stream's wait per stream: the reservation stream, the click stream and the claim stream)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.settings import Settings
from neigou.kit.streams import stop_together
from neigou.web.app import create_app
from tests.silent_redis import finishes, silent_redis

TIMEOUT_S = 1.5
# How long the test waits at all: a stop that waited for the others forever, or a Redis never let go.
PATIENCE_S = 60


def _after_the_others(together: threading.Barrier, stop: Callable[[], None]) -> Callable[[], None]:
    """``stop``, once every stop of the barrier has begun: stops run one after the other never all begin."""

    def stop_with_the_others() -> None:
        together.wait()
        stop()

    return stop_with_the_others


def test_shutdown_on_a_silent_redis_waits_for_one_stream_not_each_in_turn(
    settings: Settings, factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The three streams' stops all begin before any of them ends (each waits for the other two), and
    each ends at its socket timeouts. Told by what ran together, not by the time it took: a loaded
    machine takes seconds more to run a shutdown."""
    silent_settings = settings.model_copy(update={"redis_socket_timeout_s": TIMEOUT_S})
    together = threading.Barrier(3, timeout=PATIENCE_S / 2)
    with silent_redis() as url:
        app = create_app(silent_settings.model_copy(update={"redis_url": url}), session_factory=factory)
        links, events = app.state.links, app.state.events
        streams = [links.consumer, links.claims, events.writer]
        assert None not in streams, streams  # three streams, each with its thread reading
        for stream in streams:
            monkeypatch.setattr(stream, "stop", _after_the_others(together, stream.stop))

        def serve() -> None:
            with TestClient(app):
                pass

        work = threading.Thread(target=serve, daemon=True)
        work.start()
        assert finishes(work, PATIENCE_S), "the shutdown still waits on a Redis that never answers"
    assert not together.broken, "the streams were stopped one after the other"


def test_stops_run_side_by_side_and_the_deadline_bounds_them() -> None:
    """Each stop on a thread of its own: three stops that each wait for the other two all end; one that
    never ends is left behind at the deadline."""
    together = threading.Barrier(3, timeout=PATIENCE_S)
    ran: list[str] = []

    def waits(name: str) -> None:
        together.wait()  # one after the other, the first waits here past the deadline
        ran.append(name)

    stop_together([lambda: waits("a"), lambda: waits("b"), lambda: waits("c")])
    assert sorted(ran) == ["a", "b", "c"]

    hung, ended = threading.Event(), threading.Event()

    def hangs() -> None:
        hung.wait(PATIENCE_S)
        ended.set()

    started = time.monotonic()
    stop_together([hangs], within=0.2)
    assert time.monotonic() - started >= 0.2  # it waited its deadline ...
    assert not ended.is_set()  # ... and no longer: the stop was still running
    hung.set()
