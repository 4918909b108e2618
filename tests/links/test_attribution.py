"""Attribution rules: models, windows, order links, self-purchase."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neigou.links.attribution import Attribution, Basis, Model, Touch, attribute, needs_touches

pytestmark = pytest.mark.no_database

T0 = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
A = Touch(member_id=1, at=T0 - timedelta(days=20), link_code="aaa", group_id=10)
B = Touch(member_id=2, at=T0 - timedelta(days=5), link_code="bbb")
C = Touch(member_id=3, at=T0 - timedelta(days=1), link_code="ccc", group_id=30)
LATER = Touch(member_id=4, at=T0 + timedelta(minutes=1), link_code="ddd")


def pick(model: Model, window: int = 15, **kwargs: object) -> Attribution:
    return attribute(model=model, window_days=window, ordered_at=T0, touches=[C, A, LATER, B], **kwargs)  # type: ignore[arg-type]


def test_models() -> None:
    assert (pick(Model.LAST_CLICK).member_id, pick(Model.LAST_CLICK).basis) == (3, Basis.LAST_TOUCH)
    assert pick(Model.LAST_CLICK).group_id == 30
    assert (pick(Model.FIRST_CLICK).member_id, pick(Model.FIRST_CLICK).basis) == (2, Basis.FIRST_TOUCH)
    assert (pick(Model.LOCKED).member_id, pick(Model.LOCKED).basis) == (1, Basis.LOCKED_BINDING)
    assert pick(Model.FIRST_CLICK, window=30).member_id == 1


def test_window_edges() -> None:
    exactly = Touch(member_id=9, at=T0 - timedelta(days=15), link_code="edge")
    inside = attribute(model=Model.LAST_CLICK, window_days=15, ordered_at=T0, touches=[exactly])
    assert inside.member_id == 9
    outside = attribute(
        model=Model.LAST_CLICK, window_days=15, ordered_at=T0 + timedelta(seconds=1), touches=[exactly]
    )
    assert (outside.member_id, outside.basis) == (None, Basis.NO_TOUCH)
    assert attribute(model=Model.LAST_CLICK, window_days=15, ordered_at=T0, touches=[LATER]).member_id is None


def test_order_link_wins_and_self_purchase_is_flagged() -> None:
    result = pick(Model.LOCKED, order_link=LATER, buyer_member_ids=frozenset({4}))
    assert (result.member_id, result.basis, result.link_code, result.self_purchase) == (
        4,
        Basis.ORDER_LINK,
        "ddd",
        True,
    )
    assert pick(Model.LAST_CLICK, buyer_member_ids=frozenset({1})).self_purchase is False


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="zone"):
        attribute(model=Model.LAST_CLICK, window_days=1, ordered_at=T0.replace(tzinfo=None), touches=[])
    with pytest.raises(ValueError, match="window"):
        attribute(model=Model.LAST_CLICK, window_days=-1, ordered_at=T0, touches=[])


touch_lists = st.lists(
    st.builds(
        Touch,
        member_id=st.integers(1, 5),
        at=st.integers(-40 * 24, 24).map(lambda h: T0 + timedelta(hours=h)),
        link_code=st.text("abcdef", min_size=3, max_size=3),
    ),
    max_size=12,
)


@given(touch_lists, st.sampled_from(list(Model)), st.integers(0, 30))
def test_properties(touches: list[Touch], model: Model, window: int) -> None:
    result = attribute(model=model, window_days=window, ordered_at=T0, touches=touches)
    again = attribute(model=model, window_days=window, ordered_at=T0, touches=list(reversed(touches)))
    assert result == again  # input order never matters
    eligible = [t for t in touches if t.at <= T0]
    if result.member_id is None:
        assert model is not Model.LOCKED or not eligible
    else:
        assert any(t.member_id == result.member_id and t.at <= T0 for t in touches)
    if model is Model.LOCKED and eligible:
        assert result.member_id == min(eligible, key=lambda t: (t.at, t.link_code, t.member_id)).member_id


@given(
    touch_lists,
    st.sampled_from(list(Model)),
    st.integers(0, 30),
    touch_lists.filter(bool),
    st.frozensets(st.integers(1, 5)),
)
def test_an_order_link_makes_touches_irrelevant(
    touches: list[Touch], model: Model, window: int, links: list[Touch], buyers: frozenset[int]
) -> None:
    order_link = links[0]
    assert needs_touches(order_link) is False
    assert needs_touches(None) is True
    with_touches = attribute(
        model=model,
        window_days=window,
        ordered_at=T0,
        touches=touches,
        order_link=order_link,
        buyer_member_ids=buyers,
    )
    without = attribute(
        model=model,
        window_days=window,
        ordered_at=T0,
        touches=[],
        order_link=order_link,
        buyer_member_ids=buyers,
    )
    assert with_touches == without
    assert (with_touches.member_id, with_touches.basis, with_touches.link_code) == (
        order_link.member_id,
        Basis.ORDER_LINK,
        order_link.link_code,
    )
    assert with_touches.self_purchase is (order_link.member_id in buyers)
