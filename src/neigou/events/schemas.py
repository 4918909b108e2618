"""Request and response bodies of events."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints
from pydantic_core import PydanticCustomError

from neigou.kit.employee_numbers import MAX_INPUT, EmployeeNumber, width_folded
from neigou.kit.field_errors import INVALID_INVITATION_CODE
from neigou.kit.instants import Instant
from neigou.kit.invisible import DROP_INVISIBLE
from neigou.kit.json_ids import IdNumber
from neigou.kit.names import StrippedNameStr
from neigou.kit.refs import NamesSomeone

Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
# An employee number in its one form (``kit.employee_numbers``): ``Ｅ００１`` and `` e001 `` are ``E001``.
EmployeeNo = Annotated[str, StringConstraints(max_length=MAX_INPUT), EmployeeNumber]
Fen = Annotated[int, Field(ge=0, le=10_000_000_000, strict=True)]
_ISSUED = re.compile(r"[0-9A-Za-z]{1,64}")  # the alphabet codes are issued in (``links.codes``)


def invitation_code(value: str) -> str | None:
    """An invitation code as issued: typed full-width (``ａＢ１２`` is ``aB12``) or carrying invisible
    marks (a zero-width space a paste left, ``kit.invisible``) it is the same code; its case is kept
    (codes are base62). None when anything else is left, or nothing."""
    code = "".join(map(width_folded, value.translate(DROP_INVISIBLE))).strip()
    return code if _ISSUED.fullmatch(code) else None


def _invitation_code(value: str) -> str:
    code = invitation_code(value)
    if code is None:
        raise PydanticCustomError(INVALID_INVITATION_CODE, "an invitation code the rule refuses")
    return code


# An invitation code in the form it was issued in (``invitation_code``), else 422 ``invalid_invitation_code``.
InvitationCode = Annotated[str, StringConstraints(max_length=MAX_INPUT), AfterValidator(_invitation_code)]


class ItemBody(BaseModel):
    """A price-list line."""

    model_config = ConfigDict(extra="forbid")

    sku: Code
    price_fen: Fen
    stock: Annotated[int, Field(ge=0, le=10_000_000, strict=True)]
    per_person_limit: Annotated[int, Field(ge=1, le=10_000, strict=True)]


class EventBody(BaseModel):
    """A new event."""

    model_config = ConfigDict(extra="forbid")

    program_id: int
    name: StrippedNameStr
    starts_at: Instant
    ends_at: Instant
    guests_per_employee: Annotated[int, Field(ge=0, le=1000, strict=True)]
    hold_minutes: Annotated[int, Field(ge=1, le=10_080, strict=True)] = 15
    stream_url: (
        Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^https?://", max_length=500)] | None
    ) = None
    items: Annotated[list[ItemBody], Field(min_length=1, max_length=200)]


class CreatedOut(BaseModel):
    id: int


class EmployeeBody(BaseModel):
    """A whitelist entry."""

    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True)

    employee_no: EmployeeNo
    name: StrippedNameStr
    member_id: int | None = None


class AddedOut(BaseModel):
    added: int


class InvitationBody(BaseModel):
    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True)

    employee_no: EmployeeNo
    count: Annotated[int, Field(ge=1, le=1000, strict=True)]


class CodesOut(BaseModel):
    codes: list[str]


class ReservationBody(BaseModel):
    """A shopper reserves: an employee by number, a guest by invitation code."""

    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True)

    # A JSON number with a point or an exponent is read in exponent form (``kit.json_ids``) and, as text
    # in exponent form marked or not, refused ``invalid_customer_ref`` ("write ids as text",
    # ``kit.refs.NamesSomeone``): 13812345678.0 would be another shopper than 13812345678.
    customer_ref: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=128),
        NamesSomeone,
        IdNumber,
    ]
    employee_no: EmployeeNo | None = None
    invitation_code: InvitationCode | None = None
    link_code: Code | None = None
    sku: Code
    quantity: Annotated[int, Field(ge=1, le=10_000, strict=True)] = 1
    at: Instant | None = None
    # Idempotency key (the Idempotency-Key header works too): a retry returns the first reservation.
    request_id: Code | None = None


class ReservedOut(BaseModel):
    id: int
    price_fen: int
    expires_at: datetime


class ItemOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    sku: str
    price_fen: int
    stock: int
    per_person_limit: int
    reserved: int


class EventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    program_id: int
    code: str
    name: str
    starts_at: datetime
    ends_at: datetime
    guests_per_employee: int
    hold_minutes: int
    stream_url: str | None


class MemberGmvOut(BaseModel):
    member_id: int
    gmv_fen: int


class SkuSalesOut(BaseModel):
    sku: str
    quantity: int
    gmv_fen: int


class BoardOut(BaseModel):
    orders: int
    gmv_fen: int
    reservations: int
    top_members: list[MemberGmvOut]
    top_skus: list[SkuSalesOut]


class LiveMemberOut(MemberGmvOut):
    """A top seller on the console's live stream, with the name to show (the whitelist's, else the
    member's; None only when no such member is left)."""

    name: str | None


class LiveSkuOut(SkuSalesOut):
    """A top sku on the console's live stream, with its product's title (the sku when no product is left)."""

    title: str


class LiveBoardOut(BaseModel):
    """The board as the console's live stream sends it: ``BoardOut`` with names and titles, so an
    update never shows a bare id."""

    orders: int
    gmv_fen: int
    reservations: int
    top_members: list[LiveMemberOut]
    top_skus: list[LiveSkuOut]


class StandingOut(BaseModel):
    member_id: int
    gmv_fen: int
    rank: int


class ReportLineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    key: str
    orders: int
    gmv_fen: int
    refunded_fen: int


class ReportOut(BaseModel):
    refund_days: int
    members: list[ReportLineOut]
    employees: list[ReportLineOut]
    skus: list[ReportLineOut]
