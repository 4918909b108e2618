"""Instants taken from a request where money moves: now when absent, never in the future.

A settlement dated eight days ahead would release frozen commission early; an order, completion or
refund dated ahead would start its freeze (or move money) on a day that has not come. Another system's
clock may run a little ahead of ours, so a configurable skew (``NEIGOU_CLOCK_SKEW_SECONDS``, five
minutes by default) is allowed, and nothing past it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import Depends, Request
from pydantic import AfterValidator, AwareDatetime
from pydantic_core import PydanticCustomError

from neigou.kit.clock import ensure_aware, utcnow
from neigou.kit.dates import FIRST_DAY, LAST_DAY, instant_in_range
from neigou.kit.errors import Invalid
from neigou.kit.i18n import Message

DEFAULT_SKEW = timedelta(minutes=5)


def supported(value: datetime) -> datetime:
    """``value`` unchanged when its UTC instant lies in the product's days (``kit.dates``, 1970-01-01 to
    2999-12-31); else a validation error of type ``date_out_of_range``. ``0001-01-01T06:00+14:00`` is a
    time pydantic accepts with no UTC instant at all, and an instant at the calendar's edge overflows
    the first day or month a report or a scan steps back or on from it: both were 500s."""
    if not instant_in_range(value):
        raise PydanticCustomError(
            "date_out_of_range",
            "The time must lie between {first} and {last} (UTC).",
            {"first": FIRST_DAY.isoformat(), "last": LAST_DAY.isoformat()},
        )
    return value


Instant = Annotated[AwareDatetime, AfterValidator(supported)]
"""A time a caller gives: zone-aware, and within the product's days (the type of every such field)."""


def future_message(field: str, value: datetime, now: datetime) -> Message:
    """Why a time that moves money is refused: it lies ahead of ``now`` (code ``time_in_future``)."""
    return Message(
        "{field} {value} is in the future (now {now}); times that move money cannot lie ahead.",
        field=field,
        value=value.isoformat(),
        now=now.isoformat(),
    )


def refuse_future(value: datetime, *, now: datetime, skew: timedelta, field: str) -> datetime:
    """``value`` in UTC, or 422 ``time_in_future`` when it lies more than ``skew`` after ``now``."""
    aware = ensure_aware(value)
    if aware > now + skew:
        raise Invalid(
            future_message(field, aware, now),
            code="time_in_future",
            extra={"field": field, "now": now.isoformat()},
        )
    return aware


@dataclass(frozen=True)
class MoneyClock:
    """The request's now, and the rule for instants a caller gives where money moves."""

    now: datetime
    skew: timedelta

    def at(self, value: datetime | None, *, field: str = "at") -> datetime:
        """The caller's instant (refused when in the future), or now when none was given."""
        return self.now if value is None else refuse_future(value, now=self.now, skew=self.skew, field=field)


async def money_clock(request: Request) -> MoneyClock:
    """A dependency: now, with the configured skew (async: no thread hop for a clock read)."""
    skew = timedelta(seconds=request.app.state.settings.clock_skew_seconds)
    return MoneyClock(now=utcnow(), skew=skew)


MoneyClockDep = Annotated[MoneyClock, Depends(money_clock)]
