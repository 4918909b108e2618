"""Pure recommendation scoring: each signal's points and reason, exclusions, ordering."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neigou.crm.recommend import (
    Candidate,
    PriceBands,
    Profile,
    new_season_points,
    price_bands,
    recommend,
    score,
)
from neigou.kit.i18n import Message, translate

pytestmark = pytest.mark.no_database

AT = datetime(2026, 11, 20, 4, tzinfo=UTC)
OLD = AT - timedelta(days=200)
BANDS = PriceBands(low_max_fen=9_900, mid_max_fen=29_900)
NOBODY = Profile(tags=frozenset(), preferred_categories=frozenset(), spending_power=None)


def candidate(sku: str = "S1", **values: object) -> Candidate:
    fields: dict[str, object] = {
        "sku": sku,
        "title": "羊毛大衣",
        "price_fen": 59_900,
        "category": "服饰",
        "tags": frozenset(),
        "added_at": OLD,
    }
    fields.update(values)
    return Candidate(**fields)  # type: ignore[arg-type]


def test_taste_and_category_match() -> None:
    profile = Profile(
        tags=frozenset({"Minimal", "羊毛", "M"}),
        preferred_categories=frozenset({"apparel"}),
        spending_power=None,
    )
    found = candidate(tags=frozenset({"minimal ", "羊毛", "L"}), category="apparel", category_name="服饰")
    s = score(profile, found, BANDS, AT)
    assert s is not None
    assert s.score == 2 * 30 + 40
    assert s.reasons == (
        Message("Matches their taste: {tags}", tags="minimal / 羊毛"),
        Message("A category they buy: {category}", category="服饰"),
    )
    assert translate(s.reasons[0], "en") == "Matches their taste: minimal / 羊毛"
    assert translate(s.reasons[1], "zh-CN") == "常买品类：服饰"


def test_at_most_three_tags_count() -> None:
    tags = frozenset({"a", "b", "c", "d", "e"})
    profile = Profile(tags=tags, preferred_categories=frozenset(), spending_power=None)
    s = score(profile, candidate(tags=tags), BANDS, AT)
    assert s is not None
    assert s.score == 90


def test_price_fit_adds_a_reason_but_is_no_reason_alone() -> None:
    rich = Profile(tags=frozenset(), preferred_categories=frozenset({"服饰"}), spending_power="high")
    s = score(rich, candidate(price_fen=59_900), BANDS, AT)
    assert s is not None
    assert s.score == 40 + 40
    assert translate(s.reasons[-1], "en") == "Priced for a big spender"
    assert translate(s.reasons[-1], "zh-CN") == "价位合其消费力（高）"
    only_price = Profile(tags=frozenset(), preferred_categories=frozenset(), spending_power="high")
    assert score(only_price, candidate(price_fen=59_900), BANDS, AT) is None


def test_a_price_two_bands_away_costs_points() -> None:
    careful = Profile(tags=frozenset(), preferred_categories=frozenset({"服饰"}), spending_power="low")
    assert score(careful, candidate(price_fen=59_900), BANDS, AT) is None  # 40 - 60
    s = score(careful, candidate(price_fen=19_900), BANDS, AT)  # one band away: no change
    assert s is not None
    assert s.score == 40
    assert len(s.reasons) == 1
    s = score(careful, candidate(price_fen=9_900, campaign="双十二"), BANDS, AT)
    assert s is not None
    assert s.score == 40 + 35 + 40


def test_bought_together_new_season_and_campaign() -> None:
    c = candidate(co_buyers=9, bought_with="羊绒围巾", added_at=AT - timedelta(days=3), campaign="冬季上新")
    s = score(NOBODY, c, BANDS, AT)
    assert s is not None
    assert s.score == 15 * 6 + (10 + 30 * 27 // 30) + 35
    assert [translate(r, "en") for r in s.reasons] == [
        "Bought together with 羊绒围巾 by 9 customers",
        "New this season",
        "In the merchant's campaign 冬季上新",
    ]


def test_new_season_points_fall_over_thirty_days() -> None:
    assert new_season_points(AT, AT) == 40
    assert new_season_points(AT - timedelta(days=29, hours=23), AT) == 11
    assert new_season_points(AT - timedelta(days=30), AT) == 0
    assert new_season_points(AT + timedelta(days=1), AT) == 0


def test_price_bands_are_terciles() -> None:
    assert price_bands([100, 200, 300, 400, 500, 600, 700]) == PriceBands(low_max_fen=300, mid_max_fen=500)
    assert price_bands([5]) == PriceBands(low_max_fen=5, mid_max_fen=5)
    empty = price_bands([])
    assert empty.band(0) == 1
    assert empty.band(10**12) == 1


def test_best_first_ties_by_sku_and_limited() -> None:
    cs = [
        candidate("B", campaign="x"),
        candidate("A", campaign="x"),
        candidate("C", campaign="x", co_buyers=1, bought_with="t"),
        candidate("D"),
    ]
    assert [s.sku for s in recommend(NOBODY, cs, BANDS, AT, limit=10)] == ["C", "A", "B"]
    assert [s.sku for s in recommend(NOBODY, cs, BANDS, AT, limit=2)] == ["C", "A"]


# Hypothesis takes naive bounds and attaches the zone itself.
NAIVE_MIN, NAIVE_MAX = datetime(2026, 1, 1), datetime(2026, 12, 31)  # noqa: DTZ001
candidates = st.builds(
    Candidate,
    sku=st.text(min_size=1, max_size=6),
    title=st.text(max_size=10),
    price_fen=st.integers(min_value=0, max_value=10**9),
    category=st.none() | st.sampled_from(["服饰", "鞋包", "美妆"]),
    tags=st.frozensets(st.sampled_from(["通勤", "羊毛", "M", "L", "minimal"]), max_size=4),
    added_at=st.datetimes(min_value=NAIVE_MIN, max_value=NAIVE_MAX, timezones=st.just(UTC)),
    co_buyers=st.integers(min_value=0, max_value=50),
    bought_with=st.none() | st.text(min_size=1, max_size=5),
    campaign=st.none() | st.text(min_size=1, max_size=5),
)
profiles = st.builds(
    Profile,
    tags=st.frozensets(st.sampled_from(["通勤", "羊毛", "M", "minimal"]), max_size=4),
    preferred_categories=st.frozensets(st.sampled_from(["服饰", "鞋包"]), max_size=2),
    spending_power=st.none() | st.sampled_from(["low", "mid", "high"]),
)


@given(
    profiles,
    st.lists(candidates, max_size=12, unique_by=lambda c: c.sku),
    st.integers(min_value=1, max_value=20),
)
def test_every_suggestion_is_positive_explained_and_ordered(
    profile: Profile, cs: list[Candidate], limit: int
) -> None:
    bands = price_bands([c.price_fen for c in cs])
    got = recommend(profile, cs, bands, AT, limit=limit)
    assert len(got) <= limit
    assert all(s.score > 0 and s.reasons for s in got)
    assert [(-s.score, s.sku) for s in got] == sorted((-s.score, s.sku) for s in got)
    # The score is the sum of what its reasons are worth: no reason, no points from it.
    for s in got:
        c = next(c for c in cs if c.sku == s.sku)
        assert score(profile, c, bands, AT) is not None
        kinds = {r.msgid for r in s.reasons}
        if "New this season" not in kinds:
            assert new_season_points(c.added_at, AT) == 0
        if "In the merchant's campaign {name}" not in kinds:
            assert c.campaign is None
