"""Request and response bodies of the privacy API: no clear customer reference is ever answered."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from neigou.kit.instants import Instant
from neigou.kit.refs import NamesSomeoneStored

MAX_ID = 2**63 - 1  # the database's bigint: a larger id is refused as invalid, never a 500
CustomerRef = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128), NamesSomeoneStored
]
# Printable text only: control characters (NUL among them) cannot be stored by PostgreSQL.
RequestId = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$")
]
RowId = Annotated[int, Field(ge=1, le=MAX_ID)]


class OptOutIn(BaseModel):
    """A shopper's opt-out as the shop relays it; ``request_id`` makes a retry safe."""

    model_config = ConfigDict(extra="forbid")

    customer_ref: CustomerRef
    program_id: RowId | None = None
    request_id: RequestId
    at: Instant | None = None


class ErasedOut(BaseModel):
    """Rows erased or redacted, per kind."""

    touches: int
    bindings: int
    visitors: int
    clicks: int
    claims: int
    claim_counters: int
    orders: int
    members: int
    # The customer book (opt-outs recorded before it existed count none).
    customers: int = 0
    consents: int = 0
    push_messages: int = 0
    # Audit entries of those customers whose values were redacted (opt-outs recorded before counted none).
    audit_entries: int = 0
    # Employee-purchase events (opt-outs recorded before they were erased count none).
    event_reservations: int = 0
    event_counts: int = 0
    event_invitations: int = 0
    event_employees: int = 0


class OptOutOut(BaseModel):
    """An opt-out as recorded. ``platform_wide``: a platform administrator's opt-out of every
    program, which applies to every organization; an organization's operators get its ``erased``
    as null (it counts rows of every organization)."""

    id: int
    request_id: str
    program_id: int | None
    requested_at: datetime
    actor_kind: str
    platform_wide: bool
    erased: ErasedOut | None
