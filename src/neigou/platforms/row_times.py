"""When a platform's row says things happened: Beijing wall-clock text, epoch seconds or milliseconds,
the platforms' ``0`` for "not yet", each within the product's days (``kit.dates``). Pure, like ``rows``."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from neigou.kit.dates import in_range
from neigou.kit.i18n import Message
from neigou.platforms.rows import BEIJING, RowProblem, integer, missing_field


def wall_time(row: Mapping[str, Any], name: str, *, required: bool = True) -> datetime | None:
    """A Beijing time as ``yyyy-MM-dd HH:mm:ss`` (or ISO 8601 with an offset), zone-aware."""
    value = row.get(name)
    if _blank(value):
        if required:  # 0 too: the platforms' "not yet" is no time for a field that must hold one
            raise missing_field(name)
        return None
    if not isinstance(value, str):
        raise RowProblem("invalid_time", Message("The time {field} must be yyyy-MM-dd HH:mm:ss.", field=name))
    try:
        parsed = datetime.fromisoformat(value.strip())
        # a wall-clock time at the calendar's very start or end has no UTC instant (OverflowError)
        at = (parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=BEIJING)).astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise RowProblem(
            "invalid_time", Message("The time {field} must be yyyy-MM-dd HH:mm:ss.", field=name)
        ) from exc
    return supported(at, name)


def supported(at: datetime, name: str) -> datetime:
    """``at`` when it lies in the product's days (``kit.dates``: 1970 to 2999), else ``invalid_time``:
    an order paid in year 1 was taken in, and the risk scan of its member stepped back past the calendar."""
    if not in_range(at.date()):
        raise RowProblem("invalid_time", Message("The time {field} is out of range.", field=name))
    return at


def unix_time(
    row: Mapping[str, Any], name: str, *, required: bool = True, millis: bool = False
) -> datetime | None:
    """A time as seconds (or milliseconds) since the epoch."""
    value = row.get(name)
    if _blank(value):
        if required:
            raise missing_field(name)
        return None
    seconds = integer(row, name, low=1, high=10**14)
    try:
        at = datetime.fromtimestamp(seconds / 1000 if millis else seconds, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise RowProblem("invalid_time", Message("The time {field} is out of range.", field=name)) from exc
    return supported(at, name)


def when(row: Mapping[str, Any], name: str, *, required: bool = True) -> datetime | None:
    """A time as the platform wrote it: wall-clock text or epoch milliseconds."""
    value = row.get(name)
    if isinstance(value, int | Decimal) and not isinstance(value, bool) and value != 0:
        return unix_time(row, name, required=required, millis=True)
    return wall_time(row, name, required=required)


def required_time(row: Mapping[str, Any], name: str) -> datetime:
    """A required time (wall-clock text or epoch milliseconds); absent, empty or 0 is ``missing_field``."""
    at = when(row, name)
    if at is None:
        raise missing_field(name)
    return at


def _blank(value: object) -> bool:
    """No value: absent, empty, or the platforms' 0 for "not yet"."""
    return value is None or (isinstance(value, str | int | Decimal) and str(value) in {"", "0"})


def first_time(*times: datetime | None) -> datetime | None:
    """The first of these times that is known."""
    return next((t for t in times if t is not None), None)
