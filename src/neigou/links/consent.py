"""A shopper's marketing consent given with a claim or an order through a member's link.

Links and orders do not know the customer book above them: they announce the consent
(``customer.consented``, ``kit.events``) and ``crm.capture`` adds the shopper to the member's book in
the same transaction. A claim taken behind the stock gate carries its consent (:class:`GivenConsent`)
in the claim stream: the claim writer announces it in the transaction that stores the claim, under
the customer's lock (``privacy.repository.lock_customers``), never in the request. A consent sent
again with a retry of an order first taken without it is announced as ``retry``: it may fill a blank
in the book, never override a decision recorded there (``crm.capture``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from neigou.kit.events import Event, publish

CONSENTED = "customer.consented"


@dataclass(frozen=True, slots=True)
class GivenConsent:
    """Marketing consent given with a claim taken behind the stock gate: when, and where (None: the
    claim). The claim writer announces it when it stores the claim (``claim_stream``)."""

    at: datetime
    source: str | None


def announce_consent(
    session: Session,
    *,
    program_id: int,
    member_id: int,
    link_id: int | None,
    customer_ref_hash: str,
    customer_ref_masked: str,
    via: str,
    consented_at: datetime,
    source: str | None,
    at: datetime,
    retry: bool = False,
) -> None:
    """Tell the customer book that this shopper consented to the member's marketing (``via`` is
    ``claim`` or ``order``; ``retry``: sent again with a retry of what was first taken without it)."""
    data = {
        "program_id": program_id,
        "member_id": member_id,
        "link_id": link_id,
        "customer_ref_hash": customer_ref_hash,
        "customer_ref_masked": customer_ref_masked,
        "via": via,
        "consented_at": consented_at.isoformat(),
        "source": source or via,
        "retry": retry,
    }
    publish(session, Event(type=CONSENTED, at=at, data=data))
