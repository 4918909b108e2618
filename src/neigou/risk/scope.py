"""What a risk scan reads (one program, a window, maybe some members or a coupon) and the helpers
every prepared query shares."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Float, cast, extract, func, literal
from sqlalchemy.orm import Session


@dataclass(frozen=True)
class Scope:
    """What a scan reads: one program, a window ending at ``as_of``, maybe some members or a coupon."""

    program_id: int
    since: datetime
    as_of: datetime
    member_ids: Sequence[int] | None = None
    coupon_id: int | None = None


def seconds_between(session: Session, start: Any, end: Any) -> ColumnElement[float]:
    """``end − start`` in seconds, on SQLite (julian days) and PostgreSQL (epoch of the interval)."""
    if session.get_bind().dialect.name == "sqlite":
        return (func.julianday(end) - func.julianday(start)) * 86400.0
    return cast(extract("epoch", end - start), Float)


def members_in(scope: Scope, column: Any) -> ColumnElement[bool]:
    """The scope's members only, when it names some."""
    return column.in_(scope.member_ids) if scope.member_ids is not None else literal(True)
