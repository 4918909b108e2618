"""The instant the tests' demo template is seeded at: the machine's clock, or ``NEIGOU_TEST_DEMO_AT``."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from neigou.kit.clock import utcnow
from tests.demo_world import build_instant

pytestmark = pytest.mark.no_database


def test_the_clock_unless_an_instant_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NEIGOU_TEST_DEMO_AT", raising=False)
    before = utcnow()
    assert before <= build_instant() <= utcnow()
    monkeypatch.setenv("NEIGOU_TEST_DEMO_AT", "2026-03-24T23:30:00+08:00")
    assert build_instant() == datetime(2026, 3, 24, 15, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    "given",
    ["2026-03-24T15:30:00", "15:30", "yesterday", "2999-03-24T15:30:00+00:00"],
)
def test_an_instant_without_its_zone_or_ahead_of_the_clock_is_refused(
    monkeypatch: pytest.MonkeyPatch, given: str
) -> None:
    monkeypatch.setenv("NEIGOU_TEST_DEMO_AT", given)
    with pytest.raises(pytest.UsageError, match="NEIGOU_TEST_DEMO_AT"):
        build_instant()
