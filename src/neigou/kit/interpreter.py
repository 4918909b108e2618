"""The interpreter's settings for long bulk work (a file import), applied while any such work runs in
the process and handed back when the last one ends.

The settings are the process's, not a thread's: two imports at once share them, so the first to start
applies them and the last to end restores what was there before, and the objects alive at the start
are frozen only when nothing else (the web app at its start) has frozen any: ``gc.unfreeze`` would
otherwise hand the app's frozen objects back to the collector.
"""

from __future__ import annotations

import gc
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass
class _Saved:
    thresholds: tuple[int, int, int]
    switch_interval_s: float
    froze: bool


_lock = threading.Lock()
_users = [0]
_saved: list[_Saved] = []


@contextmanager
def bulk_work(*, young_threshold: int, switch_interval_s: float) -> Iterator[None]:
    """While the body runs: objects alive now kept out of the collector's scans (``gc.freeze``), the
    youngest generation collected every ``young_threshold`` net allocations (or less often, if the
    process already asked for that), and a thread holding the interpreter asked to hand it over after
    at most ``switch_interval_s``."""
    with _lock:
        if _users[0] == 0:
            saved = _Saved(gc.get_threshold(), sys.getswitchinterval(), gc.get_freeze_count() == 0)
            _saved.append(saved)
            if saved.froze:
                gc.freeze()
            young, *older = saved.thresholds
            gc.set_threshold(max(young, young_threshold), *older)
            sys.setswitchinterval(min(saved.switch_interval_s, switch_interval_s))
        _users[0] += 1
    try:
        yield
    finally:
        with _lock:
            _users[0] -= 1
            if _users[0] == 0:
                saved = _saved.pop()
                sys.setswitchinterval(saved.switch_interval_s)
                gc.set_threshold(*saved.thresholds)
                if saved.froze:
                    gc.unfreeze()
