"""Dormancy, one definition wherever a customer is called dormant: the book's ``dormant_days`` filter
and saved segments (``crm.repository``), today's tasks in the workspace, and the program's dormant
customers in the push report (``crm.push_engagement``).

A customer is dormant ``days`` days after their latest sign of life in their program: entering the
book, an identified click or claim through a link of the program (a touch), or an order. It is read
live from touches and orders, never from ``last_click_at`` / ``last_purchase_at``, which are what the
nightly derive last saw (shown on the customer's card). An activity at ``at − days`` or later counts.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, select

from neigou.crm.models import Customer
from neigou.links.models import Touch
from neigou.orders.models import Order

DORMANT_DAYS = 30  # what today's tasks and the console's push report call dormant


def dormant(*, program_id: int | ColumnElement[Any], days: int, at: datetime) -> ColumnElement[bool]:
    """Customers of ``program_id`` with no sign of life since ``at − days`` (two uncorrelated
    subqueries, each run once, whatever the size of the book)."""
    since = at - timedelta(days=days)
    touched = select(Touch.customer_ref_hash).where(Touch.program_id == program_id, Touch.touched_at >= since)
    ordered = select(Order.customer_ref_hash).where(Order.program_id == program_id, Order.paid_at >= since)
    return and_(
        Customer.created_at < since,
        Customer.customer_ref_hash.not_in(touched),
        Customer.customer_ref_hash.not_in(ordered),
    )
