"""Request and response bodies of the links API: share links, claims, quotes through a link."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from neigou.kit.instants import Instant
from neigou.kit.refs import NamesSomeone
from neigou.offers.schemas import Sku

LinkCode = Annotated[str, Field(min_length=6, max_length=16, pattern=r"^[0-9A-Za-z]+$")]
CustomerRef = Annotated[str, Field(min_length=1, max_length=128), NamesSomeone]
RequestId = Annotated[str, Field(min_length=1, max_length=64)]


class LinkCreate(BaseModel):
    """A share link of a member for a product, maybe with a coupon and one of the member's groups.

    ``member_id`` may be left out by a member token (the link is then the member's own).
    """

    model_config = ConfigDict(extra="forbid")

    member_id: int | None = None
    sku: Sku
    coupon_id: int | None = None
    group_id: int | None = None


class LinkUpdate(BaseModel):
    """Disable or enable a link."""

    model_config = ConfigDict(extra="forbid")

    active: bool


class LinkOut(BaseModel):
    """A share link with what it brought so far (orders arrive with the orders domain)."""

    id: int
    code: str
    url: str
    program_id: int
    member_id: int
    sku: str
    coupon_id: int | None
    group_id: int | None
    active: bool
    created_at: datetime
    clicks: int
    opens: int
    claims: int


class ShopperConsent(BaseModel):
    """The shopper's answer to "may this salesperson send me offers?", given with a claim or an order
    through the member's link; ``true`` adds them to the member's customer book with the consent."""

    model_config = ConfigDict(extra="forbid")

    marketing: bool
    at: Instant | None = None
    source: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)] | None = (
        None
    )


class ClaimCreate(BaseModel):
    """A claim of one unit of a coupon for a customer (openid or phone), through a link or not."""

    model_config = ConfigDict(extra="forbid")

    customer_ref: CustomerRef
    link_code: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    # Idempotency key (the Idempotency-Key header works too): a retry returns the first claim.
    request_id: RequestId | None = None
    consent: ShopperConsent | None = None


class ClaimOut(BaseModel):
    """A stored claim."""

    id: int
    coupon_id: int
    customer_ref_masked: str
    link_code: str | None
    member_id: int | None
    claimed_at: datetime
    replayed: bool = False


class ClaimReadOut(ClaimOut):
    """A claim read back: ``stored``, or ``queued`` behind the gate (the claim writer stores it within
    seconds, or refuses it: read again)."""

    status: Literal["stored", "queued"]
