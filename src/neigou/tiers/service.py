"""Monthly tier evaluation: decide from the period's metrics, write dated tiers from the run on.

A period is evaluated once: the evaluation row is unique per program and period, and asking again
returns the stored changes. A dry run computes the same changes and writes nothing. Changes take
effect when the evaluation runs (plus the clock skew), and never before the next period starts in the program's time zone
(``effective_from``: a ``MemberTierPeriod`` row): commission is priced once, when an order is taken,
at the seller's tier at ``paid_at``, so a change dated before the run would leave the orders paid
since and taken before it at the old rate while later-reported ones pay the new: an order's rate
would depend on when it arrived. The old rate applies to every order paid before the run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from neigou.audit import service as audit
from neigou.kit.actor import Actor
from neigou.kit.errors import Conflict, Invalid
from neigou.kit.i18n import Message
from neigou.kit.settings import clock_skew
from neigou.programs import repository as programs_repo
from neigou.programs.models import MemberTierPeriod, Program
from neigou.programs.service import require_program
from neigou.tiers import repository as repo
from neigou.tiers.metrics import PeriodFigures, period_figures
from neigou.tiers.models import TierChange, TierChangeKind, TierEvaluation
from neigou.tiers.periods import MAX_YEAR, Period, parse_period
from neigou.tiers.rules import Decision, LadderTier, Metrics, decide

EMPTY = Metrics()
# Narrow the look-back queries of keep rules to the holders when they are few; scan otherwise.
NARROW_LIMIT = 1_000


@dataclass(frozen=True)
class ChangeView:
    """One member's change as the API returns it."""

    member_id: int
    from_tier: str | None
    to_tier: str
    kind: str
    reasons: list[dict[str, Any]]


@dataclass(frozen=True)
class EvaluationResult:
    """What an evaluation changed (or, in a dry run, would change)."""

    program_id: int
    period: str
    dry_run: bool
    already_evaluated: bool
    evaluation_id: int | None
    ran_at: datetime | None
    effective_from: datetime
    members_evaluated: int
    changes: list[ChangeView]
    # Members the run did not decide for: their tier changed from the period's end on (an operator's
    # override before the run). None for a run recorded before the list was kept (migration 0058).
    left_out: list[int] | None


def require_period(text: str) -> Period:
    """The period or a 422."""
    period = parse_period(text)
    if period is None:
        raise Invalid(
            Message("The period must be a month written YYYY-MM."),
            code="invalid_period",
        )
    return period


def decisions(
    session: Session, *, program: Program, period: Period
) -> tuple[int, list[tuple[int, Decision]], list[int]]:
    """(members evaluated, every member's change, the members left out) for a period; reads only.

    A member whose tier changed from the period's end on (an operator's override made before the run,
    a later effect of an earlier period's run) is left out: the decision reads the tier held at the
    end, so writing it would undo the newer change."""
    ladder = repo.ladder(session, program.id)
    zone = program.timezone
    end = period.end(zone)
    figures = period_figures(session, program_id=program.id, start=period.start(zone), end=end)
    if not ladder:
        return len(figures.held), [], []
    changed = repo.changed_since(session, program.id, end)
    earlier = _keep_history(session, program=program, period=period, ladder=ladder, figures=figures)
    memo: dict[str | None, Decision | None] = {}
    found: list[tuple[int, Decision]] = []
    left_out: list[int] = []
    for member_id, current in figures.held.items():
        if member_id in changed:
            left_out.append(member_id)
            continue
        metrics = figures.metrics.get(member_id)
        if metrics is None and not earlier:
            # Most members had a quiet month: the answer depends on their tier alone.
            if current not in memo:
                memo[current] = decide(ladder, current, [EMPTY])
            decision = memo[current]
        else:
            history = [metrics or EMPTY]
            for figs in earlier:
                if figs.held.get(member_id, "\0") != current:
                    break
                history.append(figs.metrics.get(member_id, EMPTY))
            decision = decide(ladder, current, history)
        if decision is not None:
            found.append((member_id, decision))
    found.sort(key=lambda item: item[0])
    return len(figures.held), found, sorted(left_out)


def _keep_history(
    session: Session,
    *,
    program: Program,
    period: Period,
    ladder: Sequence[LadderTier],
    figures: PeriodFigures,
) -> list[PeriodFigures]:
    """Figures of the periods before ``period`` that keep rules look back on, most recent first."""
    keeps = {t.code: t.keep.periods for t in ladder if t.keep is not None}
    longest = max(keeps.values(), default=1)
    if longest <= 1:
        return []
    holders = sorted(m for m, t in figures.held.items() if t in keeps)
    if not holders:
        return []
    narrow = holders if len(holders) <= NARROW_LIMIT else None
    out: list[PeriodFigures] = []
    back = period
    for _ in range(longest - 1):
        back = back.previous()
        zone = program.timezone
        out.append(
            period_figures(
                session, program_id=program.id, start=back.start(zone), end=back.end(zone), member_ids=narrow
            )
        )
    return out


def _stored(evaluation: TierEvaluation, changes: list[TierChange], *, dry_run: bool) -> EvaluationResult:
    return EvaluationResult(
        program_id=evaluation.program_id,
        period=evaluation.period,
        dry_run=dry_run,
        already_evaluated=True,
        evaluation_id=evaluation.id,
        ran_at=evaluation.ran_at,
        effective_from=evaluation.period_end,
        members_evaluated=evaluation.members_evaluated,
        changes=[
            ChangeView(c.member_id, c.from_tier, c.to_tier, c.kind.value, list(c.reasons)) for c in changes
        ],
        left_out=None if evaluation.left_out is None else [int(m) for m in evaluation.left_out],
    )


def effective_from(period_end: datetime, ran_at: datetime, skew: timedelta) -> datetime:
    """When an evaluation's changes take effect: the next period's start, or the run plus the clock
    skew if later (an order taken before the run may be paid up to the skew ahead of it, and keeps the
    old rate like its twin reported after the run)."""
    return max(period_end, ran_at + skew)


def stored_result(session: Session, *, program_id: int, period_text: str) -> EvaluationResult | None:
    """A past evaluation of a period, if it ran."""
    require_program(session, program_id)
    period = require_period(period_text)
    evaluation = repo.get_evaluation(session, program_id, str(period))
    if evaluation is None:
        return None
    return _stored(evaluation, repo.changes_of(session, evaluation.id), dry_run=False)


def evaluate(
    session: Session, *, program_id: int, period_text: str, dry_run: bool, actor: Actor, at: datetime
) -> EvaluationResult:
    """Evaluate a program's period: promote and demote from ``at`` (plus the clock skew) on, never
    before the next period starts (or preview, when dry). A run reads the program locked first, as an
    override does: the two run one after the other, and the run sees the override it waited for."""
    if not dry_run:
        programs_repo.hold_tier_changes(session, program_id)
    program = require_program(session, program_id)
    period = require_period(period_text)
    zone = program.timezone
    # the future first: past MAX_YEAR without building its bounds (year 9999's December has no end)
    if period.year > MAX_YEAR or period.start(zone) > at:
        raise Invalid(
            Message("Period {period} has not started.", period=period),
            code="future_period",
        )
    end = period.end(zone)
    existing = repo.get_evaluation(session, program.id, str(period))
    if existing is not None:
        return _stored(existing, repo.changes_of(session, existing.id), dry_run=dry_run)
    if not dry_run:
        if end > at:
            raise Conflict(
                Message("Period {period} is not over yet; preview it with dry_run.", period=period),
                code="period_not_over",
            )
        latest = repo.latest_period(session, program.id)
        if latest is not None and latest > str(period):
            raise Conflict(
                Message(
                    "{latest} has been evaluated already; an earlier period can no longer be.", latest=latest
                ),
                code="later_period_evaluated",
            )
    evaluated, found, left_out = decisions(session, program=program, period=period)
    changes = [
        ChangeView(m, d.from_tier, d.to_tier, d.kind, [r.as_json() for r in d.reasons]) for m, d in found
    ]
    result = EvaluationResult(
        program_id=program.id,
        period=str(period),
        dry_run=dry_run,
        already_evaluated=False,
        evaluation_id=None,
        ran_at=None if dry_run else at,
        effective_from=effective_from(end, at, clock_skew(session)),
        members_evaluated=evaluated,
        changes=changes,
        left_out=left_out,
    )
    if dry_run:
        return result
    evaluation = _record(session, program=program, period=period, result=result, actor=actor, at=at)
    return replace(result, evaluation_id=evaluation.id)


def _record(
    session: Session,
    *,
    program: Program,
    period: Period,
    result: EvaluationResult,
    actor: Actor,
    at: datetime,
) -> TierEvaluation:
    evaluation = TierEvaluation(
        program_id=program.id,
        period=str(period),
        period_start=period.start(program.timezone),
        period_end=result.effective_from,
        ran_at=at,
        actor_kind=actor.kind,
        actor_ref=actor.ref,
        members_evaluated=result.members_evaluated,
        changes=len(result.changes),
        left_out=result.left_out,
    )
    try:
        with session.begin_nested():
            session.add(evaluation)
            session.flush()
    except IntegrityError as exc:
        raise Conflict(
            Message("Period {period} is being evaluated by another request.", period=period),
            code="evaluation_in_progress",
        ) from exc
    effective = result.effective_from
    if result.changes:
        session.execute(
            insert(TierChange),
            [
                {
                    "program_id": program.id,
                    "evaluation_id": evaluation.id,
                    "member_id": c.member_id,
                    "kind": TierChangeKind(c.kind),
                    "from_tier": c.from_tier,
                    "to_tier": c.to_tier,
                    "reasons": c.reasons,
                    "effective_from": effective,
                    "created_at": at,
                }
                for c in result.changes
            ],
        )
        session.execute(
            insert(MemberTierPeriod),
            [
                {
                    "member_id": c.member_id,
                    "tier_code": c.to_tier,
                    "effective_from": effective,
                    "reason": f"evaluation {period}: {c.kind}",
                }
                for c in result.changes
            ],
        )
        by_tier: dict[str, list[int]] = {}
        for c in result.changes:
            by_tier.setdefault(c.to_tier, []).append(c.member_id)
        for tier_code, members in by_tier.items():
            repo.set_current_tier(session, members, tier_code, effective)
    audit.record(
        session,
        actor=actor,
        action="tier.evaluation.run",
        entity="program",
        entity_id=program.id,
        after={
            "period": str(period),
            "members_evaluated": result.members_evaluated,
            "changes": len(result.changes),
            "upgrades": sum(c.kind == TierChangeKind.UPGRADE for c in result.changes),
            "demotions": sum(c.kind == TierChangeKind.DEMOTION for c in result.changes),
            "left_out": len(result.left_out or []),
        },
        at=at,
    )
    return evaluation
