"""An imported order's lines and offers snapshot, made in one pass (``batch_rows.priced_lines`` and
``snapshot_of``), are what the rules made line by line before: each line's pool by
``commission.pool_of``, the order's paid total, and the snapshot ``batch_rows.pricing`` answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neigou.campaigns.estimate import BoostTerms, boosted_rate_bp
from neigou.orders import batch_rows, commission
from neigou.orders.inputs import ItemIn, OrderIn
from neigou.orders.lookups import ProductTerms
from neigou.orders.offer_snapshot import OfferBook

pytestmark = pytest.mark.no_database

AT = datetime(2026, 3, 1, 8, 30, tzinfo=UTC)
ORGANIZATION = 7
PRODUCTS = {
    "RATE": ProductTerms("RATE", 12_900, 1500, None, ORGANIZATION),
    "FIXED": ProductTerms("FIXED", 5_000, 800, 700, ORGANIZATION),
    "ZERO": ProductTerms("ZERO", 0, 0, None, ORGANIZATION),
    "FREE": ProductTerms("FREE", 990, 2500, 0, ORGANIZATION),
}
# A coupon of another organization: never applied to this one's orders (so never priced here).
FOREIGN_COUPON = 41


def _reference_lines(
    items: tuple[ItemIn, ...], boost: BoostTerms | None, paid_at: datetime
) -> list[batch_rows.LineRow]:
    """The lines as the importer made them, one ``commission.pool_of`` per line."""
    out: list[batch_rows.LineRow] = []
    for number, item in enumerate(items, start=1):
        terms = PRODUCTS.get(item.sku)
        if item.pool_fen is not None or terms is None:
            out.append(
                (number, item.sku, item.quantity, item.paid_fen, item.paid_fen, 0, None, item.pool_fen or 0)
            )
            continue
        rate = terms.commission_rate_bp
        if boost is not None:
            rate = boosted_rate_bp(rate, boost, sku=item.sku, paid_at=paid_at)
        fixed = terms.fixed_commission_fen
        pool = commission.pool_of(item.paid_fen, item.quantity, rate, fixed, None)
        out.append(
            (
                number,
                item.sku,
                item.quantity,
                terms.price_fen * item.quantity,
                item.paid_fen,
                rate,
                fixed,
                pool,
            )
        )
    return out


def _book(coupons: dict[int, tuple[int, object]]) -> OfferBook:
    """A book without promotions (none open in the batch's span) holding these coupons."""
    book = OfferBook.__new__(OfferBook)
    book.promotions = []
    book.coupons = coupons  # type: ignore[assignment]
    return book


item = st.builds(
    ItemIn,
    st.sampled_from([*PRODUCTS, "UNKNOWN"]),
    st.integers(1, 50),
    st.integers(0, 10**10),
    st.none() | st.none() | st.integers(0, 10**10),
)
boost = st.none() | st.builds(
    BoostTerms,
    st.integers(0, 10_000),
    st.sampled_from([AT - timedelta(days=1), AT, AT + timedelta(seconds=1)]),
    st.sampled_from([AT, AT + timedelta(days=1)]),
    st.frozensets(st.sampled_from([*PRODUCTS])),
)


@given(st.lists(item, min_size=1, max_size=5), boost, st.sampled_from([None, FOREIGN_COUPON, 99]))
def test_one_pass_is_the_line_by_line_rules(
    items: list[ItemIn], boost: BoostTerms | None, coupon_id: int | None
) -> None:
    lines = tuple(items)
    rows, paid_total, list_total = batch_rows.priced_lines(lines, PRODUCTS, boost, AT)
    assert rows == _reference_lines(lines, boost, AT)
    assert paid_total == sum(i.paid_fen for i in lines)
    plain = all(i.pool_fen is None and i.sku in PRODUCTS for i in lines)
    assert list_total == (sum(PRODUCTS[i.sku].price_fen * i.quantity for i in lines) if plain else None)
    if not all(i.pool_fen is not None or i.sku in PRODUCTS for i in lines):
        return  # refused ``unknown_sku`` before it is priced
    order = OrderIn("E-1", 1, "c", None, lines, AT)
    prices = {sku: terms.price_fen for sku, terms in PRODUCTS.items()}
    book = _book({FOREIGN_COUPON: (ORGANIZATION + 1, object())})
    assert batch_rows.snapshot_of(
        book, order, prices, coupon_id, ORGANIZATION, list_total=list_total
    ) == batch_rows.pricing(book, order, prices, coupon_id, ORGANIZATION)


def test_an_open_offer_or_the_organizations_coupon_is_priced() -> None:
    own = _book({FOREIGN_COUPON: (ORGANIZATION, object())})
    assert not own.offers_none(FOREIGN_COUPON, ORGANIZATION)
    assert own.offers_none(None, ORGANIZATION)
    assert own.offers_none(FOREIGN_COUPON, ORGANIZATION + 1)
    promoted = _book({})
    promoted.promotions = [(ORGANIZATION, None, object())]  # type: ignore[list-item]
    assert not promoted.offers_none(None, ORGANIZATION)
