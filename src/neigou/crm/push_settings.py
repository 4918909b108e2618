"""A program's push settings: channel, frequency cap, quiet hours and the robot's or webhook's target.

A program without a row has the defaults (task list, 2 pushes in 7 days, quiet 22:00–08:00). The
target URL carries the robot's key, so it is sealed (``kit.sealed``) and shown masked; a webhook's
signing secret is made here and shown once, when the channel first becomes ``webhook``. The webhook
channel needs a target; the robot channel delivers only through the robot of each customer's own group
and never uses the target (a robot message is never posted to the program's robot group), so it refuses
one (a target stored before this rule is kept, unused, until it is removed with "").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time

from sqlalchemy.orm import Session

from neigou.audit import service as audit
from neigou.crm.models import (
    DEFAULT_CAP_DAYS,
    DEFAULT_CAP_PUSHES,
    DEFAULT_CHANNEL,
    DEFAULT_QUIET_END,
    DEFAULT_QUIET_START,
    TARGET_MASKED_LENGTH,
    CrmSettings,
    PushChannel,
)
from neigou.crm.push_rules import Cap, QuietHours
from neigou.groups.webhook import require_sendable
from neigou.integrations import standard
from neigou.kit.actor import Actor
from neigou.kit.db import row_to_put
from neigou.kit.errors import Invalid
from neigou.kit.i18n import Message
from neigou.kit.sealed import Sealer
from neigou.kit.urls import masked_url

ROBOT_TAKES_NO_TARGET = Message(
    "The WeCom group robot channel takes no target URL: each message goes only to the robot of its "
    "customer's own group."
)


@dataclass(frozen=True)
class PushSettings:
    """The settings a push and its delivery read (the defaults when the program has no row)."""

    program_id: int
    channel: PushChannel
    cap: Cap
    quiet: QuietHours
    target_masked: str | None
    target_sealed: str | None
    secret_sealed: str | None


@dataclass(frozen=True)
class SettingsChange:
    """An operator's new settings; ``target`` None keeps the stored one, "" removes it."""

    channel: PushChannel
    cap_pushes: int
    cap_days: int
    quiet_start: time
    quiet_end: time
    target: str | None


def read(session: Session, program_id: int) -> PushSettings:
    """The program's settings, or the defaults."""
    row = session.get(CrmSettings, program_id)
    if row is None:
        return PushSettings(
            program_id,
            DEFAULT_CHANNEL,
            Cap(DEFAULT_CAP_PUSHES, DEFAULT_CAP_DAYS),
            QuietHours(DEFAULT_QUIET_START, DEFAULT_QUIET_END),
            None,
            None,
            None,
        )
    return PushSettings(
        program_id,
        row.channel,
        Cap(row.cap_pushes, row.cap_days),
        QuietHours(row.quiet_start, row.quiet_end),
        row.target_masked,
        row.target_sealed,
        row.secret_sealed,
    )


def _dump(row: CrmSettings) -> dict[str, object]:
    return {
        "channel": row.channel.value,
        "cap_pushes": row.cap_pushes,
        "cap_days": row.cap_days,
        "quiet_start": row.quiet_start.isoformat(),
        "quiet_end": row.quiet_end.isoformat(),
        "target": row.target_masked,
    }


def update(
    session: Session,
    *,
    program_id: int,
    change: SettingsChange,
    sealer: Sealer,
    allow_private: bool,
    actor: Actor,
    at: datetime,
) -> tuple[CrmSettings, str | None]:
    """Store the settings; returns them with the webhook's new signing secret when one was made. The
    target is a public address's unless ``allow_private`` (``require_sendable``). A target sent with the
    robot channel, which never uses one, is refused (``target_not_for_robot``); "" still removes one."""
    if change.channel is PushChannel.WECOM_ROBOT and change.target:
        raise Invalid(ROBOT_TAKES_NO_TARGET, code="target_not_for_robot")
    require_sendable(change.target, field="target", allow_private=allow_private)
    row, created = row_to_put(
        session, CrmSettings, {"program_id": program_id, "updated_at": at}, key=["program_id"]
    )
    before = None if created else _dump(row)
    keeps_target = change.target is None and row.target_sealed is not None
    if change.channel is PushChannel.WEBHOOK and not (change.target or keeps_target):
        raise Invalid(
            Message("The {channel} channel needs a target URL.", channel=change.channel.value),
            code="target_required",
        )
    if change.target == "":
        row.target_sealed = row.target_masked = None
    elif change.target is not None:
        row.target_sealed, row.target_masked = (
            sealer.seal(change.target),
            masked_url(change.target, limit=TARGET_MASKED_LENGTH),
        )
    new_secret = None
    if change.channel is PushChannel.WEBHOOK and row.secret_sealed is None:
        new_secret = standard.new_secret()
        row.secret_sealed = sealer.seal(new_secret)
    row.channel, row.cap_pushes, row.cap_days = change.channel, change.cap_pushes, change.cap_days
    row.quiet_start, row.quiet_end, row.updated_at = change.quiet_start, change.quiet_end, at
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="crm.settings",
        entity="program",
        entity_id=program_id,
        before=before,
        after=_dump(row),
        at=at,
    )
    return row, new_secret
