"""Request and response bodies of integrations and their deliveries."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints


class IntegrationBody(BaseModel):
    """A shop feeding a program; ``outbound_url`` receives our signed commission events."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
    outbound_url: Annotated[str, StringConstraints(max_length=500, pattern=r"^https?://\S+$")] | None = None


class IntegrationOut(BaseModel):
    """An integration; the secrets appear only in the answer that created it."""

    id: int
    program_id: int
    name: str
    # Host and path only: a token in the URL's query is never shown.
    outbound_url: str | None
    active: bool
    created_at: datetime
    inbound_secret: str | None = None
    outbound_secret: str | None = None


class DeliveryOut(BaseModel):
    """An outbound event and how its delivery went."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    event_id: str
    event_type: str
    status: str
    attempts: int
    last_http_status: int | None
    last_error: str | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    created_at: datetime
