"""A clock for the gate's waits (the settlement's, ``holds.time``; a reservation's for a seeding,
``reservations.time``): nothing in a test of them depends on the machine's speed."""

from __future__ import annotations

from collections.abc import Callable


class Clock:
    """Monotonic seconds that move only when the code under test sleeps; each sleep then runs ``step``
    with the new time (a seeding starting or ending at that instant)."""

    def __init__(self, step: Callable[[float], None] = lambda _now: None) -> None:
        self.now = 0.0
        self.step = step

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.step(self.now)
