"""HTTP endpoints of chat groups, member counts, group targets and compliance (``/api/v1``)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from neigou.auth.dependencies import AnyRole, Operator, OperatorOrIntegration, OperatorOrMember
from neigou.auth.models import Role
from neigou.auth.service import Principal
from neigou.groups import alert_queries, count_files, service
from neigou.groups import counts as counts_service
from neigou.groups import repository as repo
from neigou.groups import settings as group_settings
from neigou.groups.alerts import queue_alert, require_ended
from neigou.groups.compliance import compliance_page, local_date
from neigou.groups.models import Group, GroupStatus
from neigou.groups.schemas import (
    AlertOut,
    AlertRunIn,
    AlertRunOut,
    AlertsOut,
    ComplianceOut,
    CountIn,
    CountOut,
    GroupCreate,
    GroupOut,
    GroupUpdate,
    ImportIn,
    ImportOut,
    ReviewIn,
    ScheduleOut,
    SettingsIn,
    SettingsOut,
    TargetsIn,
)
from neigou.groups.views import compliance_out
from neigou.kit.clock import utcnow
from neigou.kit.dates import check_day
from neigou.kit.deps import SessionDep
from neigou.kit.errors import Forbidden, Invalid
from neigou.kit.i18n import Message
from neigou.kit.json_text import takes_large_body
from neigou.kit.paging import MAX_ID, PageDep, PageQuery, paging
from neigou.kit.sealed import Sealer
from neigou.programs import repository as programs
from neigou.programs.models import Program
from neigou.programs.service import require_program

router = APIRouter(tags=["groups"])
# A compliance report runs a forecast per group: a page of 100 groups unless ``limit`` asks otherwise.
COMPLIANCE_PAGE = 100
CompliancePageDep = Annotated[PageQuery, Depends(paging(COMPLIANCE_PAGE))]


def _own_group(principal: Principal, group: Group) -> None:
    if principal.role is Role.MEMBER and principal.member_id != group.owner_member_id:
        raise Forbidden(Message("Members can only reach their own groups."), code="other_member")


def _visible_program(principal: Principal, session: SessionDep, program_id: int) -> Program:
    program = require_program(session, program_id)
    if principal.role is Role.MEMBER:
        member = programs.get_member(session, principal.member_id or 0)
        if member is None or member.program_id != program_id:
            raise Forbidden(Message("Members can only see their own program."), code="other_program")
    return program


def _group_for(principal: Principal, session: SessionDep, group_id: int) -> Group:
    group = service.require_group(session, group_id)
    _own_group(principal, group)
    return group


@router.post("/groups", status_code=status.HTTP_201_CREATED, response_model=GroupOut)
def create_group(body: GroupCreate, session: SessionDep, principal: OperatorOrMember) -> GroupOut:
    """Register a chat group: operators for any member, members for themselves."""
    owner_id = body.owner_member_id
    if principal.role is Role.MEMBER:
        if owner_id is not None and owner_id != principal.member_id:
            raise Forbidden(Message("Members can only register their own groups."), code="other_member")
        owner_id = principal.member_id
    if owner_id is None:
        raise Invalid(Message("owner_member_id is required."), code="owner_required")
    return GroupOut.model_validate(
        service.create_group(session, data=body, owner_member_id=owner_id, actor=principal.actor)
    )


@router.get("/groups", response_model=list[GroupOut])
def list_groups(
    *,
    session: SessionDep,
    principal: OperatorOrMember,
    program_id: int | None = None,
    owner_member_id: int | None = None,
    page: PageDep,
    group_status: Annotated[GroupStatus | None, Query(alias="status")] = None,
) -> list[GroupOut]:
    """Groups of a program or an owner; a member sees only their own."""
    if principal.role is Role.MEMBER:
        if owner_member_id is not None and owner_member_id != principal.member_id:
            raise Forbidden(Message("Members can only list their own groups."), code="other_member")
        owner_member_id = principal.member_id
    groups = repo.page_groups(
        session, page, program_id=program_id, owner_member_id=owner_member_id, status=group_status
    )
    page.answer(groups.total)
    return [GroupOut.model_validate(g) for g in groups.items]


@router.get("/groups/{group_id}", response_model=GroupOut)
def get_group(group_id: int, session: SessionDep, principal: OperatorOrMember) -> GroupOut:
    """One group: operators, or its owner."""
    return GroupOut.model_validate(_group_for(principal, session, group_id))


@router.patch("/groups/{group_id}", response_model=GroupOut)
def update_group(
    group_id: int, body: GroupUpdate, session: SessionDep, principal: OperatorOrMember
) -> GroupOut:
    """Rename, archive or re-identify a group: operators, or its owner; hand it over to another member
    of its program: operators only."""
    group = _group_for(principal, session, group_id)
    giving_away = body.owner_member_id is not None and body.owner_member_id != group.owner_member_id
    if principal.role is not Role.OPERATOR and giving_away:
        raise Forbidden(
            Message("Only an operator can hand a group over to another member."),
            code="owner_change_forbidden",
        )
    try:
        data = body.checked(group.external_id)
    except ValidationError as exc:  # refused as the request's body is
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]) from None
    return GroupOut.model_validate(
        service.update_group(session, group=group, data=data, actor=principal.actor)
    )


@router.post("/groups/{group_id}/counts", status_code=status.HTTP_201_CREATED, response_model=CountOut)
def record_count(
    group_id: int, body: CountIn, response: Response, session: SessionDep, principal: AnyRole
) -> CountOut:
    """Record a member count (201); the same time again returns the stored one (200)."""
    group = _group_for(principal, session, group_id)
    count, created = counts_service.record_count(
        session,
        group=group,
        member_count=body.member_count,
        observed_at=body.observed_at,
        actor=principal.actor,
        source="api",
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return CountOut.model_validate(count)


@router.get("/groups/{group_id}/counts", response_model=list[CountOut])
def list_counts(
    group_id: int, session: SessionDep, principal: OperatorOrMember, page: PageDep
) -> list[CountOut]:
    """A group's observations, newest first, with their review state."""
    _group_for(principal, session, group_id)
    counts = repo.page_counts(session, group_id, page)
    page.answer(counts.total)
    return [CountOut.model_validate(c) for c in counts.items]


@router.post("/groups/{group_id}/counts/{count_id}/review", response_model=CountOut)
def review_count(
    group_id: int, count_id: int, body: ReviewIn, session: SessionDep, principal: Operator
) -> CountOut:
    """Accept or reject a count held for review (one decided meanwhile is 409 ``not_awaiting_review``)."""
    count = counts_service.review_held(
        session, group_id=group_id, count_id=count_id, accept=body.accept, actor=principal.actor
    )
    return CountOut.model_validate(count)


@router.put("/programs/{program_id}/group-targets", response_model=ScheduleOut)
def put_group_targets(
    program_id: int, body: TargetsIn, session: SessionDep, principal: Operator
) -> ScheduleOut:
    """Store a target schedule in force from its start date (the same start replaces it)."""
    return ScheduleOut.model_validate(
        service.put_schedule(session, program_id=program_id, data=body, actor=principal.actor)
    )


@router.get("/programs/{program_id}/group-targets", response_model=list[ScheduleOut])
def get_group_targets(
    program_id: int, session: SessionDep, principal: OperatorOrMember, page: PageDep
) -> list[ScheduleOut]:
    """A program's target schedules, earliest start first."""
    _visible_program(principal, session, program_id)
    schedules = repo.page_schedules(session, program_id, page)
    page.answer(schedules.total)
    return [ScheduleOut.model_validate(r) for r in schedules.items]


@router.get("/programs/{program_id}/group-compliance", response_model=ComplianceOut)
def get_group_compliance(
    program_id: int,
    *,
    session: SessionDep,
    principal: OperatorOrMember,
    page: CompliancePageDep,
    on: Annotated[dt.date | None, Query(alias="date")] = None,
    owner_member_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> ComplianceOut:
    """Required against actual per group on a date (default: today in the program's zone): a page of the
    active groups, by owner then group (``limit``, ``offset``, ``X-Total-Count``), one owner's with
    ``owner_member_id``; a member sees their own groups only."""
    program = _visible_program(principal, session, program_id)
    day = on or local_date(utcnow(), program.timezone)
    owner = owner_member_id
    if principal.role is Role.MEMBER:
        # another owner's groups are none of a member's: an empty page, never a refusal naming them
        owner = principal.member_id if owner in (None, principal.member_id) else 0
    report, total = compliance_page(session, program=program, on=day, page=page, owner_member_id=owner)
    page.answer(total)
    return compliance_out(report)


@router.get("/programs/{program_id}/group-alerts", response_model=AlertsOut)
def get_group_alerts(
    program_id: int,
    session: SessionDep,
    principal: OperatorOrMember,
    on: Annotated[dt.date | None, Query(alias="date")] = None,
) -> AlertsOut:
    """The alerts of a date (default: yesterday); a member sees their own groups' only."""
    check_day(on, "date")
    program = _visible_program(principal, session, program_id)
    day = on or local_date(utcnow(), program.timezone) - dt.timedelta(days=1)
    owner = principal.member_id if principal.role is Role.MEMBER else None
    delivery = alert_queries.get_delivery(session, program_id, day)
    return AlertsOut(
        date=day,
        delivery=delivery.status if delivery else None,
        alerts=[
            AlertOut(
                id=a.id,
                group_id=a.group_id,
                owner_member_id=a.owner_member_id,
                date=a.alert_date,
                kind=a.kind.value,
                required=a.required,
                actual=a.actual,
                checkpoint=a.checkpoint_on,
                projected=a.projected,
            )
            for a in alert_queries.list_alerts(session, program_id, day, owner)
        ],
    )


@router.post(
    "/programs/{program_id}/group-alerts/run",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=AlertRunOut,
)
def run_group_alerts(
    program_id: int, body: AlertRunIn, session: SessionDep, principal: Operator
) -> AlertRunOut:
    """Build and send an ended date's alert now (``422 date_not_ended`` for the program's today or a later
    date); a date already delivered is not sent again."""
    require_ended(require_program(session, program_id), body.date)
    key = queue_alert(session, program_id=program_id, on=body.date, actor=principal.actor)
    return AlertRunOut(key=key or "", queued=key is not None)


def settings_out(settings: group_settings.EffectiveSettings) -> SettingsOut:
    """The API view of a program's groups settings (no secrets)."""
    return SettingsOut(
        program_id=settings.program_id,
        webhook_configured=settings.webhook_url_sealed is not None,
        webhook_url_masked=settings.webhook_url_masked,
        signed=settings.webhook_secret_sealed is not None,
        size_limits=settings.size_limits,
        jump_members_per_day=settings.jump_members_per_day,
        jump_bp_per_day=settings.jump_bp_per_day,
    )


@router.get("/programs/{program_id}/group-settings", response_model=SettingsOut)
def get_group_settings(program_id: int, session: SessionDep, _principal: Operator) -> SettingsOut:
    """Alert webhook and plausibility thresholds of a program."""
    require_program(session, program_id)
    return settings_out(group_settings.settings_of(session, program_id))


@router.put("/programs/{program_id}/group-settings", response_model=SettingsOut)
def put_group_settings(
    program_id: int, body: SettingsIn, request: Request, session: SessionDep, principal: Operator
) -> SettingsOut:
    """Change the alert webhook and its signing secret (both stored sealed) or the plausibility
    thresholds."""
    return settings_out(
        group_settings.put_settings(
            session,
            program_id=program_id,
            data=body,
            sealer=Sealer.from_settings(request.app.state.settings),
            allow_private=request.app.state.settings.outbound_allow_private,
            actor=principal.actor,
        )
    )


@router.post("/programs/{program_id}/group-counts/import", response_model=ImportOut)
@takes_large_body  # a whole CSV file as JSON text
def import_group_counts(
    program_id: int, body: ImportIn, session: SessionDep, principal: OperatorOrIntegration
) -> ImportOut:
    """Import a member-count CSV whole; any bad row refuses the file with every row's error."""
    require_program(session, program_id)
    result = count_files.import_counts(
        session, content=body.csv, actor=principal.actor, program_id=program_id
    )
    return ImportOut(imported=result.imported, needs_review=result.needs_review, duplicates=result.duplicates)


@router.get("/programs/{program_id}/group-counts/needs-review", response_model=list[CountOut])
def list_counts_for_review(
    *,
    program_id: int,
    session: SessionDep,
    _principal: Operator,
    page: PageDep,
) -> list[CountOut]:
    """A page of the counts of a program held for review, oldest first; ``X-Total-Count`` says how
    many are held in all."""
    require_program(session, program_id)
    held = repo.page_held_for_review(session, program_id, page)
    page.answer(held.total)
    return [CountOut.model_validate(c) for c in held.items]
