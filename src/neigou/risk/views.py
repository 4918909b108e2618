"""Cases as the API and the console show them."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy.orm import Session

from neigou.kit.i18n import Message, translate
from neigou.kit.money import format_bp, format_yuan
from neigou.risk import repository as repo
from neigou.risk.models import RiskCase
from neigou.risk.schemas import CaseOut, ExplanationOut

# Explanations stored before amounts read in yuan and rates in percent: the same sentence with the
# values turned into the current placeholders, so older cases read as new ones do.
_LEGACY: dict[str, tuple[str, dict[str, tuple[str, Callable[[int], str]]]]] = {
    " {max_fen} fen within ": (" {max_yuan} within ", {"max_fen": ("max_yuan", format_yuan)}),
    "({member_bp} bp against the program's {program_bp} bp)": (
        "({member_rate} against the program's {program_rate})",
        {"member_bp": ("member_rate", format_bp), "program_bp": ("program_rate", format_bp)},
    ),
}


def explanation(case: RiskCase) -> Message:
    """The stored explanation as a catalog message."""
    msgid = str(case.explanation["msgid"])
    values = dict(case.explanation.get("values", {}))
    for old, (new, renames) in _LEGACY.items():
        if old in msgid:
            msgid = msgid.replace(old, new)
            for name, (renamed, render) in renames.items():
                values[renamed] = render(int(values.pop(name)))
    return Message(msgid, **values)


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
