"""Request and response bodies of the customer book: customers, consent, segments, imports, exports."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, computed_field

from neigou.crm.models import ConsentPurpose, CustomerSource, RobotVia, SpendingPower
from neigou.kit.instants import Instant
from neigou.kit.names import NoPhones, NotAPhone, StrippedNameStr
from neigou.kit.refs import NamesSomeone
from neigou.offers.schemas import Tags

# Excel's text markers (``="13812345678"``, ``'13812345678``, what spreadsheet exports hold) are dropped
# once, when the reference is hashed or masked (``kit.phones.customer_ref``), as on every other path:
# ``''13812345678`` is the customer ``'13812345678`` in the book as in orders, opt-outs and claims.
CustomerRef = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=128),
    NamesSomeone,
]
Name = StrippedNameStr
# A customer's tags and job are labels about them, stored in clear: a phone number is refused there.
CustomerTags = Annotated[Tags, NoPhones]
Job = Annotated[Name, NotAPhone]
Source = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
Category = Annotated[str, StringConstraints(min_length=1, max_length=40)]
# A birthday is a day of a life: no later than today is checked by the service, no earlier than 1900.
EARLIEST_BIRTHDAY = date(1900, 1, 1)


class ConsentGiven(BaseModel):
    """A consent decision carried by a new customer: ``marketing`` true grants, false records a refusal."""

    model_config = ConfigDict(extra="forbid")

    marketing: bool
    at: Instant | None = None
    source: Source | None = None


class CustomerCreate(BaseModel):
    """A customer the salesperson adds to their book."""

    model_config = ConfigDict(extra="forbid")

    customer_ref: CustomerRef
    name: Name | None = None
    job: Job | None = None
    spending_power: SpendingPower | None = None
    tags: CustomerTags = Field(default_factory=list)
    birthday: date | None = None
    consent: ConsentGiven | None = None


class CustomerUpdate(BaseModel):
    """Fields to change; ``null`` clears one (the reference never changes)."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    job: Job | None = None
    spending_power: SpendingPower | None = None
    tags: CustomerTags | None = None
    birthday: date | None = None


class CustomerOut(BaseModel):
    """A customer as the API shows it: the reference masked, consent as it stands now."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    program_id: int
    member_id: int
    customer_ref_masked: str
    name: str | None
    job: str | None
    spending_power: SpendingPower | None
    spending_power_derived: SpendingPower | None
    tags: list[str]
    birthday: date | None
    source: CustomerSource
    last_purchase_at: datetime | None
    last_click_at: datetime | None
    preferred_categories: list[str]
    marketing_consent: bool = False
    created_at: datetime
    updated_at: datetime

    @computed_field  # type: ignore[prop-decorator]
    @property
    def spending_power_effective(self) -> SpendingPower | None:
        """What pushes and filters use: the salesperson's setting, else the derived one."""
        return self.spending_power or self.spending_power_derived


class ConsentIn(BaseModel):
    """Record a grant (``POST …/consents``): when and where the customer agreed."""

    model_config = ConfigDict(extra="forbid")

    purpose: ConsentPurpose = ConsentPurpose.MARKETING
    at: Instant | None = None
    source: Source = "salesperson"


class WithdrawalIn(BaseModel):
    """Record a withdrawal (``POST …/consents/withdrawal``)."""

    model_config = ConfigDict(extra="forbid")

    purpose: ConsentPurpose = ConsentPurpose.MARKETING
    at: Instant | None = None


class ConsentOut(BaseModel):
    """One consent decision of the history, newest first."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    purpose: ConsentPurpose
    granted: bool
    at: datetime
    source: str
    withdrawn_at: datetime | None
    recorded_at: datetime


class ConsentsOut(BaseModel):
    """A customer's consent now, per purpose, and the history behind it."""

    marketing: bool
    history: list[ConsentOut]


class SegmentIn(BaseModel):
    """A saved filter: every criterion given must hold."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    spending_power: SpendingPower | None = None
    tags: CustomerTags = Field(default_factory=list)
    dormant_days: Annotated[int, Field(ge=0, le=3650, strict=True)] | None = None
    category: Category | None = None
    birthday_month: Annotated[int, Field(ge=1, le=12, strict=True)] | None = None


class SegmentOut(BaseModel):
    """A stored segment."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    program_id: int
    member_id: int | None
    name: str
    spending_power: SpendingPower | None
    tags: list[str]
    dormant_days: int | None
    category: str | None
    birthday_month: int | None
    created_at: datetime
    updated_at: datetime


class ImportSkipped(BaseModel):
    """A row of an import left out, and why (its customer opted out): the shape of a row error."""

    row: int
    customer: str | None
    field: str | None
    code: str
    message: str


class ImportOut(BaseModel):
    """What an import of customers did (or, in a dry run, would do): rows read, customers added, and
    the rows left out with their reason."""

    rows: int
    created: int
    skipped: list[ImportSkipped]
    dry_run: bool


class CustomerExport(BaseModel):
    """Everything the book holds about one customer (the access right): the row, its consent history
    and the messages pushed to them."""

    customer: CustomerOut
    consents: list[ConsentOut]
    messages: list[ExportedMessage]


class ExportedMessage(BaseModel):
    """A message pushed to the customer, and whose robot took it: the customer's group's (with the
    group's id) or the program's, null before a robot is tried and on the other channels; never the
    robot's URL or key."""

    model_config = ConfigDict(from_attributes=True)

    push_id: int
    sku: str
    text: str
    send_at: datetime
    status: str
    sent_at: datetime | None
    sent_via: RobotVia | None
    sent_via_group_id: int | None


class IdOut(BaseModel):
    """The id of what was made."""

    id: int


class DerivedOut(BaseModel):
    """How many customers a derivation updated."""

    customers: int
