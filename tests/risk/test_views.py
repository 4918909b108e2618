"""Explanations read in yuan and percent, those stored before included."""

from __future__ import annotations

from neigou.kit.i18n import translate
from neigou.risk.models import RiskCase
from neigou.risk.views import explanation


def _case(msgid: str, **values: int) -> RiskCase:
    return RiskCase(explanation={"msgid": msgid, "values": values})


def test_an_explanation_stored_in_fen_reads_in_yuan() -> None:
    case = _case(
        "{n} orders of at most {max_fen} fen within {minutes} minutes through this member's links.",
        n=10,
        max_fen=500,
        minutes=60,
    )
    english = translate(explanation(case), "en")
    chinese = translate(explanation(case), "zh_CN")
    assert english == "10 orders of at most ¥5.00 within 60 minutes through this member's links."
    assert "¥5.00" in chinese
    assert "分的订单" not in chinese


def test_an_explanation_stored_in_basis_points_reads_in_percent() -> None:
    case = _case(
        "{refunded} of {released} released orders were refunded after release "
        "({member_bp} bp against the program's {program_bp} bp).",
        refunded=4,
        released=5,
        member_bp=8000,
        program_bp=1250,
    )
    english = translate(explanation(case), "en")
    assert english == "4 of 5 released orders were refunded after release (80% against the program's 12.5%)."
    assert "bp" not in translate(explanation(case), "zh_CN")
