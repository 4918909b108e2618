"""The interpreter's settings for bulk work: applied by the first of several at once, restored by the
last, and the objects frozen only when nothing else froze any."""

from __future__ import annotations

import gc
import sys
import threading
from collections.abc import Iterator

import pytest

from neigou.kit.interpreter import bulk_work

pytestmark = pytest.mark.no_database


@pytest.fixture
def process_settings() -> Iterator[None]:
    """The process's own settings, put back after the test whatever it did."""
    thresholds, interval, frozen = gc.get_threshold(), sys.getswitchinterval(), gc.get_freeze_count()
    if frozen:
        gc.unfreeze()
    yield
    gc.set_threshold(*thresholds)
    sys.setswitchinterval(interval)
    gc.unfreeze()
    if frozen:
        gc.freeze()


def test_settings_apply_while_the_work_runs_and_are_restored_after(process_settings: None) -> None:
    gc.set_threshold(700, 10, 10)
    sys.setswitchinterval(0.005)
    with bulk_work(young_threshold=200_000, switch_interval_s=0.0005):
        assert gc.get_threshold() == (200_000, 10, 10)
        assert sys.getswitchinterval() == pytest.approx(0.0005)
        assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == (700, 10, 10)
    assert sys.getswitchinterval() == pytest.approx(0.005)
    assert gc.get_freeze_count() == 0


def test_restored_after_a_failure(process_settings: None) -> None:
    gc.set_threshold(700, 10, 10)
    with pytest.raises(RuntimeError), bulk_work(young_threshold=200_000, switch_interval_s=0.0005):
        raise RuntimeError("stopped")
    assert gc.get_threshold() == (700, 10, 10)
    assert gc.get_freeze_count() == 0


def test_objects_frozen_by_the_process_stay_frozen(process_settings: None) -> None:
    gc.freeze()  # as the web app does at its start
    with bulk_work(young_threshold=200_000, switch_interval_s=0.0005):
        pass
    assert gc.get_freeze_count() > 0  # some frozen objects may have been freed meanwhile, none unfrozen


def test_work_at_once_is_restored_by_the_last_to_end(process_settings: None) -> None:
    gc.set_threshold(700, 10, 10)
    sys.setswitchinterval(0.005)
    first_in, second_done = threading.Event(), threading.Event()
    seen: list[tuple[int, int, int]] = []

    def first() -> None:
        with bulk_work(young_threshold=200_000, switch_interval_s=0.0005):
            first_in.set()
            second_done.wait(5)
            seen.append(gc.get_threshold())

    thread = threading.Thread(target=first)
    thread.start()
    assert first_in.wait(5)
    with bulk_work(young_threshold=200_000, switch_interval_s=0.0005):
        pass
    second_done.set()
    thread.join(5)
    assert seen == [(200_000, 10, 10)]  # the second's end did not restore them under the first
    assert gc.get_threshold() == (700, 10, 10)
    assert sys.getswitchinterval() == pytest.approx(0.005)
