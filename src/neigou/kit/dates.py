"""The days the product works with: from 1970-01-01 to 2999-12-31.

Reports turn a day into instants in a program's time zone and step a month back or a day on; at the
edges of the calendar (``0001-01-01``, ``9999-12-31``) that overflows. A day a caller gives is checked
here first, so anything outside the range is a 422 ``date_out_of_range`` and never a 500.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from neigou.kit.errors import Invalid
from neigou.kit.i18n import Message

FIRST_DAY = date(1970, 1, 1)
LAST_DAY = date(2999, 12, 31)


def in_range(value: date) -> bool:
    """True when ``value`` lies in the supported range."""
    return FIRST_DAY <= value <= LAST_DAY


def instant_in_range(value: datetime) -> bool:
    """True when an aware ``value`` has a UTC instant whose day lies in the supported range
    (``0001-01-01T06:00+14:00`` has none: converting it overflows)."""
    try:
        return in_range(value.astimezone(UTC).date())
    except OverflowError:
        return False


def range_message(field: str) -> Message:
    """Why a day is refused (code ``date_out_of_range``)."""
    return Message(
        "{field} is outside the supported range {first} to {last}.",
        field=field,
        first=FIRST_DAY.isoformat(),
        last=LAST_DAY.isoformat(),
    )


def out_of_range(field: str) -> Invalid:
    """The refusal of a day outside the supported range."""
    return Invalid(
        range_message(field),
        code="date_out_of_range",
        extra={"field": field, "first": FIRST_DAY.isoformat(), "last": LAST_DAY.isoformat()},
    )


def check_day(value: date | None, field: str) -> date | None:
    """``value`` when it lies in the supported range (or is None); else 422 ``date_out_of_range``."""
    if value is not None and not in_range(value):
        raise out_of_range(field)
    return value


# A month ``YYYY-MM`` as the product reads it: ASCII digits only and the whole text (``fullmatch``). ``\d``
# would take full-width ``２０２６`` or Arabic-Indic digits and ``$`` a trailing newline, which then reached a
# download's file name (a 500) and the answer. ``tiers.periods`` reads its periods with the same pattern.
MONTH_PATTERN = re.compile(r"([0-9]{4})-(0[1-9]|1[0-2])")


def read_month(value: str, field: str) -> tuple[int, int]:
    """The ``(year, month)`` ``value`` writes as ``YYYY-MM`` in the supported range: else 422 ``bad_period``
    (not such a month) or ``date_out_of_range`` (``0000-01``, ``9999-12``: reports step past its edges)."""
    found = MONTH_PATTERN.fullmatch(value)
    if found is None:
        raise Invalid(Message("The period must be a month such as 2026-03."), code="bad_period")
    year, month = int(found.group(1)), int(found.group(2))
    if year < 1 or not in_range(date(year, month, 1)):  # year 0 is no date; the range holds whole months
        raise out_of_range(field)
    return year, month


def check_month(value: str, field: str) -> str:
    """The month ``value`` names, written ``YYYY-MM`` again from the numbers read (``read_month``): what a
    caller echoes or puts in a file name is never the typed text."""
    year, month = read_month(value, field)
    return f"{year:04d}-{month:02d}"
