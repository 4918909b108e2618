"""What the customer book derives from the program's orders and touches, per program, set-based:

- ``last_purchase_at``: the customer's latest order attributed to the member whose book holds them
  (a salesperson never sees when the customer bought through another); ``last_click_at``: their
  latest identified click or claim through a link of the program (``attribution_touches``);
- ``spending_power_derived``: the customer's net spend (paid less refunded) over the last 365 days,
  placed among every buyer of the program: the top third of buyers is ``high``, the bottom third
  ``low``, the rest ``mid`` (ties share a rank). A program with fewer than three buyers, or a customer
  without orders, derives none;
- ``preferred_categories``: the categories of the products the customer bought in orders attributed
  to the member whose book holds them, most units first (at most three; ties by category code).

Each of the first three is one ``UPDATE`` with correlated subqueries; the categories are one grouped
query and one executemany. Runs nightly (``crm.derive_nightly``) and on demand for a program.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, literal, select, update
from sqlalchemy.orm import Session

from neigou.crm.models import Customer, SpendingPower
from neigou.kit.jobs import job
from neigou.links.models import Touch
from neigou.offers.models import Category, Product
from neigou.orders.models import Order, OrderLine
from neigou.programs.models import Program

SPEND_WINDOW = timedelta(days=365)
MIN_BUYERS = 3
TOP_CATEGORIES = 3


def _spending_power(program_id: int, at: datetime) -> Any:
    """A correlated scalar: the customer's tier among the program's buyers, or NULL."""
    spend = (
        select(
            Order.customer_ref_hash.label("ref"),
            func.sum(Order.paid_fen - Order.refunded_fen).label("spent"),
        )
        .where(Order.program_id == program_id, Order.paid_at > at - SPEND_WINDOW, Order.paid_at <= at)
        .group_by(Order.customer_ref_hash)
        .subquery()
    )
    ranked = select(
        spend.c.ref,
        func.rank().over(order_by=spend.c.spent).label("r"),
        func.count().over().label("n"),
    ).subquery()
    # rank r of n buyers (1 = least): the top third has 3(r-1) >= 2(n-1), the bottom 3(r-1) < n-1.
    tier = case(
        (ranked.c.n < MIN_BUYERS, literal(None)),
        (3 * (ranked.c.r - 1) >= 2 * (ranked.c.n - 1), literal(SpendingPower.HIGH.value)),
        (3 * (ranked.c.r - 1) < ranked.c.n - 1, literal(SpendingPower.LOW.value)),
        else_=literal(SpendingPower.MID.value),
    )
    return select(tier).where(ranked.c.ref == Customer.customer_ref_hash).scalar_subquery()


def derive_program(session: Session, *, program_id: int, at: datetime) -> int:
    """Derive last purchase, last click, spending power and preferred categories for every customer
    of the program (not erased); how many customers were updated."""
    mine = and_(Customer.program_id == program_id, Customer.erased_at.is_(None))
    last_purchase = (
        select(func.max(Order.paid_at))
        .where(
            Order.program_id == program_id,
            Order.customer_ref_hash == Customer.customer_ref_hash,
            Order.member_id == Customer.member_id,
            Order.paid_at <= at,
        )
        .scalar_subquery()
    )
    last_click = (
        select(func.max(Touch.touched_at))
        .where(
            Touch.program_id == program_id,
            Touch.customer_ref_hash == Customer.customer_ref_hash,
            Touch.touched_at <= at,
        )
        .scalar_subquery()
    )
    result = session.execute(
        update(Customer)
        .where(mine)
        .values(
            last_purchase_at=last_purchase,
            last_click_at=last_click,
            spending_power_derived=_spending_power(program_id, at),
            derived_at=at,
        )
        .execution_options(synchronize_session=False)
    )
    _derive_categories(session, program_id=program_id, at=at)
    session.expire_all()
    return int(getattr(result, "rowcount", 0) or 0)


def _derive_categories(session: Session, *, program_id: int, at: datetime) -> None:
    units = func.sum(OrderLine.quantity)
    rows = session.execute(
        select(Customer.id, Category.code, units)
        .join(
            Order,
            and_(
                Order.program_id == Customer.program_id,
                Order.customer_ref_hash == Customer.customer_ref_hash,
                Order.member_id == Customer.member_id,
            ),
        )
        .join(OrderLine, OrderLine.order_id == Order.id)
        .join(Program, Program.id == Order.program_id)
        .join(Product, and_(Product.sku == OrderLine.sku, Product.organization_id == Program.organization_id))
        .join(Category, Category.id == Product.category_id)
        .where(Customer.program_id == program_id, Customer.erased_at.is_(None), Order.paid_at <= at)
        .group_by(Customer.id, Category.code)
        .order_by(Customer.id, units.desc(), Category.code)
    )
    preferred: dict[int, list[str]] = {}
    for customer_id, code, _units in rows:
        codes = preferred.setdefault(customer_id, [])
        if len(codes) < TOP_CATEGORIES:
            codes.append(code)
    session.execute(
        update(Customer)
        .where(Customer.program_id == program_id)
        .values(preferred_categories=[])
        .execution_options(synchronize_session=False)
    )
    if preferred:
        session.execute(
            update(Customer),
            [{"id": customer_id, "preferred_categories": codes} for customer_id, codes in preferred.items()],
        )


@job("crm.derive_nightly", cron={"minute": "40", "hour": "18"}, retry_scheduled=True)
def derive_nightly(session: Session, _payload: dict[str, Any], at: datetime) -> None:
    """Every night (02:40 in China): what every program's customer books derive from orders and clicks."""
    for program_id in session.scalars(select(Program.id).order_by(Program.id)):
        derive_program(session, program_id=program_id, at=at)
