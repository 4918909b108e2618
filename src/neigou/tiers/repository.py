"""Queries of the tiers domain."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Select, exists, func, select, update
from sqlalchemy.orm import Session

from neigou.kit.bulk import chunks
from neigou.kit.paging import Page, Paged, paginate
from neigou.programs.models import Member, MemberTierPeriod, Tier
from neigou.tiers.models import TierChange, TierEvaluation
from neigou.tiers.rules import LadderTier, ladder_from_rows

CHUNK = 5_000


def ladder(session: Session, program_id: int) -> list[LadderTier]:
    """A program's ladder as evaluation sees it, lowest rank first."""
    rows = session.execute(
        select(Tier.code, Tier.name, Tier.rank, Tier.upgrade).where(Tier.program_id == program_id)
    )
    return ladder_from_rows((code, name, int(rank), upgrade) for code, name, rank, upgrade in rows)


def get_evaluation(session: Session, program_id: int, period: str) -> TierEvaluation | None:
    """The stored evaluation of a program's period."""
    return session.scalar(
        select(TierEvaluation).where(TierEvaluation.program_id == program_id, TierEvaluation.period == period)
    )


def latest_period(session: Session, program_id: int) -> str | None:
    """The latest evaluated period of a program (``YYYY-MM`` sorts as text)."""
    return session.scalar(
        select(func.max(TierEvaluation.period)).where(TierEvaluation.program_id == program_id)
    )


def _evaluations(program_id: int) -> Select[TierEvaluation]:
    return (
        select(TierEvaluation)
        .where(TierEvaluation.program_id == program_id)
        .order_by(TierEvaluation.period.desc())
    )


def list_evaluations(session: Session, program_id: int, *, limit: int = 24) -> list[TierEvaluation]:
    """A program's evaluations, newest period first."""
    return list(session.scalars(_evaluations(program_id).limit(limit)))


def page_evaluations(session: Session, program_id: int, page: Page) -> Paged[TierEvaluation]:
    """A page of a program's evaluations, newest period first, and their number."""
    return paginate(session, _evaluations(program_id), page)


def evaluated_periods(session: Session, period: str) -> set[int]:
    """Programs whose ``period`` has been evaluated."""
    return {
        int(p)
        for p in session.scalars(select(TierEvaluation.program_id).where(TierEvaluation.period == period))
    }


def changes_of(session: Session, evaluation_id: int) -> list[TierChange]:
    """An evaluation's changes by member."""
    return list(
        session.scalars(
            select(TierChange).where(TierChange.evaluation_id == evaluation_id).order_by(TierChange.member_id)
        )
    )


def member_changes(session: Session, member_id: int, *, limit: int = 20) -> list[TierChange]:
    """A member's tier changes, newest first."""
    return list(
        session.scalars(
            select(TierChange)
            .where(TierChange.member_id == member_id)
            .order_by(TierChange.effective_from.desc(), TierChange.id.desc())
            .limit(limit)
        )
    )


def set_current_tier(
    session: Session, member_ids: Sequence[int], tier_code: str, effective_from: datetime
) -> None:
    """Make ``tier_code`` the current tier of members with no later dated change, set-based in chunks."""
    later = exists().where(
        MemberTierPeriod.member_id == Member.id, MemberTierPeriod.effective_from > effective_from
    )
    for part in chunks(member_ids, CHUNK):
        session.execute(
            update(Member).where(Member.id.in_(part), ~later).values(tier_code=tier_code),
            execution_options={"synchronize_session": False},
        )


def changed_since(session: Session, program_id: int, since: datetime) -> set[int]:
    """Members of a program with a dated tier change effective at or after ``since``."""
    return {
        int(m)
        for m in session.scalars(
            select(MemberTierPeriod.member_id)
            .join(Member, Member.id == MemberTierPeriod.member_id)
            .where(Member.program_id == program_id, MemberTierPeriod.effective_from >= since)
            .distinct()
        )
    }
