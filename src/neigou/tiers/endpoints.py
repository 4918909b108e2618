"""HTTP endpoints of tier evaluation, overrides and progress (``/api/v1``)."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from neigou.auth.dependencies import Operator, OperatorOrMember, require_member_access
from neigou.kit.clock import utcnow
from neigou.kit.deps import SessionDep
from neigou.kit.errors import NotFound
from neigou.kit.i18n import Message
from neigou.kit.paging import PageDep
from neigou.programs.service import require_member, require_program
from neigou.tiers import jobs as _jobs  # noqa: F401 - registers the scheduled evaluation
from neigou.tiers import repository as repo
from neigou.tiers import service
from neigou.tiers.manual import override_tier
from neigou.tiers.progress import member_progress
from neigou.tiers.schemas import (
    ChangeOut,
    EvaluationIn,
    EvaluationOut,
    EvaluationSummary,
    GapOut,
    ProgressOut,
    ReasonOut,
    TierOverrideIn,
    TierOverrideOut,
)

router = APIRouter(tags=["tiers"])


def evaluation_out(result: service.EvaluationResult) -> EvaluationOut:
    """The API view of an evaluation."""
    return EvaluationOut(
        program_id=result.program_id,
        period=result.period,
        dry_run=result.dry_run,
        already_evaluated=result.already_evaluated,
        evaluation_id=result.evaluation_id,
        ran_at=result.ran_at,
        effective_from=result.effective_from,
        members_evaluated=result.members_evaluated,
        changes=[
            ChangeOut(
                member_id=c.member_id,
                from_=c.from_tier,
                to=c.to_tier,
                kind=c.kind,
                reasons=[ReasonOut.model_validate(r) for r in c.reasons],
            )
            for c in result.changes
        ],
        left_out=result.left_out,
    )


@router.post("/programs/{program_id}/tier-evaluations", response_model=EvaluationOut)
def evaluate(
    program_id: int, body: EvaluationIn, response: Response, session: SessionDep, principal: Operator
) -> EvaluationOut:
    """Evaluate a month: changes take effect from the run, never before the next month (201 when recorded now)."""
    result = service.evaluate(
        session,
        program_id=program_id,
        period_text=body.period,
        dry_run=body.dry_run,
        actor=principal.actor,
        at=utcnow(),
    )
    if not result.dry_run and not result.already_evaluated:
        response.status_code = status.HTTP_201_CREATED
    return evaluation_out(result)


@router.get("/programs/{program_id}/tier-evaluations", response_model=list[EvaluationSummary])
def list_evaluations(
    program_id: int, session: SessionDep, _principal: Operator, page: PageDep
) -> list[EvaluationSummary]:
    """Past evaluations, newest period first."""
    require_program(session, program_id)
    evaluations = repo.page_evaluations(session, program_id, page)
    page.answer(evaluations.total)
    return [
        EvaluationSummary(
            id=e.id,
            period=e.period,
            ran_at=e.ran_at,
            effective_from=e.period_end,
            members_evaluated=e.members_evaluated,
            changes=e.changes,
            actor=f"{e.actor_kind}:{e.actor_ref}",
        )
        for e in evaluations.items
    ]


@router.get("/programs/{program_id}/tier-evaluations/{period}", response_model=EvaluationOut)
def get_evaluation(program_id: int, period: str, session: SessionDep, _principal: Operator) -> EvaluationOut:
    """The stored result of a past evaluation."""
    result = service.stored_result(session, program_id=program_id, period_text=period)
    if result is None:
        raise NotFound(Message("This period has not been evaluated."), code="evaluation_not_found")
    return evaluation_out(result)


@router.put("/members/{member_id}/tier", response_model=TierOverrideOut)
def put_member_tier(
    member_id: int, body: TierOverrideIn, session: SessionDep, principal: Operator
) -> TierOverrideOut:
    """Override a member's tier from now on (audited, with the reason kept in the tier history)."""
    done = override_tier(
        session,
        member_id=member_id,
        tier_code=body.tier,
        note=body.reason,
        actor=principal.actor,
        at=utcnow(),
    )
    return TierOverrideOut(
        member_id=done.member_id,
        from_=done.from_tier,
        to=done.to_tier,
        effective_from=done.effective_from,
        reason=done.note,
    )


@router.get("/members/{member_id}/tier-progress", response_model=ProgressOut)
def get_tier_progress(member_id: int, session: SessionDep, principal: OperatorOrMember) -> ProgressOut:
    """This month's figures against the next tier: operators, or that member themselves."""
    require_member_access(principal, member_id)
    member = require_member(session, member_id)
    program = require_program(session, member.program_id)
    found = member_progress(session, member=member, timezone=program.timezone, at=utcnow())
    prog = found.progress
    return ProgressOut(
        member_id=member.id,
        period=str(found.period),
        tier=member.tier_code,
        next_tier=prog.target.code if prog else None,
        met=prog.met if prog else False,
        gaps=[
            GapOut(metric=g.metric, tier=g.tier, actual=g.actual, required=g.required, missing=g.missing)
            for g in (prog.gaps if prog else ())
        ],
        direct_recruits=found.metrics.direct_recruits,
        orders=found.metrics.orders,
        gmv_fen=found.metrics.gmv_fen,
        text_zh=found.text("zh-CN"),
        text_en=found.text("en"),
    )
