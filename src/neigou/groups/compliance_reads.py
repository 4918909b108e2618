"""The reads of one page of a compliance report: a page of a program's active groups with their owners'
names, and the counts of those groups only in the forecast's window (``groups.compliance``)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from neigou.groups.models import COUNTED, Group, GroupCount, GroupStatus
from neigou.kit.paging import Page, Paged, count_rows
from neigou.programs.models import Member


def page_active_groups(
    session: Session, program_id: int, owner_member_id: int | None, page: Page
) -> Paged[tuple[Group, str]]:
    """A page of a program's active groups (or one owner's) with their owner's name, by owner then
    group, and how many there are in all."""
    query = (
        select(Group, Member.name)
        .join(Member, Member.id == Group.owner_member_id)
        .where(Group.program_id == program_id, Group.status == GroupStatus.ACTIVE)
        .order_by(Group.owner_member_id, Group.id)
    )
    if owner_member_id is not None:
        query = query.where(Group.owner_member_id == owner_member_id)
    total = count_rows(session, query)
    rows = session.execute(query.limit(page.limit).offset(page.offset))
    return Paged([(group, str(name)) for group, name in rows], total)


def counted_of_groups(
    session: Session, *, program_id: int, group_ids: Collection[int], start: datetime, before: datetime
) -> list[tuple[int, int, datetime]]:
    """Counted observations of these groups in ``[start, before)``: (group, count, time), oldest first."""
    if not group_ids:
        return []
    query = (
        select(GroupCount.group_id, GroupCount.member_count, GroupCount.observed_at)
        .where(
            GroupCount.program_id == program_id,
            GroupCount.group_id.in_(sorted(group_ids)),
            GroupCount.observed_at >= start,
            GroupCount.observed_at < before,
            GroupCount.review.in_(COUNTED),
        )
        .order_by(GroupCount.observed_at, GroupCount.id)
    )
    return [(int(g), int(c), at) for g, c, at in session.execute(query)]
