"""Notes are timed by Redis's clock, so a process whose own clock runs behind or ahead neither sweeps a
fresh note (marking the state stale too early) nor leaves an old one (too late)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi import FastAPI

from neigou.events.gate import STALE_NOTE_SECONDS, ReservationGate

SKEW = 10 * STALE_NOTE_SECONDS


@contextmanager
def _clock_off(monkeypatch: pytest.MonkeyPatch, seconds: float) -> Iterator[None]:
    real = time.time
    with monkeypatch.context() as patched:
        patched.setattr(time, "time", lambda: real() + seconds)
        yield


def _gate(app: FastAPI) -> tuple[ReservationGate, str]:
    runtime: Any = app.state.events
    gate: ReservationGate = runtime.gate
    return gate, f"{gate.namespace}:event:0:0"


@pytest.mark.parametrize("off", ["noting_behind", "sweeping_ahead"])
def test_a_fresh_note_is_not_swept_by_a_process_whose_clock_is_off(
    redis_app: FastAPI, monkeypatch: pytest.MonkeyPatch, off: str
) -> None:
    gate, base = _gate(redis_app)
    with _clock_off(monkeypatch, -SKEW if off == "noting_behind" else 0):
        gate.note(base)
    with _clock_off(monkeypatch, SKEW if off == "sweeping_ahead" else 0):
        assert gate.sweep_notes() == []
    assert gate.client.hlen(gate.notes) == 1


def test_a_note_older_than_the_bound_by_redis_clock_is_swept(
    redis_app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate, base = _gate(redis_app)
    with _clock_off(monkeypatch, SKEW):  # written by a process whose clock runs ahead
        gate.note(base)
    assert gate.sweep_notes(older_than=0) == [base]
    assert gate.client.hlen(gate.notes) == 0
