"""Scheduled drains during a burst: a drain stores what its stream held when it started and at most one
batch past it (``kit.streams.Backlog``), so what a test expects left in the stream needs the burst to
have added more than that meanwhile. A loaded machine may not schedule the burst's thread at all while
a drain runs; these make the drain wait for it."""

from __future__ import annotations

import threading
from typing import Any

import redis

from neigou.kit.streams import Backlog


def more_added(client: redis.Redis, key: str, count: int) -> None:
    """Wait (a few seconds at most) until ``count`` entries newer than the stream's newest now are in it."""
    newest: Any = client.xrevrange(key, "+", "-", count=1)
    since = "(" + newest[0][0].decode() if newest else "-"
    for _ in range(500):
        newer: Any = client.xrange(key, since, "+", count=count)
        if len(newer) >= count:
            return
        threading.Event().wait(0.01)


def overtaken(count: int) -> type[Backlog]:
    """A ``Backlog`` that, once it noted where its drain starts, waits until ``count`` newer entries are
    in the stream (a drain then stops with ``count`` less one batch of them still waiting)."""

    class Overtaken(Backlog):
        def __init__(self, client: redis.Redis, key: str) -> None:
            super().__init__(client, key)
            more_added(client, key, count)

    return Overtaken
