"""The feed's ranking rules (pure): size bands of groups and conversion in comparable groups."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neigou.feed import ranking

pytestmark = pytest.mark.no_database

COUNTS = st.integers(min_value=0, max_value=100_000)
BP = st.integers(min_value=0, max_value=10_000)


def test_size_bands() -> None:
    assert [ranking.size_band(n) for n in (0, 99, 100, 249, 250, 399, 400, 500)] == [0, 0, 1, 1, 2, 2, 3, 3]
    assert [ranking.band_range(b) for b in range(4)] == [(0, 100), (100, 250), (250, 400), (400, None)]
    assert ranking.typical_band([]) is None
    assert ranking.typical_band([30, 420, 410]) == 3  # the median group
    assert ranking.typical_band([30, 40, 420, 410]) == 0  # the lower middle of an even count


@given(COUNTS)
def test_a_count_lies_in_its_bands_range(count: int) -> None:
    low, high = ranking.band_range(ranking.size_band(count))
    assert low <= count
    assert high is None or count < high


@given(st.lists(COUNTS, min_size=1, max_size=20))
def test_the_typical_band_is_a_band_of_one_of_the_groups(counts: list[int]) -> None:
    assert ranking.typical_band(counts) in {ranking.size_band(c) for c in counts}


@given(BP)
def test_without_comparable_traffic_the_overall_conversion_stands(overall: int) -> None:
    assert ranking.peer_conversion_bp(0, 0, overall) == overall


@given(st.integers(min_value=1, max_value=10_000), st.data(), BP)
def test_comparable_conversion_lies_between_the_peers_and_the_overall(
    clicks: int, data: st.DataObject, overall: int
) -> None:
    orders = data.draw(st.integers(min_value=0, max_value=clicks))
    peers = orders * ranking.BP // clicks
    found = ranking.peer_conversion_bp(clicks, orders, overall)
    assert min(peers, overall) - 1 <= found <= max(peers, overall) + 1
    assert ranking.peer_conversion_bp(clicks, min(orders + 1, clicks), overall) >= found
