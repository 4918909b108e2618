"""What the reservation gate holds and answers, as values: an event's state seeded from the database
(``Seed``), the reservation a request id made (``Prior``) and the reserve script's answer
(``GateResult``); reservation ids made from stream ids (``reservation_id``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from neigou.kit.streams import id_from_stream

# Reservation ids are made from stream ids (``kit.streams.id_from_stream``) counted from this epoch.
ID_EPOCH_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z


@dataclass(frozen=True)
class Seed:
    """An event's state as the database holds it (``seeds.seed_state`` reads it)."""

    stock: dict[str, int]
    customers: dict[str, int]
    employees: dict[str, str]  # number → the shopper bound to it, or ""
    invitations: dict[str, str]
    requests: dict[str, str] = field(default_factory=dict)  # request id → ``Prior.held`` of a stored one
    # Reservations a refund released, read in the counters' snapshot (``seeds.seed_state``): their units
    # are already off the counters read, so a refund's give-back skips them (``gate_scripts.REFUND_SCRIPT``).
    released: tuple[int, ...] = ()


@dataclass(frozen=True)
class Prior:
    """The reservation a request id made, as the gate keeps it: enough to answer a retry and to tell
    a retry from another reservation under the same key."""

    id: int
    customer: str
    quantity: int
    price_fen: int
    expires_at: datetime
    sku: str

    @staticmethod
    def terms(customer: str, quantity: int, price_fen: int, expires_at: datetime, sku: str) -> str:
        """What is kept after the id (the sku last: it may hold ``|``)."""
        return f"{customer}|{quantity}|{price_fen}|{expires_at.isoformat()}|{sku}"

    @classmethod
    def held(cls, reservation: int, terms: str) -> str:
        """The value of a stored reservation (``#`` and its id where the script writes a stream id)."""
        return f"#{reservation}|{terms}"

    @classmethod
    def parse(cls, value: str) -> Prior:
        made, customer, quantity, price, expires, sku = value.split("|", 5)
        number = int(made[1:]) if made.startswith("#") else reservation_id(made)
        return cls(number, customer, int(quantity), int(price), datetime.fromisoformat(expires), sku)


_CODES = {
    1: "taken",
    2: "replayed",
    -1: "limit_reached",
    -2: "sold_out",
    -3: "not_seeded",
    -4: "not_invited",
    -5: "employee_no_taken",
    -6: "already_invited",
    -7: "already_guest",
    -8: "already_employee",
}


class GateResult:
    """What the script answered: ``code`` (taken, replayed, limit_reached, sold_out, not_seeded,
    not_invited, employee_no_taken, already_invited, already_guest, already_employee)."""

    def __init__(self, answer: list[Any]) -> None:
        self.code = _CODES[int(answer[0])]
        self.stream_id = answer[1].decode() if len(answer) > 1 and self.code == "taken" else None
        self.prior = Prior.parse(answer[1].decode()) if self.code == "replayed" else None

    @property
    def reservation_id(self) -> int:
        """The reservation's id, made from its stream entry's id."""
        assert self.stream_id is not None
        return reservation_id(self.stream_id)


def reservation_id(stream_id: str) -> int:
    """The id of the reservation recorded under a stream id."""
    return id_from_stream(stream_id, ID_EPOCH_MS)
