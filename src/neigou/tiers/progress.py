"""A member's standing this month against the next tier: the rules over the member's own metrics."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from neigou.programs.models import Member
from neigou.tiers import repository as repo
from neigou.tiers.metrics import period_figures
from neigou.tiers.periods import Period, period_of
from neigou.tiers.rules import LadderTier, Metrics, Progress, progress, progress_text


@dataclass(frozen=True)
class MemberProgress:
    """Current tier, the month so far, and what is missing for the next tier (None at the top)."""

    period: Period
    ladder: list[LadderTier]
    current: LadderTier | None
    metrics: Metrics
    progress: Progress | None

    def text(self, locale: str) -> str:
        """The gap in words, or an empty string at the top."""
        return progress_text(self.ladder, self.progress, locale) if self.progress else ""


def member_progress(session: Session, *, member: Member, timezone: str, at: datetime) -> MemberProgress:
    """The member's progress in the period containing ``at``."""
    period = period_of(at, timezone)
    ladder = repo.ladder(session, member.program_id)
    figures = period_figures(
        session,
        program_id=member.program_id,
        start=period.start(timezone),
        end=period.end(timezone),
        member_ids=[member.id],
    )
    metrics = figures.metrics.get(member.id, Metrics())
    current = next((t for t in ladder if t.code == member.tier_code), None)
    return MemberProgress(period, ladder, current, metrics, progress(ladder, member.tier_code, metrics))
