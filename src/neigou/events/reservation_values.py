"""What a reservation reads and answers: the event's terms as a snapshot, the shopper, the ask, and
the reservation made (``reservations`` takes it through the gate or, without Redis, ``reservations_db``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from neigou.events.gate_values import Prior
from neigou.events.numbers import one_form
from neigou.events.retries import same_ask


@dataclass(frozen=True, slots=True)
class ItemTerms:
    """A price-list line as reservations need it."""

    id: int
    price_fen: int
    stock: int
    limit: int


@dataclass(frozen=True, slots=True)
class EventSnapshot:
    """What a reservation needs to know about its event."""

    id: int
    program_id: int
    starts_at: datetime
    ends_at: datetime
    hold: timedelta
    created_at: datetime
    items: dict[str, ItemTerms]


@dataclass(frozen=True, slots=True)
class Shopper:
    """Who reserves: the hashed customer reference, its mask, and how they are invited."""

    ref_hash: str
    masked: str
    employee_no: str | None = None
    invitation_code: str | None = None

    def __post_init__(self) -> None:  # the number as stored and as the gate keys it; 422 if refused
        if self.employee_no is not None:
            object.__setattr__(self, "employee_no", one_form(self.employee_no))


@dataclass(frozen=True, slots=True)
class Asked:
    """What a reservation asks for, and the caller's idempotency key."""

    sku: str
    quantity: int
    request_id: str | None = None


@dataclass(frozen=True, slots=True)
class Reserved:
    """A reservation made."""

    id: int
    price_fen: int
    expires_at: datetime


def replayed(prior: Prior, shopper: Shopper, sku: str, quantity: int) -> Reserved:
    """The first answer under a request id, when the retry asks for the same (else 422)."""
    same = same_ask(prior, customer=shopper.ref_hash, sku=sku, quantity=quantity)
    return Reserved(id=same.id, price_fen=same.price_fen, expires_at=same.expires_at.astimezone(UTC))
