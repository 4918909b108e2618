"""HTTP endpoints of programs, tier ladders and members (``/api/v1``)."""

from __future__ import annotations

from fastapi import APIRouter, Request, status

from neigou.auth.dependencies import Operator, OperatorOrIntegration, OperatorOrMember, require_member_access
from neigou.auth.models import Role
from neigou.auth.service import Principal
from neigou.kit.deps import SessionDep
from neigou.kit.errors import Forbidden
from neigou.kit.i18n import Message
from neigou.kit.paging import PageDep
from neigou.programs import inviters, service
from neigou.programs import repository as repo
from neigou.programs.models import Member, Program
from neigou.programs.schemas import (
    AttributionIn,
    InviterChange,
    MemberCreate,
    MemberOut,
    ProgramCreate,
    ProgramOut,
    ProgramUpdate,
    TierIn,
    TierOut,
)

router = APIRouter(tags=["programs"])


def program_out(program: Program) -> ProgramOut:
    """The API view of a program (two columns make its ``attribution``)."""
    return ProgramOut(
        id=program.id,
        code=program.code,
        name=program.name,
        timezone=program.timezone,
        attribution=AttributionIn(
            model=program.attribution_model, window_days=program.attribution_window_days
        ),
        freeze_days=program.freeze_days,
        max_levels=program.max_levels,
        self_purchase_commission=program.self_purchase_commission,
        created_at=program.created_at,
    )


def member_out(member: Member, direct_recruits: int | None = None) -> MemberOut:
    """The API view of a member (personal data masked; recruits counted by the caller's query)."""
    return MemberOut(
        id=member.id,
        program_id=member.program_id,
        name=member.name,
        tier=member.tier_code,
        inviter_id=member.inviter_id,
        joined_at=member.joined_at,
        customer_ref_masked=member.customer_ref_masked,
        direct_recruits=direct_recruits,
    )


def _member_of_program(principal: Principal, session: SessionDep, program_id: int) -> None:
    if principal.role is Role.MEMBER:
        member = repo.get_member(session, principal.member_id or 0)
        if member is None or member.program_id != program_id:
            raise Forbidden(Message("Members can only see their own program."), code="other_program")


@router.post("/programs", status_code=status.HTTP_201_CREATED, response_model=ProgramOut)
def create_program(
    body: ProgramCreate, request: Request, session: SessionDep, principal: Operator
) -> ProgramOut:
    """Create a distribution program."""
    program = service.create_program(
        session,
        data=body,
        actor=principal.actor,
        default_timezone=request.app.state.settings.default_timezone,
    )
    return program_out(program)


@router.get("/programs", response_model=list[ProgramOut])
def list_programs(session: SessionDep, _principal: Operator, page: PageDep) -> list[ProgramOut]:
    """Programs, oldest first."""
    programs = repo.page_programs(session, page)
    page.answer(programs.total)
    return [program_out(p) for p in programs.items]


@router.get("/programs/{program_id}", response_model=ProgramOut)
def get_program(program_id: int, session: SessionDep, principal: OperatorOrMember) -> ProgramOut:
    """One program."""
    program = service.require_program(session, program_id)
    _member_of_program(principal, session, program_id)
    return program_out(program)


@router.patch("/programs/{program_id}", response_model=ProgramOut)
def update_program(
    program_id: int, body: ProgramUpdate, session: SessionDep, principal: Operator
) -> ProgramOut:
    """Change a program's name, time zone or rules (fields left out stay as they are)."""
    program = service.require_program(session, program_id)
    return program_out(service.update_program(session, program=program, data=body, actor=principal.actor))


@router.put("/programs/{program_id}/tiers", response_model=list[TierOut])
def put_tiers(program_id: int, body: list[TierIn], session: SessionDep, principal: Operator) -> list[TierOut]:
    """Replace the tier ladder (validated whole)."""
    tiers = service.replace_tiers(session, program_id=program_id, tiers=body, actor=principal.actor)
    return [TierOut.model_validate(t) for t in tiers]


@router.get("/programs/{program_id}/tiers", response_model=list[TierOut])
def get_tiers(
    program_id: int, session: SessionDep, principal: OperatorOrMember, page: PageDep
) -> list[TierOut]:
    """The tier ladder, lowest rank first."""
    service.require_program(session, program_id)
    _member_of_program(principal, session, program_id)
    tiers = repo.page_tiers(session, program_id, page)
    page.answer(tiers.total)
    return [TierOut.model_validate(t) for t in tiers.items]


@router.post("/programs/{program_id}/members", status_code=status.HTTP_201_CREATED, response_model=MemberOut)
def create_member(
    program_id: int,
    body: MemberCreate,
    request: Request,
    session: SessionDep,
    principal: OperatorOrIntegration,
) -> MemberOut:
    """Add a member, bound to their inviter."""
    member = service.create_member(
        session,
        program_id=program_id,
        data=body,
        actor=principal.actor,
        secret_key=request.app.state.settings.secret_key,
    )
    return member_out(member)


@router.get("/programs/{program_id}/members", response_model=list[MemberOut])
def list_members(
    program_id: int,
    session: SessionDep,
    _principal: Operator,
    page: PageDep,
) -> list[MemberOut]:
    """Members of a program in joining order, with their direct-recruit counts."""
    service.require_program(session, program_id)
    members = repo.page_members(session, program_id, page)
    page.answer(members.total)
    counts = repo.direct_recruit_counts(session, [m.id for m in members.items])
    return [member_out(m, counts.get(m.id, 0)) for m in members.items]


@router.get("/members/{member_id}", response_model=MemberOut)
def get_member(member_id: int, session: SessionDep, principal: OperatorOrMember) -> MemberOut:
    """One member: operators, or that member themselves."""
    require_member_access(principal, member_id)
    member = service.require_member(session, member_id)
    return member_out(member, repo.direct_recruit_counts(session, [member.id]).get(member.id, 0))


@router.put("/members/{member_id}/inviter", response_model=MemberOut)
def change_inviter(
    member_id: int, body: InviterChange, session: SessionDep, principal: Operator
) -> MemberOut:
    """Rebind a member under another inviter; loops and other programs are refused."""
    return member_out(
        inviters.change_inviter(
            session,
            member_id=member_id,
            inviter_id=body.inviter_id,
            actor=principal.actor,
            at=body.effective_from,
        )
    )
