"""Groups and target schedules: the writes, operator ones audited (a program's groups settings:
``groups.settings``)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from neigou.audit import service as audit
from neigou.groups import repository as repo
from neigou.groups.models import Group, GroupPlatform, GroupStatus, TargetScheduleRow
from neigou.groups.schemas import GroupCreate, GroupUpdate, TargetsIn
from neigou.groups.targets import TargetPoint, TargetSchedule, schedule_problems
from neigou.kit.actor import Actor
from neigou.kit.clock import utcnow
from neigou.kit.dates import check_day
from neigou.kit.db import get_or_404, insert_if_free, row_to_put
from neigou.kit.errors import Conflict, Invalid
from neigou.kit.i18n import Message, Sentences
from neigou.programs.service import require_member, require_program


def require_group(session: Session, group_id: int) -> Group:
    """The group or a 404."""
    return get_or_404(
        session,
        Group,
        group_id,
        code="group_not_found",
        detail=Message("This group does not exist."),
    )


def group_dump(group: Group) -> dict[str, Any]:
    """The audited state of a group."""
    return {
        "program_id": group.program_id,
        "owner_member_id": group.owner_member_id,
        "name": group.name,
        "platform": group.platform.value,
        "external_id": group.external_id,
        "status": group.status.value,
    }


def _name_taken() -> Conflict:
    return Conflict(Message("This owner already has a group with this name."), code="group_name_taken")


def _taken(
    session: Session,
    *,
    program_id: int,
    owner_member_id: int,
    name: str,
    platform: str,
    external_id: str | None,
    group_id: int | None = None,
) -> Conflict | None:
    """The conflict of a unique key of the group that another group holds, None when both are free."""
    same_name = repo.find_group_by_name(session, owner_member_id, name)
    if same_name is not None and same_name.id != group_id:
        return _name_taken()
    if external_id is not None:
        same_id = repo.find_group_by_external_id(session, program_id, platform, external_id)
        if same_id is not None and same_id.id != group_id:
            return Conflict(
                Message("{field} names a group registered already on this platform.", field="external_id"),
                code="external_id_taken",
                extra={"field": "external_id"},
            )
    return None


def _check_unique(session: Session, **keys: Any) -> None:
    conflict = _taken(session, **keys)
    if conflict is not None:
        raise conflict


def _lost_race(session: Session, keys: dict[str, Any]) -> Conflict:
    """The 409 of a key another request took after ``_check_unique`` found it free (read again)."""
    return _taken(session, **keys) or _name_taken()


def create_group(
    session: Session, *, data: GroupCreate, owner_member_id: int, actor: Actor, at: datetime | None = None
) -> Group:
    """Register a member's chat group in the member's program."""
    owner = require_member(session, owner_member_id)
    keys: dict[str, Any] = {
        "program_id": owner.program_id,
        "owner_member_id": owner.id,
        "name": data.name,
        "platform": data.platform.value,
        "external_id": data.external_id,
    }
    _check_unique(session, **keys)
    now = at or utcnow()
    values = {
        "program_id": owner.program_id,
        "owner_member_id": owner.id,
        "name": data.name,
        "platform": GroupPlatform(data.platform),
        "external_id": data.external_id,
        "status": GroupStatus(data.status),
        "created_at": now,
        "updated_at": now,
    }
    group = insert_if_free(session, Group, values)
    if group is None:
        raise _lost_race(session, keys)
    audit.record(
        session,
        actor=actor,
        action="group.create",
        entity="group",
        entity_id=group.id,
        after=group_dump(group),
    )
    return group


def update_group(
    session: Session, *, group: Group, data: GroupUpdate, actor: Actor, at: datetime | None = None
) -> Group:
    """Change a group's name, status, external id or owner (fields not sent stay as they are). A new
    owner must have joined the group's program; what the group carries (its counts, targets, robot,
    sales) goes with it, what a member made (links, live codes, alerts) stays that member's. ``data``
    is checked against the group (``GroupUpdate.checked``): its ``external_id`` is in its one form."""
    before = group_dump(group)
    now = at or utcnow()
    changes = data.model_dump(exclude_unset=True)
    for key in ("name", "status", "owner_member_id"):
        if changes.get(key) is None:
            changes.pop(key, None)
    name = changes.get("name", group.name)
    external_id = changes.get("external_id", group.external_id)
    owner_id = group.owner_member_id
    if changes.get("owner_member_id", owner_id) != owner_id:
        owner_id = _new_owner(session, group, changes["owner_member_id"], now)
    keys: dict[str, Any] = {
        "program_id": group.program_id,
        "owner_member_id": owner_id,
        "name": name,
        "platform": group.platform.value,
        "external_id": external_id,
        "group_id": group.id,
    }
    _check_unique(session, **keys)
    transferred = owner_id != group.owner_member_id
    session.flush()  # what came before is no part of the savepoint's write
    try:
        with session.begin_nested():  # a name or external id taken since the check is its 409 too
            group.name = name
            group.external_id = external_id
            group.owner_member_id = owner_id
            if "status" in changes:
                group.status = GroupStatus(changes["status"])
            group.updated_at = now
            session.flush()
    except IntegrityError as exc:
        raise _lost_race(session, keys) from exc
    audit.record(
        session,
        actor=actor,
        action="group.transfer" if transferred else "group.update",
        entity="group",
        entity_id=group.id,
        before=before,
        after=group_dump(group),
    )
    return group


def _new_owner(session: Session, group: Group, member_id: int, at: datetime) -> int:
    """The id of the group's new owner: a member of the group's program who has joined it."""
    member = require_member(session, member_id)
    if member.program_id != group.program_id:
        raise Invalid(
            Message("The new owner (member_id) is not in the group's program and cannot own it."),
            code="owner_not_in_program",
        )
    if member.joined_at > at:
        raise Conflict(
            Message("Member {member_id} has not joined the program yet.", member_id=member_id),
            code="owner_not_joined",
        )
    return member.id


def schedule_of(row: TargetScheduleRow) -> TargetSchedule:
    """The pure view of a stored schedule."""
    return TargetSchedule(
        starts_on=row.starts_on,
        points=tuple(
            sorted(TargetPoint(date.fromisoformat(p["date"]), int(p["min_members"])) for p in row.points)
        ),
        daily_increase_after=row.daily_increase_after,
    )


def schedules(session: Session, program_id: int) -> list[TargetSchedule]:
    """A program's schedules as the target rules read them."""
    return [schedule_of(row) for row in repo.list_schedules(session, program_id)]


def put_schedule(
    session: Session, *, program_id: int, data: TargetsIn, actor: Actor, at: datetime | None = None
) -> TargetScheduleRow:
    """Store a schedule in force from its start date; one with the same start is replaced."""
    require_program(session, program_id)
    check_day(data.starts_on, "starts_on")
    for point in data.points:
        check_day(point.date, "points.date")
    points = sorted(TargetPoint(p.date, p.min_members) for p in data.points)
    problems = schedule_problems(points, data.daily_increase_after)
    if problems:
        raise Invalid(
            Sentences([p.message for p in problems]),
            code=problems[0].code,
            extra={"problems": [{"code": p.code, "message": p.message} for p in problems]},
        )
    starts_on = data.starts_on or points[0].on
    stored = [{"date": p.on.isoformat(), "min_members": p.min_members} for p in points]
    now = at or utcnow()
    fresh = {
        "program_id": program_id,
        "starts_on": starts_on,
        "points": stored,
        "daily_increase_after": data.daily_increase_after,
        "created_at": now,
        "updated_at": now,
    }
    row, created = row_to_put(session, TargetScheduleRow, fresh, key=["program_id", "starts_on"])
    before = None if created else {"points": row.points, "daily_increase_after": row.daily_increase_after}
    row.points = stored
    row.daily_increase_after = data.daily_increase_after
    row.updated_at = now
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="group.targets.put",
        entity="program",
        entity_id=program_id,
        before=before,
        after={
            "starts_on": starts_on.isoformat(),
            "points": stored,
            "daily_increase_after": data.daily_increase_after,
        },
    )
    return row
