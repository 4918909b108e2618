"""Pure group-target rules: what a group must have reached on a date.

A program keeps several target schedules over time; each applies from its start date until the
next one starts. Within a schedule the requirement on a date is the ``min_members`` of the latest
point dated on or before it; after the final point it grows by ``daily_increase_after`` for each
day past that point; before the first point there is no requirement.

Example (the field's own): 250 by 24 March, 400 nine days later (2 April), then +3 a day:
23 March → None, 24 March → 250, 1 April → 250, 2 April → 400, 3 April → 403, 10 April → 424.

No I/O here: plain values in, plain values out, tested exhaustively with Hypothesis.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from neigou.kit.i18n import Message

# Past the final point the forecast looks this far ahead (the requirement keeps rising daily).
FORECAST_HORIZON_DAYS = 7


@dataclass(frozen=True, order=True)
class TargetPoint:
    """``min_members`` required from ``on`` (until the next point)."""

    on: date
    min_members: int


@dataclass(frozen=True)
class TargetSchedule:
    """A program's schedule in force from ``starts_on`` until a later schedule starts."""

    starts_on: date
    points: tuple[TargetPoint, ...]
    daily_increase_after: int = 0


@dataclass(frozen=True)
class ScheduleProblem:
    """Why a schedule is refused: a stable code and a sentence for people."""

    code: str
    message: Message


def required_members(points: Sequence[TargetPoint], daily_increase_after: int, on: date) -> int | None:
    """The requirement of one schedule's points on ``on`` (None before the first point)."""
    ordered = sorted(points)
    latest: TargetPoint | None = None
    for point in ordered:
        if point.on > on:
            break
        latest = point
    if latest is None:
        return None
    final = ordered[-1]
    if latest.on == final.on:
        return final.min_members + daily_increase_after * (on - final.on).days
    return latest.min_members


def schedule_on(schedules: Sequence[TargetSchedule], on: date) -> TargetSchedule | None:
    """The schedule in force on ``on``: the one with the latest start on or before it."""
    current: TargetSchedule | None = None
    for schedule in schedules:
        if schedule.starts_on <= on and (current is None or schedule.starts_on > current.starts_on):
            current = schedule
    return current


def required_on(schedules: Sequence[TargetSchedule], on: date) -> int | None:
    """The members a group must have on ``on`` under the program's schedules (None: no target)."""
    schedule = schedule_on(schedules, on)
    if schedule is None:
        return None
    return required_members(schedule.points, schedule.daily_increase_after, on)


def next_checkpoint(
    schedules: Sequence[TargetSchedule], on: date, *, horizon_days: int = FORECAST_HORIZON_DAYS
) -> tuple[date, int] | None:
    """The date (after ``on``) a forecast is judged against, with its requirement.

    That is the next point of the schedule in force on that point's date, or the start of a later
    schedule; past every point, ``on + horizon_days`` (the requirement keeps rising daily).
    """
    candidates: set[date] = set()
    for schedule in schedules:
        if schedule.starts_on > on:
            candidates.add(schedule.starts_on)
        for point in schedule.points:
            if point.on > on and schedule_on(schedules, point.on) is schedule:
                candidates.add(point.on)
    for candidate in sorted(candidates):
        required = required_on(schedules, candidate)
        if required is not None:
            return candidate, required
    later = on + timedelta(days=horizon_days)
    required = required_on(schedules, later)
    return None if required is None else (later, required)


def schedule_problems(points: Sequence[TargetPoint], daily_increase_after: int) -> list[ScheduleProblem]:
    """Everything wrong with a schedule; empty when it may be stored."""
    problems: list[ScheduleProblem] = []
    if not points:
        problems.append(ScheduleProblem("empty_schedule", Message("A schedule needs at least one point.")))
    dates = [p.on for p in points]
    if len(set(dates)) != len(dates):
        problems.append(ScheduleProblem("duplicate_point_date", Message("Each point needs its own date.")))
    if any(p.min_members < 0 for p in points):
        problems.append(ScheduleProblem("negative_target", Message("Targets are ≥ 0 members.")))
    if daily_increase_after < 0:
        problems.append(ScheduleProblem("negative_increase", Message("daily_increase_after is ≥ 0.")))
    return problems
