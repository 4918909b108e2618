"""Instants taken from a request: written as text with their zone, and where money moves, now when
absent and never in the future.

Every instant a request takes (body or query) is an ``Instant``: ISO 8601 text carrying its offset.
Pydantic would also read a number (``1733400000``, or the same digits as text) as Unix seconds, but a
number does not say whether it counts seconds or milliseconds, so it is refused (422
``numeric_datetime``) rather than guessed. A time whose UTC instant lies outside the product's days
(1970-01-01 to 2999-12-31), or that has none (``0001-01-01T06:00+14:00``), is 422 ``date_out_of_range``.

A settlement dated eight days ahead would release frozen commission early; an order, completion or
refund dated ahead would start its freeze (or move money) on a day that has not come. Another system's
clock may run a little ahead of ours, so a configurable skew (``NEIGOU_CLOCK_SKEW_SECONDS``, five
minutes by default) is allowed, and nothing past it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import Depends, Request
from pydantic import AfterValidator, AwareDatetime, BeforeValidator
from pydantic_core import PydanticCustomError

from neigou.kit.clock import ensure_aware, utcnow
from neigou.kit.dates import FIRST_DAY, LAST_DAY, instant_in_range
from neigou.kit.errors import Invalid
from neigou.kit.field_errors import DATE_OUT_OF_RANGE, NUMERIC_DATETIME, numeric_message
from neigou.kit.i18n import Message

DEFAULT_SKEW = timedelta(minutes=5)
# What pydantic would take for Unix seconds: a JSON number, or text of digits with a sign or a fraction.
# Possessive throughout: a long run of digits ending in something else is refused in linear time (the
# greedy ``[0-9]*\.?[0-9]+`` traded digits back and forth, quadratic in the run: a 1 MiB body, hours).
_NUMBER_TEXT = re.compile(r"\s*+[+-]?+(?:[0-9]*+\.[0-9]++|[0-9]++)\.?+\s*+")


def numeric_detail(errors: Sequence[tuple[str, str]]) -> Message | None:
    """The refusal's detail when every error of a request, as (field, pydantic error type), is a number
    given for a time; None when any other error is among them (the request's ``validation_error``)."""
    if refusal_code([kind for _, kind in errors]) != NUMERIC_DATETIME:
        return None
    return numeric_message(", ".join(field or "body" for field, _ in errors))


def refusal_code(kinds: Sequence[str]) -> str:
    """The code of a request refused for these pydantic error types: ``numeric_datetime`` when every
    error is a number given for a time, ``date_out_of_range`` when every error is a time outside the
    product's days, else ``validation_error``. The API and the signed webhook both answer by it, so one
    body is refused alike whichever way it comes."""
    if kinds and all(kind == NUMERIC_DATETIME for kind in kinds):
        return NUMERIC_DATETIME
    if kinds and all(kind == DATE_OUT_OF_RANGE for kind in kinds):
        return DATE_OUT_OF_RANGE
    return "validation_error"


def _not_a_number(value: object) -> object:
    if isinstance(value, int | float) or (isinstance(value, str) and _NUMBER_TEXT.fullmatch(value)):
        raise PydanticCustomError(
            NUMERIC_DATETIME, "a time must be ISO 8601 text with its zone, not a number"
        )
    return value


def supported(value: datetime) -> datetime:
    """``value`` unchanged when its UTC instant lies in the product's days (``kit.dates``, 1970-01-01 to
    2999-12-31); else a validation error of type ``date_out_of_range``. ``0001-01-01T06:00+14:00`` is a
    time pydantic accepts with no UTC instant at all, and an instant at the calendar's edge overflows
    the first day or month a report or a scan steps back or on from it: both were 500s."""
    if not instant_in_range(value):
        raise PydanticCustomError(
            DATE_OUT_OF_RANGE,
            "The time must lie between {first} and {last} (UTC).",
            {"first": FIRST_DAY.isoformat(), "last": LAST_DAY.isoformat()},
        )
    return value


Instant = Annotated[AwareDatetime, BeforeValidator(_not_a_number), AfterValidator(supported)]
"""An instant a request gives (the type of every such field): ISO 8601 text with its zone, within the
product's days; a number, or digits as text, is refused."""


def future_message(field: str, now: datetime) -> Message:
    """Why a time that moves money is refused: it lies ahead of ``now`` (code ``time_in_future``)."""
    return Message(
        "{field} is in the future (now {now}); times that move money cannot lie ahead.",
        field=field,
        now=now.isoformat(),
    )


def refuse_future(value: datetime, *, now: datetime, skew: timedelta, field: str) -> datetime:
    """``value`` in UTC, or 422 ``time_in_future`` when it lies more than ``skew`` after ``now``."""
    aware = ensure_aware(value)
    if aware > now + skew:
        raise Invalid(
            future_message(field, now),
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

    def until_now(self, value: datetime | None, *, field: str = "at") -> datetime:
        """A person's instant where their action moves money (a withdrawal, a settlement, a payment, a
        consent): refused past the skew like :meth:`at`, and never later than now. The skew is for other
        systems' clocks (an order's ``paid_at``); a person's action happens, and is dated, when it is
        made, so a time within the skew ahead counts as now and nothing is ever dated ahead of the
        server's clock (a withdrawal dated ahead held up its whole payout batch)."""
        return min(self.at(value, field=field), self.now)


async def money_clock(request: Request) -> MoneyClock:
    """A dependency: now, with the configured skew (async: no thread hop for a clock read)."""
    skew = timedelta(seconds=request.app.state.settings.clock_skew_seconds)
    return MoneyClock(now=utcnow(), skew=skew)


MoneyClockDep = Annotated[MoneyClock, Depends(money_clock)]
