"""Who reaches a customer: an operator of the program's organization, or the member whose book holds it."""

from __future__ import annotations

from sqlalchemy.orm import Session

from neigou.auth.models import Role
from neigou.auth.service import Principal
from neigou.crm.models import Customer
from neigou.kit.errors import NotFound
from neigou.kit.i18n import Message


def require_customer(session: Session, principal: Principal, customer_id: int) -> Customer:
    """The customer, or a 404 ``customer_not_found`` (also for another member's customer: a member
    does not learn that someone else's customer exists)."""
    customer = session.get(Customer, customer_id)
    if customer is None or (principal.role is Role.MEMBER and customer.member_id != principal.member_id):
        raise NotFound(
            Message("Customer {customer_id} does not exist.", customer_id=customer_id),
            code="customer_not_found",
        )
    return customer
