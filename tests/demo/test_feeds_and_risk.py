"""The demo world has a JD 联盟 and a 多多进宝 integration whose feeds reconcile last month with differences
and their causes (``amount`` and ``missing`` on JD, ``status`` on 多多进宝), and a risk scan's open cases with
their explanation."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.integrations.models import Integration
from neigou.kit.paging import MAX_LIMIT, Page
from neigou.links.models import ShareLink
from neigou.orders.models import Order, Refund
from neigou.platforms import reconciliation
from neigou.platforms.models import PlatformOrder
from neigou.platforms.rows import Platform
from neigou.platforms.schemas import ReconciliationOut
from neigou.programs.service import require_program
from neigou.risk.models import CaseStatus, RiskCase
from tests.demo_world import DemoTemplate


def _last_month(session: Session, demo_template: DemoTemplate, platform: Platform) -> ReconciliationOut:
    """The partner program's reconciliation of ``platform`` for the month before the demo was built."""
    program = require_program(session, demo_template.world.partner_program_id)
    local = demo_template.built_at.astimezone(ZoneInfo(program.timezone))
    before = local.replace(day=1) - timedelta(days=1)
    report, kept = reconciliation.month(
        session,
        program=program,
        platform=platform,
        month=f"{before.year:04d}-{before.month:02d}",
        now=demo_template.built_at,
        page=Page(limit=MAX_LIMIT),
    )
    assert kept == len(report.rows)  # the demo's month fits one page
    return report


@pytest.mark.sqlite_only
def test_demo_reconciles_last_month_with_a_difference(
    demo_template: DemoTemplate,
    demo_factory: sessionmaker[Session],
) -> None:
    world = demo_template.world
    with demo_factory() as session:
        integrations = session.scalars(
            select(Integration.name)
            .where(Integration.program_id == world.partner_program_id)
            .order_by(Integration.id)
        ).all()
        report = _last_month(session, demo_template, Platform.JD_UNION)
    assert integrations == ["京东联盟 JD Union", "多多进宝 Duoduo Jinbao"]
    causes = [row.cause for row in report.rows]
    assert causes.count(None) >= 5  # orders on which the platform and the ledger agree
    assert {"amount", "missing"} <= set(causes)  # a settled fee below its estimate; a retired site's code
    assert all(row.diff_fen != 0 for row in report.rows if row.cause == "amount")
    assert any(row.platform_status == "settled" for row in report.rows)


@pytest.mark.sqlite_only
def test_demo_pdd_orders_reconcile_with_an_amount_cause(
    demo_template: DemoTemplate,
    demo_factory: sessionmaker[Session],
) -> None:
    """多多进宝's orders of last month, taken in through the owners' links, agree with the platform but
    one: the shop's compensation refunded through the platform's after-sale, its line refunded by the
    feed while the platform's fee stays estimated on the full amount."""
    world = demo_template.world
    with demo_factory() as session:
        report = _last_month(session, demo_template, Platform.PDD)
        taken = session.execute(
            select(PlatformOrder.external_id, PlatformOrder.skip_code, Order.id, ShareLink.program_id)
            .join(Order, Order.id == PlatformOrder.order_id)
            .join(ShareLink, ShareLink.code == PlatformOrder.link_code)
            .where(PlatformOrder.platform == Platform.PDD)
        ).all()
        refunds = session.execute(
            select(Refund.refund_id, Refund.amount_fen)
            .join(PlatformOrder, PlatformOrder.order_id == Refund.order_id)
            .where(PlatformOrder.platform == Platform.PDD)
            .order_by(Refund.refund_id)
        ).all()
    assert len(report.rows) == 6
    # every order taken in, through a link of the partner program (``custom_parameters``' uid)
    assert sorted(external_id for external_id, *_ in taken) == sorted(r.external_id for r in report.rows)
    assert {(skip, program_id) for _, skip, _, program_id in taken} == {(None, world.partner_program_id)}
    assert {"paid", "settled", "invalid"} <= {r.platform_status for r in report.rows}
    assert sorted((r.cause for r in report.rows), key=str) == [None] * 5 + ["amount"]
    assert all(r.diff_fen == 0 for r in report.rows if r.cause is None)
    amount = next(r for r in report.rows if r.cause == "amount")
    assert amount.diff_fen == amount.platform_commission_fen - amount.ledger_commission_fen > 0
    # the feed refunded the invalid order in full and the compensated order's line its ¥10: every refund
    # of a platform order is its feed's
    invalid = next(r for r in report.rows if r.platform_status == "invalid")
    assert [rid for rid, _ in refunds if rid.startswith(f"pdd:{invalid.external_id}:")] != []
    assert [fen for rid, fen in refunds if rid.startswith(f"pdd:{amount.external_id}:")] == [1000]
    assert all(rid.startswith("pdd:") for rid, _ in refunds)


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
