"""The demo world has a JD 联盟 integration whose feed reconciles last month with a difference and its
cause, and a risk scan's open cases with their explanation."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.integrations.models import Integration
from neigou.platforms import reconciliation
from neigou.platforms.rows import Platform
from neigou.programs.service import require_program
from neigou.risk.models import CaseStatus, RiskCase
from tests.demo_world import DemoTemplate


@pytest.mark.sqlite_only
def test_demo_reconciles_last_month_with_a_difference(
    demo_template: DemoTemplate,
    demo_factory: sessionmaker[Session],
) -> None:
    world = demo_template.world
    with demo_factory() as session:
        program = require_program(session, world.partner_program_id)
        integrations = list(session.scalars(select(Integration).where(Integration.program_id == program.id)))
        local = demo_template.built_at.astimezone(ZoneInfo(program.timezone))
        before = local.replace(day=1) - timedelta(days=1)
        report = reconciliation.month(
            session,
            program=program,
            platform=Platform.JD_UNION,
            month=f"{before.year:04d}-{before.month:02d}",
            now=demo_template.built_at,
        )
    assert len(integrations) == 1
    causes = [row.cause for row in report.rows]
    assert causes.count(None) >= 5  # orders on which the platform and the ledger agree
    assert {"amount", "missing"} <= set(causes)  # a settled fee below its estimate; a retired site's code
    assert all(row.diff_fen != 0 for row in report.rows if row.cause == "amount")
    assert any(row.platform_status == "settled" for row in report.rows)


@pytest.mark.sqlite_only
def test_demo_has_open_risk_cases_with_their_explanation(
    demo_template: DemoTemplate,
    demo_factory: sessionmaker[Session],
) -> None:
    world = demo_template.world
    with demo_factory() as session:
        cases = list(session.scalars(select(RiskCase).where(RiskCase.status == CaseStatus.OPEN)))
    brushing = [c for c in cases if c.rule == "order_brushing"]
    assert len(brushing) == 1
    assert brushing[0].program_id == world.partner_program_id
    assert brushing[0].explanation["values"]["n"] >= 10
    assert brushing[0].held_fen > 0
    assert all(case.explanation["msgid"] for case in cases)
