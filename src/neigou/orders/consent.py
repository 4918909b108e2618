"""A shopper's marketing consent sent with a paid order, by the API (``POST /api/v1/orders``) or the
shop's signed ``order.paid`` webhook: one rule for both.

The consent's time is checked before anything is written (a time ahead of the clock is refused,
``422 time_in_future`` on ``consent.at``, on a retry too); once the order is taken, an order attributed
to a member announces the consent (``links.consent``) and ``crm.capture`` adds the shopper to that
member's book, unless they opted out.

A retry of the order (its external id taken before, with the same terms) may carry a consent its first
taking did not: a client that lost the first answer resends the checkout as it now stands, with the box
ticked. The consent is not one of the order's terms (``orders.inputs.Terms``: customer, link, paid_at,
lines), so a retry that differs only in it is no ``409 external_id_reused``: it is the shopper's
answer, not the sale's, it changes no money, attribution or commission, and a 409 would refuse a retry
the shop is right to send and leave the answer unrecorded. A retry's consent is announced as a
``retry``, which only fills a blank: it is recorded when the member's book holds no marketing decision
of the shopper yet, so the consent is recorded once however often the order is retried, a retry of an
order first taken with consent changes nothing (its grant, or a withdrawal since, stands), and a retry
without consent, or with ``marketing: false``, changes nothing either (a withdrawal goes through the
book or an opt-out, never through the absence of a tick). Retries at the same moment are serialized by the customer's
lock the order's ingest holds until commit (``privacy.repository.lock_customers``): the second one
finds the first one's grant.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from neigou.kit.ids import customer_ref_mask, is_tombstone
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
    return OrderConsent(at=clock.until_now(consent.at, field="consent.at"), source=consent.source)


def record_order_consent(
    session: Session,
    *,
    order: Order,
    created: bool,
    customer_ref: str,
    consent: OrderConsent | None,
    at: datetime,
) -> None:
    """Announce the consent an order attributed to a member carries: a new order's as given, a retry's
    as a ``retry`` (it only fills a blank in the book). An order whose shopper opted out since (its
    customer hash erased) announces nothing: the opt-out is the shopper's answer."""
    if consent is None or order.member_id is None or is_tombstone(order.customer_ref_hash):
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
        retry=not created,
    )
