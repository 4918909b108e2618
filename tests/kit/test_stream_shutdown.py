"""The app's shutdown on a Redis that accepts connections and never answers: each stream's last drain
waits its socket timeouts, and the streams stop side by side under one deadline, so the shutdown takes
about what one stream needs, not the sum over the streams (before: one after the other, about one
stream's wait per stream: the reservation stream, the click stream and the claim stream)."""

from __future__ import annotations

import threading
import time

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.settings import Settings
from neigou.kit.streams import stop_together
from neigou.web.app import create_app
from tests.silent_redis import finishes, silent_redis

TIMEOUT_S = 1.5
# What one stream's stop waits at most: the read its thread is in, then its last drain's first command.
ONE_STREAM_S = 2 * TIMEOUT_S
# Between one stream's wait and three streams' (one timeout each at least, one after the other).
IN_TIME_S = ONE_STREAM_S + 1.0
PATIENCE_S = 60


def test_shutdown_on_a_silent_redis_waits_for_one_stream_not_each_in_turn(
    settings: Settings, factory: sessionmaker[Session]
) -> None:
    silent_settings = settings.model_copy(update={"redis_socket_timeout_s": TIMEOUT_S})
    took: list[float] = []
    with silent_redis() as url:
        app = create_app(silent_settings.model_copy(update={"redis_url": url}), session_factory=factory)
        links, events = app.state.links, app.state.events
        streams = [links.consumer, links.claims, events.writer]
        assert None not in streams, streams  # three streams, each with its thread reading

        def serve() -> None:
            with TestClient(app):
                started = time.monotonic()
            took.append(time.monotonic() - started)

        work = threading.Thread(target=serve, daemon=True)
        work.start()
        assert finishes(work, PATIENCE_S), "the shutdown still waits on a Redis that never answers"
    (waited,) = took
    assert waited < IN_TIME_S, waited


def test_stops_run_side_by_side_and_the_deadline_bounds_them() -> None:
    """Each stop on a thread of its own: three stops that each wait take about as long as one; one that
    never ends is left behind at the deadline."""
    released = threading.Event()
    ran: list[str] = []

    def waits(name: str) -> None:
        released.wait(0.3)
        ran.append(name)

    started = time.monotonic()
    stop_together([lambda: waits("a"), lambda: waits("b"), lambda: waits("c")])
    assert sorted(ran) == ["a", "b", "c"]
    assert time.monotonic() - started < 0.8  # one after the other: 0.9 s at least

    hung = threading.Event()

    def hangs() -> None:
        hung.wait(PATIENCE_S)

    started = time.monotonic()
    stop_together([hangs], within=0.2)
    assert time.monotonic() - started < 1.0
    hung.set()
