"""Cases as the API and the console show them."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from neigou.kit.i18n import Message, translate
from neigou.risk import repository as repo
from neigou.risk.models import RiskCase
from neigou.risk.schemas import CaseOut, ExplanationOut


def explanation(case: RiskCase) -> Message:
    """The stored explanation as a catalog message."""
    return Message(str(case.explanation["msgid"]), **dict(case.explanation.get("values", {})))


def cases_out(session: Session, cases: Sequence[RiskCase]) -> list[CaseOut]:
    """Cases with their held orders (one query for the whole page)."""
    orders = repo.order_ids_of(session, [c.id for c in cases])
    out = []
    for c in cases:
        why = explanation(c)
        out.append(
            CaseOut(
                id=c.id,
                program_id=c.program_id,
                rule=c.rule,
                severity=c.severity.value,
                status=c.status.value,
                member_id=c.member_id,
                order_ids=orders[c.id],
                held_fen=c.held_fen,
                reversed_fen=c.reversed_fen,
                suspended=c.suspended,
                evidence=c.evidence,
                explanation=ExplanationOut(en=translate(why, "en"), zh=translate(why, "zh-CN")),
                opened_at=c.opened_at,
                resolved_at=c.resolved_at,
                resolved_by=c.resolved_by,
                note=c.note,
            )
        )
    return out
