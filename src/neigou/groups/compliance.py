"""Daily group compliance: required against actual for every active group of a program.

``actual`` is the latest counted observation made before the end of the date in the program's
time zone (a count at 23:59:59+08:00 counts for that date in Asia/Shanghai; one at 00:00:00+08:00
the next day does not). A group with no requirement on the date meets it; one with a requirement
and no count misses it. Four queries whatever the number of groups: schedules, groups with
owners, latest counts, and the last days' counts for the forecast.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from neigou.groups import compliance_reads as reads
from neigou.groups import repository as repo
from neigou.groups.forecast import FORECAST_WINDOW_DAYS, Projection, pace, project, recent
from neigou.groups.models import Group
from neigou.groups.service import schedules
from neigou.groups.targets import TargetSchedule, next_checkpoint, required_on
from neigou.kit.dates import check_day
from neigou.kit.paging import Page
from neigou.programs.models import Program


@dataclass(frozen=True)
class Standing:
    """One group's compliance on the date, with its forecast to the next checkpoint."""

    group_id: int
    name: str
    platform: str
    owner_member_id: int
    owner_name: str
    required: int | None
    actual: int | None
    observed_at: datetime | None
    met: bool
    forecast: Projection | None


@dataclass(frozen=True)
class OwnerSummary:
    """An owner's groups on the date."""

    owner_member_id: int
    owner_name: str
    groups: int
    met: int
    missed: int
    at_risk: int
    members: int


@dataclass(frozen=True)
class Compliance:
    """A program's groups on one date."""

    program_id: int
    on: date
    timezone: str
    required: int | None
    checkpoint: tuple[date, int] | None
    groups: list[Standing]
    owners: list[OwnerSummary]

    @property
    def at_risk(self) -> list[Standing]:
        """Groups that will miss the next checkpoint at their pace."""
        return [g for g in self.groups if g.forecast is not None and g.forecast.at_risk]

    @property
    def missed(self) -> list[Standing]:
        """Groups below their requirement on the date."""
        return [g for g in self.groups if not g.met]


def day_start(on: date, timezone: str) -> datetime:
    """The first instant of ``on`` in ``timezone``, in UTC."""
    return datetime.combine(on, time.min, tzinfo=ZoneInfo(timezone)).astimezone(UTC)


def local_date(at: datetime, timezone: str) -> date:
    """The calendar date of an instant in ``timezone``."""
    return at.astimezone(ZoneInfo(timezone)).date()


def daily_counts(rows: list[tuple[int, int, datetime]], timezone: str) -> dict[int, dict[date, int]]:
    """Per group and local date, the latest count of that date (rows come oldest first)."""
    series: dict[int, dict[date, int]] = defaultdict(dict)
    for group_id, count, observed_at in rows:
        series[group_id][local_date(observed_at, timezone)] = count
    return series


def compliance(
    session: Session, *, program: Program, on: date, owner_member_id: int | None = None
) -> Compliance:
    """Compliance of a program's active groups (or one owner's) on ``on``."""
    check_day(on, "date")
    groups = repo.active_groups_with_owners(session, program.id, owner_member_id)
    # One owner's report reads its groups' counts only, not every group's of the program.
    owner_groups = None if owner_member_id is None else [group.id for group, _ in groups]
    end = day_start(on + timedelta(days=1), program.timezone)
    latest = repo.latest_counts(session, before=end, program_id=program.id, group_ids=owner_groups)
    return _compliance(
        session, program=program, on=on, groups=groups, latest=latest, owner_member_id=owner_member_id
    )


def compliance_page(
    session: Session, *, program: Program, on: date, page: Page, owner_member_id: int | None = None
) -> tuple[Compliance, int]:
    """``compliance`` of one page of the active groups (by owner, then group) and how many there are in
    all: only that page's groups are read, counted and forecast, and ``owners`` sums that page."""
    check_day(on, "date")
    paged = reads.page_active_groups(session, program.id, owner_member_id, page)
    ids = [group.id for group, _ in paged.items]
    end = day_start(on + timedelta(days=1), program.timezone)
    latest = repo.latest_counts(session, before=end, program_id=program.id, group_ids=ids)
    report = _compliance(
        session,
        program=program,
        on=on,
        groups=paged.items,
        latest=latest,
        owner_member_id=owner_member_id,
        group_ids=ids,
    )
    return report, paged.total


def owner_compliance(
    session: Session, *, program: Program, on: date, owner_member_id: int, now: datetime
) -> tuple[Compliance, dict[int, tuple[int, datetime]]]:
    """One owner's ``compliance`` on ``on`` and the latest counts of its active groups before ``now``
    (a time of that day, the feed's size band), from one read of the groups and one of their counts."""
    check_day(on, "date")
    groups = repo.active_groups_with_owners(session, program.id, owner_member_id)
    end = day_start(on + timedelta(days=1), program.timezone)
    before_now, latest = repo.latest_counts_at(
        session, befores=(now, end), program_id=program.id, group_ids=[group.id for group, _ in groups]
    )
    report = _compliance(
        session, program=program, on=on, groups=groups, latest=latest, owner_member_id=owner_member_id
    )
    return report, before_now


def _compliance(
    session: Session,
    *,
    program: Program,
    on: date,
    groups: list[tuple[Group, str]],
    latest: dict[int, tuple[int, datetime]],
    owner_member_id: int | None,
    group_ids: list[int] | None = None,
) -> Compliance:
    """The standings of ``groups`` on ``on``, given their latest counts before the day's end."""
    plan: list[TargetSchedule] = schedules(session, program.id)
    required = required_on(plan, on)
    checkpoint = next_checkpoint(plan, on)
    end = day_start(on + timedelta(days=1), program.timezone)
    window_start = day_start(on - timedelta(days=FORECAST_WINDOW_DAYS - 1), program.timezone)
    counted = (
        repo.counted_between(
            session, program_id=program.id, start=window_start, before=end, owner_member_id=owner_member_id
        )
        if group_ids is None
        else reads.counted_of_groups(
            session, program_id=program.id, group_ids=group_ids, start=window_start, before=end
        )
    )
    series = daily_counts(counted, program.timezone)
    standings: list[Standing] = []
    for group, owner_name in groups:
        count, observed_at = latest.get(group.id, (None, None))
        forecast = None
        if checkpoint is not None:
            slope = pace(recent(sorted(series.get(group.id, {}).items()), on))
            forecast = project(
                last_day=local_date(observed_at, program.timezone) if observed_at else on,
                last_count=count or 0,
                slope=slope,
                on=checkpoint[0],
                required=checkpoint[1],
            )
        standings.append(
            Standing(
                group_id=group.id,
                name=group.name,
                platform=group.platform.value,
                owner_member_id=group.owner_member_id,
                owner_name=owner_name,
                required=required,
                actual=count,
                observed_at=observed_at,
                met=required is None or (count is not None and count >= required),
                forecast=forecast,
            )
        )
    return Compliance(
        program_id=program.id,
        on=on,
        timezone=program.timezone,
        required=required,
        checkpoint=checkpoint,
        groups=standings,
        owners=_owners(standings),
    )


def _owners(standings: list[Standing]) -> list[OwnerSummary]:
    by_owner: dict[int, list[Standing]] = defaultdict(list)
    for standing in standings:
        by_owner[standing.owner_member_id].append(standing)
    return [
        OwnerSummary(
            owner_member_id=owner_id,
            owner_name=rows[0].owner_name,
            groups=len(rows),
            met=sum(1 for r in rows if r.met),
            missed=sum(1 for r in rows if not r.met),
            at_risk=sum(1 for r in rows if r.forecast is not None and r.forecast.at_risk),
            members=sum(r.actual or 0 for r in rows),
        )
        for owner_id, rows in by_owner.items()
    ]


def history(
    session: Session, *, program: Program, until: date, days: int, owner_member_id: int | None = None
) -> dict[int, dict[date, int]]:
    """Daily counts of the ``days`` days ending with ``until`` per group (one query), for charts."""
    rows = repo.counted_between(
        session,
        program_id=program.id,
        start=day_start(until - timedelta(days=days - 1), program.timezone),
        before=day_start(until + timedelta(days=1), program.timezone),
        owner_member_id=owner_member_id,
    )
    return daily_counts(rows, program.timezone)
