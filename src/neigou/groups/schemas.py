"""Request and response bodies of the groups API."""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from neigou.groups.models import CountReview, DeliveryStatus, GroupPlatform, GroupStatus, RobotAlertStatus
from neigou.kit.field_errors import BLANK_EXTERNAL_ID, INVALID_EXTERNAL_ID
from neigou.kit.ids import blank, canonical
from neigou.kit.instants import Instant
from neigou.kit.invisible import IGNORABLE
from neigou.kit.names import VisibleNameStr

# The longest platform group id (``chat_groups.external_id``), checked on its canonical form.
MAX_EXTERNAL_ID = 120


def external_id_form(value: str) -> str:
    """A platform's group id in its one stored form (``kit.ids.canonical``: NFKC, so full-width forms
    are their ASCII ones, trimmed of white space and invisible marks at either end): ``wrOg…``,
    `` wrOg…`` and ``ｗｒＯｇ…`` are one id. Raises ``ValueError`` with the refusal's code for an id of
    nothing visible (``blank_external_id``) or still holding an invisible mark (``invalid_external_id``)."""
    if blank(value):
        raise ValueError(BLANK_EXTERNAL_ID)
    form = canonical(value)
    if not form.isascii() and not IGNORABLE.isdisjoint(form):
        raise ValueError(INVALID_EXTERNAL_ID)
    return form


def _external_id(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        form = external_id_form(value)
    except ValueError as refused:
        raise PydanticCustomError(str(refused), "a platform id the rule refuses") from None
    if len(form) > MAX_EXTERNAL_ID:
        raise PydanticCustomError(
            "string_too_long",
            "String should have at most {max_length} characters",
            {"max_length": MAX_EXTERNAL_ID},
        )
    return form


ExternalId = Annotated[str, Field(min_length=1, max_length=4 * MAX_EXTERNAL_ID), AfterValidator(_external_id)]
"""A platform group id as sent, given in its one stored form (``external_id_form``)."""


class GroupCreate(BaseModel):
    """A new chat group; a member creating their own may leave out ``owner_member_id``."""

    model_config = ConfigDict(extra="forbid")

    owner_member_id: int | None = None
    name: VisibleNameStr
    platform: GroupPlatform
    external_id: ExternalId | None = None
    status: GroupStatus = GroupStatus.ACTIVE


class _CheckedExternalId(BaseModel):
    external_id: ExternalId


class GroupUpdate(BaseModel):
    """Rename, archive, re-identify or (operators only) hand over a group to another member of its
    program; fields left out stay as they are. ``external_id`` is as sent until :meth:`checked` against
    the group's stored one."""

    model_config = ConfigDict(extra="forbid")

    name: VisibleNameStr | None = None
    status: GroupStatus | None = None
    external_id: Annotated[str, Field(min_length=1, max_length=4 * MAX_EXTERNAL_ID)] | None = None
    owner_member_id: int | None = None

    def checked(self, stored: str | None) -> GroupUpdate:
        """This change with its ``external_id`` in its one form (``ExternalId``: raises
        ``ValidationError`` where the rule refuses it), checked only when it is another than ``stored``:
        the stored id sent back unchanged (a form fills it in) is left out, so a group whose id was stored
        before the rule, with an invisible mark inside it, can still be renamed or archived."""
        changes = self.model_dump(exclude_unset=True)
        sent = changes.get("external_id")
        if sent is not None and sent == stored:
            del changes["external_id"]
        elif sent is not None:
            changes["external_id"] = _CheckedExternalId.model_validate({"external_id": sent}).external_id
        return GroupUpdate.model_construct(set(changes), **changes)


class GroupOut(BaseModel):
    """A group as the API shows it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    program_id: int
    owner_member_id: int
    name: str
    platform: GroupPlatform
    external_id: str | None
    status: GroupStatus
    created_at: dt.datetime
    updated_at: dt.datetime


class CountIn(BaseModel):
    """One observation of a group's member count."""

    model_config = ConfigDict(extra="forbid")

    member_count: int = Field(ge=0, le=100_000)
    observed_at: Instant


class CountOut(BaseModel):
    """A stored observation; ``review`` says whether it counts towards compliance."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    group_id: int
    member_count: int
    observed_at: dt.datetime
    recorded_at: dt.datetime
    source: str
    review: CountReview
    review_reason: str | None
    reviewed_at: dt.datetime | None


class ReviewIn(BaseModel):
    """An operator's decision on a count held for review."""

    model_config = ConfigDict(extra="forbid")

    accept: bool


class TargetPointIn(BaseModel):
    """``min_members`` required from ``date`` on."""

    model_config = ConfigDict(extra="forbid")

    date: dt.date
    min_members: int = Field(ge=0, le=100_000)


class TargetsIn(BaseModel):
    """A target schedule; it applies from ``starts_on`` (default: its first point's date)."""

    model_config = ConfigDict(extra="forbid")

    points: list[TargetPointIn] = Field(min_length=1, max_length=100)
    daily_increase_after: int = Field(default=0, ge=0, le=10_000)
    starts_on: dt.date | None = None


class ScheduleOut(BaseModel):
    """A stored schedule."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    program_id: int
    starts_on: dt.date
    points: list[TargetPointIn]
    daily_increase_after: int
    created_at: dt.datetime
    updated_at: dt.datetime


class ForecastOut(BaseModel):
    """At this pace the group has ``projected`` members on ``date``, ``short_by`` below target."""

    date: dt.date
    required: int
    projected: int
    short_by: int
    at_risk: bool
    pace_per_week: int | None


class GroupStandingOut(BaseModel):
    """One group's compliance on the date."""

    group_id: int
    name: str
    platform: GroupPlatform
    owner_member_id: int
    owner_name: str
    required: int | None
    actual: int | None
    observed_at: dt.datetime | None
    met: bool
    forecast: ForecastOut | None


class OwnerSummaryOut(BaseModel):
    """One owner's groups on the date."""

    owner_member_id: int
    owner_name: str
    groups: int
    met: int
    missed: int
    at_risk: int
    members: int


class ComplianceSummaryOut(BaseModel):
    """The program's groups on the date at a glance."""

    groups: int
    met: int
    missed: int
    without_count: int
    at_risk: int
    members: int


class CheckpointOut(BaseModel):
    """The next date forecasts are judged against and its requirement."""

    date: dt.date
    required: int


class ComplianceOut(BaseModel):
    """Required against actual for every active group on ``date`` (program time zone)."""

    program_id: int
    date: dt.date
    timezone: str
    required: int | None
    checkpoint: CheckpointOut | None
    groups: list[GroupStandingOut]
    owners: list[OwnerSummaryOut]
    at_risk: list[int]
    summary: ComplianceSummaryOut


class SettingsIn(BaseModel):
    """Alert webhook and plausibility thresholds of a program; fields left out stay as they are."""

    model_config = ConfigDict(extra="forbid")

    webhook_url: str | None = Field(default=None, max_length=500, pattern=r"^https?://\S+$")
    webhook_secret: str | None = Field(default=None, max_length=200)
    size_limits: dict[GroupPlatform, int | None] | None = None
    jump_members_per_day: int | None = Field(default=None, ge=1, le=100_000)
    jump_bp_per_day: int | None = Field(default=None, ge=1, le=1_000_000)

    @field_validator("webhook_url")
    @classmethod
    def _parsable(cls, value: str | None) -> str | None:
        # urlsplit refuses a host that NFKC would change (full-width "＠"): a 422, never a 500 later.
        if value:
            urlsplit(value)
        return value


class SettingsOut(BaseModel):
    """Effective settings; the webhook key and secret are never shown back."""

    program_id: int
    webhook_configured: bool
    webhook_url_masked: str | None
    signed: bool
    size_limits: dict[str, int | None]
    jump_members_per_day: int
    jump_bp_per_day: int


class ImportIn(BaseModel):
    """A member-count CSV sent as text (see ``groups.csv_rows`` for the columns)."""

    model_config = ConfigDict(extra="forbid")

    csv: str = Field(max_length=20_000_000)


class ImportOut(BaseModel):
    """What an import stored: new observations, held ones, and repeats of stored ones."""

    imported: int
    needs_review: int
    duplicates: int


class AlertOut(BaseModel):
    """A group listed in a daily alert."""

    id: int
    group_id: int
    owner_member_id: int
    date: dt.date
    kind: str
    required: int
    actual: int | None
    checkpoint: dt.date | None
    projected: int | None


class AlertsOut(BaseModel):
    """A program's alerts for a date and what happened to the message."""

    date: dt.date
    delivery: DeliveryStatus | None
    alerts: list[AlertOut]


class AlertRunIn(BaseModel):
    """Build and send the alert for ``date`` now (once per program and date)."""

    model_config = ConfigDict(extra="forbid")

    date: dt.date


class AlertRunOut(BaseModel):
    """The queued alert job."""

    key: str
    queued: bool


class LiveCodeCreate(BaseModel):
    """A live code over an owner's groups, in rotation order."""

    model_config = ConfigDict(extra="forbid")

    owner_member_id: int
    group_ids: list[int] = Field(min_length=1, max_length=50)
    capacity: int = Field(ge=1, le=100_000)


class LiveCodeGroupOut(BaseModel):
    """A group behind a live code: its latest count, its scans, whether its QR is uploaded."""

    group_id: int
    name: str
    latest_count: int | None
    full: bool
    scans: int
    has_qr: bool


class LiveCodeRobotAlertOut(BaseModel):
    """The group robot message of a live code's latest "all groups full" alert: pending (retried with
    backoff), sent, failed (gave up after its attempts) or no_robot; ``detail`` is the robot's last
    answer."""

    alert_id: int
    full_since: dt.datetime
    status: RobotAlertStatus
    attempts: int
    next_attempt_at: dt.datetime | None
    sent_at: dt.datetime | None
    detail: str | None


class LiveCodeOut(BaseModel):
    """A live code: its public link, its groups, whether every group is full and the robot message of
    its latest full alert."""

    id: int
    code: str
    url: str
    owner_member_id: int
    capacity: int
    all_full: bool
    full_since: dt.datetime | None
    full_scans: int
    groups: list[LiveCodeGroupOut]
    robot_alert: LiveCodeRobotAlertOut | None = None
