"""HTTP endpoints of pushes, push settings and engagement (``/api/v1``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, status

from neigou.auth.dependencies import Operator, OperatorOrMember, require_member_access
from neigou.auth.models import Role
from neigou.auth.service import Principal
from neigou.crm import push_delivery as _delivery  # noqa: F401 - registers the delivery job
from neigou.crm import push_engagement as engagement
from neigou.crm import push_queries as repo
from neigou.crm import push_segments, push_settings, pushes
from neigou.crm.dormancy import DORMANT_DAYS
from neigou.crm.push_schemas import (
    DormantOut,
    FiguresOut,
    MessageOut,
    MutedGroupOut,
    PushCreate,
    PushOut,
    PushReportOut,
    PushSummaryOut,
    SettingsIn,
    SettingsOut,
)
from neigou.crm.push_views import push_out, push_report, push_summaries, settings_out
from neigou.kit.clock import utcnow
from neigou.kit.dates import check_day
from neigou.kit.deps import SessionDep
from neigou.kit.errors import NotFound
from neigou.kit.i18n import Message
from neigou.kit.instants import Instant
from neigou.kit.paging import PageDep
from neigou.kit.sealed import Sealer
from neigou.programs.service import require_member, require_program

router = APIRouter(tags=["crm"])

IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", min_length=1, max_length=64)]
Days = Annotated[int, Query(ge=1, le=3650)]
# Muted groups aggregate every click of the program's groups over the window: at most a quarter.
MutedDays = Annotated[int, Query(ge=1, le=engagement.MUTED_MAX_DAYS)]


def _base(request: Request) -> str:
    base: str = request.app.state.settings.public_base  # NEIGOU_PUBLIC_URL, never the Host header
    return base


def _instant(value: datetime) -> datetime:
    check_day(value.date(), "at")
    return value


def _own_push(session: SessionDep, principal: Principal, push_id: int) -> pushes.MadePush:
    push = pushes.require_push(session, push_id)
    if principal.role is Role.MEMBER and principal.member_id != push.member_id:
        raise NotFound(Message("This push does not exist."), code="push_not_found")
    return pushes.load(session, push)


@router.post("/members/{member_id}/pushes", status_code=status.HTTP_201_CREATED, response_model=PushOut)
def create_push(
    *,
    member_id: int,
    body: PushCreate,
    request: Request,
    session: SessionDep,
    principal: OperatorOrMember,
    idempotency_key: IdempotencyKey = None,
) -> PushOut:
    """Messages for the member's customers who may be reached, skips with reasons for the rest."""
    require_member_access(principal, member_id)
    member = require_member(session, member_id)
    now = utcnow()
    # A past ``at`` means now: its customers, prices and cap are those of the moment it goes out.
    due = pushes.effective_due(_instant(body.at), now) if body.at is not None else now
    customer_ids = list(body.customer_ids or ())
    if body.segment_id is not None:
        customer_ids = push_segments.segment_customers(
            session, member=member, segment_id=body.segment_id, at=due
        )
    made = pushes.create_push(
        session,
        member=member,
        ask=pushes.PushRequest(
            customer_ids=customer_ids,
            skus=body.skus,
            template=body.template,
            due=due,
            request_id=idempotency_key,
            segment_id=body.segment_id,
            asked=_instant(body.at) if body.at is not None else None,
        ),
        base_url=_base(request),
        actor=principal.actor,
        now=now,
    )
    return push_out(made)


@router.get("/members/{member_id}/pushes", response_model=list[PushSummaryOut])
def list_pushes(
    member_id: int, session: SessionDep, principal: OperatorOrMember, page: PageDep
) -> list[PushSummaryOut]:
    """The member's pushes, newest first, with their figures."""
    require_member_access(principal, member_id)
    require_member(session, member_id)
    found = repo.page_pushes(session, page, member_id=member_id)
    page.answer(found.total)
    return push_summaries(session, found.items)


@router.get("/pushes/{push_id}", response_model=PushReportOut)
def get_push(push_id: int, session: SessionDep, principal: OperatorOrMember) -> PushReportOut:
    """A push with its messages, clicks, claims, orders and GMV; another member's push is a 404."""
    return push_report(session, _own_push(session, principal, push_id))


@router.post("/pushes/{push_id}/messages/{message_id}/sent", response_model=MessageOut)
def mark_sent(push_id: int, message_id: int, session: SessionDep, principal: OperatorOrMember) -> MessageOut:
    """The salesperson sent a task message from their own chat app."""
    made = _own_push(session, principal, push_id)
    message = pushes.mark_sent(session, made=made, message_id=message_id, at=utcnow())
    return push_out(made).messages[[m.id for m in made.messages].index(message.id)]


@router.get("/programs/{program_id}/crm/settings", response_model=SettingsOut)
def get_settings(program_id: int, session: SessionDep, principal: Operator) -> SettingsOut:
    """The program's channel, frequency cap, quiet hours and target (masked)."""
    require_program(session, program_id)
    return settings_out(push_settings.read(session, program_id))


@router.put("/programs/{program_id}/crm/settings", response_model=SettingsOut)
def put_settings(
    program_id: int, body: SettingsIn, request: Request, session: SessionDep, principal: Operator
) -> SettingsOut:
    """Set the program's push settings; a webhook's signing secret is shown once, when it is made."""
    require_program(session, program_id)
    _, secret = push_settings.update(
        session,
        program_id=program_id,
        change=push_settings.SettingsChange(
            channel=body.channel,
            cap_pushes=body.cap_pushes,
            cap_days=body.cap_days,
            quiet_start=body.quiet_start,
            quiet_end=body.quiet_end,
            target=None if body.target is None else str(body.target),
        ),
        sealer=Sealer.from_settings(request.app.state.settings),
        allow_private=request.app.state.settings.outbound_allow_private,
        actor=principal.actor,
        at=utcnow(),
    )
    return settings_out(push_settings.read(session, program_id), webhook_secret=secret)


@router.get("/programs/{program_id}/crm/figures", response_model=FiguresOut)
def program_figures(program_id: int, session: SessionDep, principal: Operator) -> FiguresOut:
    """The program's pushes altogether: messages, sent, clicks, claims, orders, GMV."""
    require_program(session, program_id)
    f = engagement.program_figures(session, program_id)
    return FiguresOut(**f.__dict__)


@router.get("/programs/{program_id}/crm/dormant-customers", response_model=list[DormantOut])
def dormant_customers(
    *,
    program_id: int,
    session: SessionDep,
    principal: Operator,
    page: PageDep,
    days: Days = DORMANT_DAYS,
    at: Instant | None = None,
) -> list[DormantOut]:
    """Customers of the program with no click and no order for ``days`` days."""
    require_program(session, program_id)
    when: datetime = _instant(at) if at is not None else utcnow()
    found = engagement.page_dormant(session, page, program_id=program_id, days=days, at=when)
    page.answer(found.total)
    return [DormantOut.model_validate(c) for c in found.items]


@router.get("/programs/{program_id}/crm/muted-groups", response_model=list[MutedGroupOut])
def muted_groups(
    *,
    program_id: int,
    session: SessionDep,
    principal: Operator,
    page: PageDep,
    days: MutedDays = 30,
    at: Instant | None = None,
) -> list[MutedGroupOut]:
    """Groups whose clicks per member are far below the program's median, quietest first (over at most
    ``MUTED_MAX_DAYS`` days)."""
    require_program(session, program_id)
    when: datetime = _instant(at) if at is not None else utcnow()
    found = engagement.page_muted_groups(session, page, program_id=program_id, days=days, at=when)
    page.answer(found.total)
    return [MutedGroupOut.model_validate(g) for g in found.items]
