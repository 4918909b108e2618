"""Queries of the groups domain: every read is one statement, whatever the number of groups."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import Select, Subquery, case, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from neigou.groups.models import (
    COUNTED,
    CountReview,
    Group,
    GroupCount,
    GroupSettings,
    GroupStatus,
    TargetScheduleRow,
)
from neigou.kit.paging import Page, Paged, paginate
from neigou.programs.models import Member
from neigou.programs.repository import of_live_organization


def get_group(session: Session, group_id: int) -> Group | None:
    """The group with this id."""
    return session.get(Group, group_id)


def get_count(session: Session, count_id: int, *, lock: bool = False) -> GroupCount | None:
    """The observation with this id; ``lock`` reads it ``FOR UPDATE`` (a review follows), and its values
    as the lock finds them (a copy already in the session is refreshed)."""
    return session.get(GroupCount, count_id, with_for_update=True if lock else None, populate_existing=lock)


def find_group_by_name(session: Session, owner_member_id: int, name: str) -> Group | None:
    """An owner's group with this name."""
    return session.scalar(select(Group).where(Group.owner_member_id == owner_member_id, Group.name == name))


def find_group_by_external_id(
    session: Session, program_id: int, platform: str, external_id: str
) -> Group | None:
    """The group of a program with this (canonical) platform id. Every stored id is in that form
    (migration 0040 rewrote the older ones) but those of two groups that would have collided, which 0040
    left as typed and logged: one of them stored with spaces round it is still found by its trimmed form."""
    same = or_(Group.external_id == external_id, func.trim(Group.external_id) == external_id)
    stmt = select(Group).where(Group.program_id == program_id, Group.platform == platform, same)
    return session.scalars(stmt.order_by(Group.id).limit(1)).first()


def list_groups(
    session: Session,
    *,
    program_id: int | None = None,
    owner_member_id: int | None = None,
    status: GroupStatus | None = None,
    limit: int = 500,
    offset: int = 0,
) -> list[Group]:
    """Groups filtered by program, owner and status, oldest first."""
    return list(session.scalars(_groups(program_id, owner_member_id, status).limit(limit).offset(offset)))


def page_groups(
    session: Session,
    page: Page,
    *,
    program_id: int | None = None,
    owner_member_id: int | None = None,
    status: GroupStatus | None = None,
) -> Paged[Group]:
    """A page of :func:`list_groups` and how many groups match."""
    return paginate(session, _groups(program_id, owner_member_id, status), page)


def _groups(program_id: int | None, owner_member_id: int | None, status: GroupStatus | None) -> Select[Group]:
    query = select(Group).order_by(Group.id)
    if program_id is not None:
        query = query.where(Group.program_id == program_id)
    if owner_member_id is not None:
        query = query.where(Group.owner_member_id == owner_member_id)
    if status is not None:
        query = query.where(Group.status == status)
    return query


def active_groups_with_owners(
    session: Session, program_id: int, owner_member_id: int | None = None
) -> list[tuple[Group, str]]:
    """Active groups of a program with their owner's name, by owner then group."""
    query = (
        select(Group, Member.name)
        .join(Member, Member.id == Group.owner_member_id)
        .where(Group.program_id == program_id, Group.status == GroupStatus.ACTIVE)
        .order_by(Group.owner_member_id, Group.id)
    )
    if owner_member_id is not None:
        query = query.where(Group.owner_member_id == owner_member_id)
    return [(group, str(name)) for group, name in session.execute(query)]


def groups_of_owners(session: Session, owner_ids: Collection[int]) -> list[Group]:
    """Every group of these owners (for matching CSV rows)."""
    if not owner_ids:
        return []
    return list(session.scalars(select(Group).where(Group.owner_member_id.in_(sorted(owner_ids)))))


def members_by_id(session: Session, member_ids: Collection[int]) -> dict[int, Member]:
    """Members by id, one query."""
    if not member_ids:
        return {}
    return {m.id: m for m in session.scalars(select(Member).where(Member.id.in_(sorted(member_ids))))}


def latest_counts_subquery(
    *, before: datetime, program_id: int | None = None, group_ids: Collection[int] | None = None
) -> Subquery:
    """Per group, the latest counted observation strictly before ``before`` as a subquery of
    ``group_id``, ``member_count``, ``observed_at`` (for set-based reads joining groups by size)."""
    ranked = select(
        GroupCount.group_id,
        GroupCount.member_count,
        GroupCount.observed_at,
        func.row_number()
        .over(
            partition_by=GroupCount.group_id,
            order_by=(GroupCount.observed_at.desc(), GroupCount.id.desc()),
        )
        .label("rank"),
    ).where(GroupCount.observed_at < before, GroupCount.review.in_(COUNTED))
    if program_id is not None:
        ranked = ranked.where(GroupCount.program_id == program_id)
    if group_ids is not None:
        ranked = ranked.where(GroupCount.group_id.in_(sorted(group_ids)))
    sub = ranked.subquery()
    return select(sub.c.group_id, sub.c.member_count, sub.c.observed_at).where(sub.c.rank == 1).subquery()


def latest_counts(
    session: Session,
    *,
    before: datetime,
    program_id: int | None = None,
    group_ids: Collection[int] | None = None,
) -> dict[int, tuple[int, datetime]]:
    """Per group, the latest counted observation strictly before ``before``: (count, observed_at), from
    one windowed query over the program (or the given groups), never one query per group."""
    if group_ids is not None and not group_ids:
        return {}
    latest = latest_counts_subquery(before=before, program_id=program_id, group_ids=group_ids)
    rows = session.execute(select(latest.c.group_id, latest.c.member_count, latest.c.observed_at))
    return {int(gid): (int(count), observed_at) for gid, count, observed_at in rows}


def latest_counts_at(
    session: Session,
    *,
    befores: Sequence[datetime],
    program_id: int | None = None,
    group_ids: Collection[int] | None = None,
) -> list[dict[int, tuple[int, datetime]]]:
    """``latest_counts`` before each of ``befores`` (in their order), from one windowed query: the
    observations are ranked per group within the stretch between consecutive cut-offs, and a cut-off's
    latest is the first of the last stretch before it that holds one."""
    cutoffs = sorted(set(befores))
    if not cutoffs or (group_ids is not None and not group_ids):
        return [{} for _ in befores]
    stretch = case(
        *((GroupCount.observed_at < cutoff, index) for index, cutoff in enumerate(cutoffs)),
        else_=len(cutoffs),
    )
    ranked = select(
        GroupCount.group_id,
        GroupCount.member_count,
        GroupCount.observed_at,
        stretch.label("stretch"),
        func.row_number()
        .over(
            partition_by=(GroupCount.group_id, stretch),
            order_by=(GroupCount.observed_at.desc(), GroupCount.id.desc()),
        )
        .label("rank"),
    ).where(GroupCount.observed_at < cutoffs[-1], GroupCount.review.in_(COUNTED))
    if program_id is not None:
        ranked = ranked.where(GroupCount.program_id == program_id)
    if group_ids is not None:
        ranked = ranked.where(GroupCount.group_id.in_(sorted(group_ids)))
    sub = ranked.subquery()
    rows = session.execute(
        select(sub.c.group_id, sub.c.stretch, sub.c.member_count, sub.c.observed_at)
        .where(sub.c.rank == 1)
        .order_by(sub.c.stretch)
    )
    by_cutoff: list[dict[int, tuple[int, datetime]]] = [{} for _ in cutoffs]
    for gid, index, count, observed_at in rows:
        for later in range(int(index), len(cutoffs)):  # stretches come in order: a later one overwrites
            by_cutoff[later][int(gid)] = (int(count), observed_at)
    return [by_cutoff[cutoffs.index(before)] for before in befores]


def first_counts(
    session: Session,
    *,
    program_id: int,
    start: datetime,
    before: datetime,
    group_ids: Collection[int] | None = None,
) -> dict[int, int]:
    """Per group of the program (or of ``group_ids`` among them), the earliest counted observation in
    ``[start, before)`` (one windowed query)."""
    if group_ids is not None and not group_ids:
        return {}
    ranked = (
        select(
            GroupCount.group_id,
            GroupCount.member_count,
            func.row_number()
            .over(partition_by=GroupCount.group_id, order_by=(GroupCount.observed_at, GroupCount.id))
            .label("rank"),
        )
        .where(
            GroupCount.program_id == program_id,
            GroupCount.observed_at >= start,
            GroupCount.observed_at < before,
            GroupCount.review.in_(COUNTED),
            *([] if group_ids is None else [GroupCount.group_id.in_(sorted(group_ids))]),
        )
        .subquery()
    )
    rows = session.execute(select(ranked.c.group_id, ranked.c.member_count).where(ranked.c.rank == 1))
    return {int(gid): int(count) for gid, count in rows}


def counted_between(
    session: Session,
    *,
    program_id: int,
    start: datetime,
    before: datetime,
    owner_member_id: int | None = None,
) -> list[tuple[int, int, datetime]]:
    """Counted observations of a program's groups in ``[start, before)``: (group, count, time)."""
    query = (
        select(GroupCount.group_id, GroupCount.member_count, GroupCount.observed_at)
        .where(
            GroupCount.program_id == program_id,
            GroupCount.observed_at >= start,
            GroupCount.observed_at < before,
            GroupCount.review.in_(COUNTED),
        )
        .order_by(GroupCount.observed_at, GroupCount.id)
    )
    if owner_member_id is not None:
        query = query.join(Group, Group.id == GroupCount.group_id).where(
            Group.owner_member_id == owner_member_id
        )
    return [(int(g), int(c), at) for g, c, at in session.execute(query)]


def counts_in_range(
    session: Session, group_ids: Collection[int], start: datetime, end: datetime
) -> list[GroupCount]:
    """Every observation (any review state) of these groups in ``[start, end]``."""
    if not group_ids:
        return []
    return list(
        session.scalars(
            select(GroupCount)
            .where(
                GroupCount.group_id.in_(sorted(group_ids)),
                GroupCount.observed_at >= start,
                GroupCount.observed_at <= end,
            )
            .order_by(GroupCount.observed_at, GroupCount.id)
        )
    )


def page_counts(session: Session, group_id: int, page: Page) -> Paged[GroupCount]:
    """A page of a group's observations, newest first, and their number."""
    query = (
        select(GroupCount)
        .where(GroupCount.group_id == group_id)
        .order_by(GroupCount.observed_at.desc(), GroupCount.id.desc())
    )
    return paginate(session, query, page)


def counts_for_review(
    session: Session, program_id: int, *, limit: int = 200, offset: int = 0
) -> list[tuple[GroupCount, Group]]:
    """A page of a program's observations held for review, oldest first, with their groups."""
    query = (
        select(GroupCount, Group)
        .join(Group, Group.id == GroupCount.group_id)
        .where(*_held(program_id))
        .order_by(GroupCount.observed_at, GroupCount.id)
        .limit(limit)
        .offset(offset)
    )
    return [(count, group) for count, group in session.execute(query)]


def page_held_for_review(session: Session, program_id: int, page: Page) -> Paged[GroupCount]:
    """A page of a program's observations held for review, oldest first, and how many are held."""
    query = select(GroupCount).where(*_held(program_id)).order_by(GroupCount.observed_at, GroupCount.id)
    return paginate(session, query, page)


def count_held_for_review(session: Session, program_id: int) -> int:
    """How many of a program's observations are held for review."""
    return int(session.scalar(select(func.count(GroupCount.id)).where(*_held(program_id))) or 0)


def _held(program_id: int) -> tuple[ColumnElement[bool], ...]:
    return (GroupCount.program_id == program_id, GroupCount.review == CountReview.NEEDS_REVIEW)


def _schedules(program_id: int) -> Select[TargetScheduleRow]:
    return (
        select(TargetScheduleRow)
        .where(TargetScheduleRow.program_id == program_id)
        .order_by(TargetScheduleRow.starts_on)
    )


def list_schedules(session: Session, program_id: int) -> list[TargetScheduleRow]:
    """A program's target schedules, earliest start first."""
    return list(session.scalars(_schedules(program_id)))


def page_schedules(session: Session, program_id: int, page: Page) -> Paged[TargetScheduleRow]:
    """A page of a program's target schedules, earliest start first, and their number."""
    return paginate(session, _schedules(program_id), page)


def programs_with_schedules(session: Session) -> list[int]:
    """Ids of programs of live organizations that have a group-target schedule."""
    found = select(TargetScheduleRow.program_id).where(of_live_organization(TargetScheduleRow.program_id))
    return [int(p) for p in session.scalars(found.distinct())]


def get_settings(session: Session, program_id: int) -> GroupSettings | None:
    """A program's groups settings, if any were stored."""
    return session.get(GroupSettings, program_id)


def groups_by_id(session: Session, group_ids: Collection[int]) -> list[Group]:
    """These groups (one query)."""
    if not group_ids:
        return []
    return list(session.scalars(select(Group).where(Group.id.in_(sorted(group_ids)))))
