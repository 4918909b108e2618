"""Every query of the risk domain's own tables (the rules' context is in ``risk.context``)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session

from neigou.kit.paging import Page, Paged, Sortable, paginate
from neigou.orders.models import Commission, Order
from neigou.risk.models import CaseOrder, CaseStatus, RiskCase, RiskSettings, Severity


def _cases(program_id: int, status: CaseStatus | None, member_id: int | None) -> Select[RiskCase]:
    query = select(RiskCase).where(RiskCase.program_id == program_id)
    if status is not None:
        query = query.where(RiskCase.status == status)
    if member_id is not None:
        query = query.where(RiskCase.member_id == member_id)
    return query.order_by(RiskCase.id.desc())


SORTS: dict[str, Sortable] = {
    "opened": RiskCase.opened_at,
    "held": RiskCase.held_fen,
    "severity": case({Severity.LOW: 1, Severity.MEDIUM: 2, Severity.HIGH: 3}, value=RiskCase.severity),
    "rule": RiskCase.rule,
}
SEARCH: tuple[Sortable, ...] = (RiskCase.rule, RiskCase.subject)


def cases_statement(*, program_id: int, status: CaseStatus, severity: Severity | None) -> Select[RiskCase]:
    """A program's cases of one status (and severity), newest first: the console's review queue."""
    stmt = _cases(program_id, status, None)
    return stmt if severity is None else stmt.where(RiskCase.severity == severity)


def page_cases(
    session: Session,
    page: Page,
    *,
    program_id: int,
    status: CaseStatus | None = None,
    member_id: int | None = None,
) -> Paged[RiskCase]:
    """A program's cases, newest first."""
    return paginate(session, _cases(program_id, status, member_id), page)


def order_ids_of(session: Session, case_ids: Sequence[int]) -> dict[int, list[int]]:
    """Each case's held orders, in one query."""
    out: dict[int, list[int]] = {i: [] for i in case_ids}
    if not case_ids:
        return out
    rows = session.execute(
        select(CaseOrder.case_id, CaseOrder.order_id)
        .where(CaseOrder.case_id.in_(case_ids))
        .order_by(CaseOrder.order_id)
    )
    for case_id, order_id in rows:
        out[int(case_id)].append(int(order_id))
    return out


def external_ids_of(session: Session, order_ids: Sequence[int]) -> dict[int, str]:
    """Shop order ids by our id (what the review page shows)."""
    if not order_ids:
        return {}
    return {
        int(i): str(e)
        for i, e in session.execute(select(Order.id, Order.external_id).where(Order.id.in_(order_ids)))
    }


def cases_with_subject(
    session: Session, *, program_id: int, rule: str, subjects: Sequence[str]
) -> list[RiskCase]:
    """Every case of ``rule`` about these subjects, oldest first."""
    if not subjects:
        return []
    return list(
        session.scalars(
            select(RiskCase)
            .where(RiskCase.program_id == program_id, RiskCase.rule == rule, RiskCase.subject.in_(subjects))
            .order_by(RiskCase.id)
        )
    )


def lock_cases(session: Session, case_ids: Sequence[int]) -> None:
    """Lock these cases until commit, in id order, and refresh what this session loaded of them: a
    decision in progress (``risk.review`` locks its case first) commits before this returns, and its
    status is then seen."""
    if not case_ids:
        return
    session.scalars(
        select(RiskCase)
        .where(RiskCase.id.in_(sorted(set(case_ids))))
        .order_by(RiskCase.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()


def orders_in_rule(session: Session, *, program_id: int, rule: str, order_ids: Sequence[int]) -> set[int]:
    """Which of ``order_ids`` some case of ``rule`` already names."""
    if not order_ids:
        return set()
    return set(
        session.scalars(
            select(CaseOrder.order_id)
            .join(RiskCase, RiskCase.id == CaseOrder.case_id)
            .where(
                RiskCase.program_id == program_id, RiskCase.rule == rule, CaseOrder.order_id.in_(order_ids)
            )
        )
    )


def remaining_commission(session: Session, case_id: int) -> int:
    """What the case's orders still pay (every level, net of refunds): what it holds."""
    return int(
        session.scalar(
            select(func.coalesce(func.sum(Commission.amount_fen - Commission.reversed_fen), 0))
            .join(CaseOrder, CaseOrder.order_id == Commission.order_id)
            .where(CaseOrder.case_id == case_id)
        )
        or 0
    )


def remaining_commission_of(session: Session, case_ids: Sequence[int]) -> dict[int, int]:
    """What each case's orders still pay, for many cases in one query."""
    if not case_ids:
        return {}
    rows = session.execute(
        select(CaseOrder.case_id, func.sum(Commission.amount_fen - Commission.reversed_fen))
        .join(Commission, Commission.order_id == CaseOrder.order_id)
        .where(CaseOrder.case_id.in_(case_ids))
        .group_by(CaseOrder.case_id)
    )
    out = {int(i): 0 for i in case_ids}
    out.update({int(i): int(fen or 0) for i, fen in rows})
    return out


def stored_thresholds(session: Session, program_id: int) -> RiskSettings | None:
    """The program's stored thresholds row, if any."""
    return session.get(RiskSettings, program_id)


def member_history(session: Session, member_id: int) -> dict[str, int]:
    """A member's record for the reviewer: orders, paid, refunded and earned, and past cases."""
    orders = session.execute(
        select(
            func.count(Order.id),
            func.coalesce(func.sum(Order.paid_fen), 0),
            func.coalesce(func.sum(Order.refunded_fen), 0),
        ).where(Order.member_id == member_id)
    ).one()
    earned = session.scalar(
        select(func.coalesce(func.sum(Commission.amount_fen - Commission.reversed_fen), 0)).where(
            Commission.member_id == member_id
        )
    )
    by_status = dict(
        session.execute(
            select(RiskCase.status, func.count(RiskCase.id))
            .where(RiskCase.member_id == member_id)
            .group_by(RiskCase.status)
        ).all()
    )
    return {
        "orders": int(orders[0]),
        "paid_fen": int(orders[1]),
        "refunded_fen": int(orders[2]),
        "commission_fen": int(earned or 0),
        "cases_open": int(by_status.get(CaseStatus.OPEN, 0)),
        "cases_cleared": int(by_status.get(CaseStatus.CLEARED, 0)),
        "cases_confirmed": int(by_status.get(CaseStatus.CONFIRMED, 0)),
    }


def status_counts(session: Session, program_id: int) -> dict[str, int]:
    """How many cases the program has in each status."""
    rows = session.execute(
        select(RiskCase.status, func.count(RiskCase.id))
        .where(RiskCase.program_id == program_id)
        .group_by(RiskCase.status)
    )
    return {CaseStatus(s).value: int(n) for s, n in rows}
