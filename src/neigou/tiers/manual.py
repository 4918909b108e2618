"""An operator's tier override: effective at once (plus the clock skew), dated, audited, with the operator's reason."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from neigou.audit import service as audit
from neigou.kit.actor import Actor
from neigou.kit.errors import Conflict, Invalid
from neigou.kit.i18n import Message
from neigou.kit.settings import clock_skew
from neigou.programs import repository as programs_repo
from neigou.programs.models import MemberTierPeriod
from neigou.programs.service import require_member
from neigou.tiers import repository as repo
from neigou.tiers.models import TierChange, TierChangeKind


@dataclass(frozen=True)
class Override:
    """The change an override made."""

    member_id: int
    from_tier: str | None
    to_tier: str
    effective_from: datetime
    note: str


def override_tier(
    session: Session, *, member_id: int, tier_code: str, note: str, actor: Actor, at: datetime
) -> Override:
    """Put a member on ``tier_code`` from ``at`` plus the clock skew on (an order taken before may be
    paid up to the skew ahead of ``at``: it keeps the old rate like its twin reported later); refuses
    unknown tiers and no-op changes. The program is read locked first, as an evaluation does, so the
    two run one after the other and the evaluation sees this change."""
    member = require_member(session, member_id)
    programs_repo.hold_tier_changes(session, member.program_id)
    session.refresh(member)  # as the lock finds it
    effective = at + clock_skew(session)
    ladder = repo.ladder(session, member.program_id)
    target = next((t for t in ladder if t.code == tier_code), None)
    if target is None:
        raise Invalid(
            Message("{field} is not in this program's ladder.", field="tier"),
            code="unknown_tier",
        )
    before = member.tier_code
    if before == tier_code:
        raise Conflict(
            Message("The member is {tier_code} already.", tier_code=tier_code), code="tier_unchanged"
        )
    reason = {
        "code": "manual_override",
        "metric": None,
        "tier": tier_code,
        "actual": None,
        "required": None,
        "en": f"Set to {target.name} by an operator: {note}",
        "zh": f"运营手动调整为{target.name}：{note}",
    }
    session.add(
        MemberTierPeriod(
            member_id=member.id, tier_code=tier_code, effective_from=effective, reason=f"manual: {note}"[:200]
        )
    )
    session.add(
        TierChange(
            program_id=member.program_id,
            evaluation_id=None,
            member_id=member.id,
            kind=TierChangeKind.MANUAL,
            from_tier=before,
            to_tier=tier_code,
            reasons=[reason],
            effective_from=effective,
            created_at=at,
        )
    )
    member.tier_code = tier_code
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="member.tier.override",
        entity="member",
        entity_id=member.id,
        before={"tier": before},
        after={"tier": tier_code, "note": note},
        at=at,
    )
    return Override(member.id, before, tier_code, effective, note)
