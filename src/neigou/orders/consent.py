"""A shopper's marketing consent sent with a paid order, by the API (``POST /api/v1/orders``) or the
shop's signed ``order.paid`` webhook: one rule for both.

The consent's time is checked before anything is written (a time ahead of the clock is refused,
``422 time_in_future`` on ``consent.at``); once the order is taken, a new order attributed to a member
announces the consent (``links.consent``) and ``crm.capture`` adds the shopper to that member's book,
unless they opted out. A repeat of the order (its external id taken before) announces nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from neigou.kit.ids import customer_ref_mask
from neigou.kit.instants import MoneyClock
from neigou.links.consent import announce_consent
from neigou.orders.models import Order
from neigou.orders.schemas import OrderBody


@dataclass(frozen=True, slots=True)
class OrderConsent:
    """Marketing consent given with an order: when (checked), and where (None: the order)."""

    at: datetime
    source: str | None


def given_consent(body: OrderBody, clock: MoneyClock) -> OrderConsent | None:
    """The marketing consent the order carries, its time checked against ``clock`` (refused ahead of
    it); None when it carries none or a refusal (``marketing: false``)."""
    consent = body.consent
    if consent is None or not consent.marketing:
        return None
    return OrderConsent(at=clock.at(consent.at, field="consent.at"), source=consent.source)


def record_order_consent(
    session: Session,
    *,
    order: Order,
    created: bool,
    customer_ref: str,
    consent: OrderConsent | None,
    at: datetime,
) -> None:
    """Announce the consent of a newly taken order attributed to a member; a repeat adds nothing."""
    if consent is None or not created or order.member_id is None:
        return
    announce_consent(
        session,
        program_id=order.program_id,
        member_id=order.member_id,
        link_id=None,
        customer_ref_hash=order.customer_ref_hash,
        customer_ref_masked=customer_ref_mask(customer_ref),
        via="order",
        consented_at=consent.at,
        source=consent.source,
        at=at,
    )
