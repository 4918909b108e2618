"""The data's time: when the analytics store's orders were last copied (each refresh logs it in
``watermarks``), else now. A report that asks whether a customer's repeat window, or a recruit's
first 30 days, has ended asks it as of this time, not of the range's end: an order after it is not
in the store yet, so a window ending later is still open, whatever the customer does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from neigou.analytics.store import Store

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def as_of(store: Store) -> datetime:
    """The data's time, naive UTC (as the store keeps times)."""
    # ClickHouse's max of no rows is the epoch, not NULL: the count says whether there was a refresh.
    ((logged, at),) = store.query("SELECT count(*), max(logged_at) FROM watermarks WHERE name = 'orders'")
    if not int(logged) or not isinstance(at, datetime):
        return datetime.now(UTC).replace(tzinfo=None)
    return at.astimezone(UTC).replace(tzinfo=None) if at.tzinfo else at


def as_of_us(store: Store) -> int:
    """The data's time in microseconds since the epoch (as ``paid_us``)."""
    return (as_of(store).replace(tzinfo=UTC) - _EPOCH) // timedelta(microseconds=1)
