"""Customers the member's links bring: a shopper who claims or orders through a member's link and
consents to marketing (``links.consent.CONSENTED``) joins that member's book, in the transaction of
the claim or order, with their consent recorded (source ``claim`` or ``order`` unless the shop names
one). A shopper already in the book gets the grant recorded when none stands. A shopper who opted
out (of the program or of all) is left out: the opt-out's suppression list wins over a later tick.

A consent sent again with a retry of an order first taken without it (``retry``) only fills a blank:
it is recorded when the shopper is new to the book or has no marketing decision there yet. A retry is
late news of a checkout: a decision the book already holds (a grant the order's first taking recorded,
a withdrawal since, a decision from elsewhere) stands, so a retry never undoes a withdrawal.

Nor does any checkout dated at or before the customer's latest withdrawal or refusal: an order paid
before the withdrawal that arrives after it records no grant (``service.predates_refusal``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from neigou.crm import repository as repo
from neigou.crm import service
from neigou.crm.models import ConsentPurpose, Customer, CustomerSource
from neigou.kit.events import Event, listen
from neigou.links.consent import CONSENTED
from neigou.privacy.repository import suppressed
from neigou.programs.models import Member


@listen(CONSENTED)
def add_consenting_customer(session: Session, event: Event) -> None:
    """Add the consenting shopper to the member's book, or record the grant for one it holds."""
    data = event.data
    member = session.get(Member, int(data["member_id"]))
    ref_hash = str(data["customer_ref_hash"])
    if member is None or suppressed(session, [(member.program_id, ref_hash)]):
        return
    consented_at = datetime.fromisoformat(str(data["consented_at"]))
    customer = repo.customer_by_ref(session, member.id, ref_hash)
    if customer is None:
        customer = Customer(
            program_id=member.program_id,
            member_id=member.id,
            customer_ref_hash=ref_hash,
            customer_ref_masked=str(data["customer_ref_masked"]),
            tags=[],
            source=CustomerSource(str(data["via"])),
            source_link_id=data.get("link_id"),
            preferred_categories=[],
            created_at=event.at,
            updated_at=event.at,
        )
        try:
            with session.begin_nested():
                session.add(customer)
                session.flush()
        except IntegrityError:  # added by a request at the same moment: record the grant on it
            customer = repo.customer_by_ref(session, member.id, ref_hash)
            if customer is None:
                raise
    if data.get("retry") and repo.current_consent(session, customer.id, ConsentPurpose.MARKETING) is not None:
        return
    if repo.marketing_consents(session, [customer.id]).get(customer.id, False):
        return
    if service.predates_refusal(
        session, customer=customer, purpose=ConsentPurpose.MARKETING, at=consented_at
    ):
        return  # a checkout that arrives late, dated before the customer's later "no": it stands
    service.grant(
        session,
        customer=customer,
        purpose=ConsentPurpose.MARKETING,
        at=consented_at,
        source=str(data["source"]),
        recorded_at=event.at,
    )
