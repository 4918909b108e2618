"""A program's groups settings: the alert robot (its URL and signing secret sealed) and the plausibility
thresholds of member counts, with defaults where nothing is stored; changing them is audited."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy.orm import Session

from neigou.audit import service as audit
from neigou.groups import repository as repo
from neigou.groups import webhook
from neigou.groups.models import GroupSettings
from neigou.groups.plausibility import (
    DEFAULT_JUMP_BP_PER_DAY,
    DEFAULT_JUMP_MEMBERS_PER_DAY,
    DEFAULT_SIZE_LIMITS,
    PlausibilityRule,
)
from neigou.groups.schemas import SettingsIn
from neigou.kit.actor import Actor
from neigou.kit.clock import utcnow
from neigou.kit.db import row_to_put
from neigou.kit.sealed import Sealer
from neigou.kit.urls import masked_url
from neigou.programs.service import require_program


@dataclass(frozen=True)
class EffectiveSettings:
    """A program's groups settings with defaults filled in."""

    program_id: int
    # The alert robot's URL sealed (``alert_robot`` opens it to send) and its shown host and path, and
    # its signing secret sealed (opened with the URL).
    webhook_url_sealed: str | None = None
    webhook_url_masked: str | None = None
    webhook_secret_sealed: str | None = None
    size_limits: dict[str, int | None] = field(default_factory=lambda: dict(DEFAULT_SIZE_LIMITS))
    jump_members_per_day: int = DEFAULT_JUMP_MEMBERS_PER_DAY
    jump_bp_per_day: int = DEFAULT_JUMP_BP_PER_DAY

    def rule_for(self, platform: str) -> PlausibilityRule:
        """The plausibility thresholds of one platform."""
        return PlausibilityRule(
            size_limit=self.size_limits.get(platform),
            jump_members_per_day=self.jump_members_per_day,
            jump_bp_per_day=self.jump_bp_per_day,
        )


@dataclass(frozen=True)
class AlertRobot:
    """The program's alert robot, opened to send: its URL and its signing secret, if any."""

    url: str
    secret: str | None


def alert_robot(settings: EffectiveSettings, sealer: Sealer) -> AlertRobot | None:
    """The program's alert robot, its URL and signing secret unsealed to send; None without one, or
    when no configured key opens the URL or the secret (logged: the alert then counts as having no
    robot, as an unsigned message would be refused by a robot that signs)."""
    if settings.webhook_url_sealed is None:
        return None
    log = structlog.get_logger(__name__)
    url = sealer.unseal(settings.webhook_url_sealed)
    if url is None:  # sealed with a key no longer configured
        log.warning("groups.alert_robot_key_unopened", program_id=settings.program_id)
        return None
    if settings.webhook_secret_sealed is None:
        return AlertRobot(url=url, secret=None)
    secret = sealer.unseal(settings.webhook_secret_sealed)
    if secret is None:
        log.warning("groups.alert_robot_secret_unopened", program_id=settings.program_id)
        return None
    return AlertRobot(url=url, secret=secret)


def settings_of(session: Session, program_id: int) -> EffectiveSettings:
    """A program's settings, defaults where nothing was stored."""
    row = repo.get_settings(session, program_id)
    if row is None:
        return EffectiveSettings(program_id=program_id)
    return EffectiveSettings(
        program_id=program_id,
        webhook_url_sealed=row.webhook_url_sealed,
        webhook_url_masked=row.webhook_url_masked,
        webhook_secret_sealed=row.webhook_secret_sealed,
        size_limits={**DEFAULT_SIZE_LIMITS, **row.size_limits},
        jump_members_per_day=row.jump_members_per_day,
        jump_bp_per_day=row.jump_bp_per_day,
    )


def put_settings(
    session: Session,
    *,
    program_id: int,
    data: SettingsIn,
    sealer: Sealer,
    allow_private: bool,
    actor: Actor,
    at: datetime | None = None,
) -> EffectiveSettings:
    """Change a program's webhook or thresholds; an empty string clears the webhook or secret. The
    webhook's URL and signing secret are stored sealed by ``sealer`` (the running application's payee
    keys); the URL is a public address's unless ``allow_private`` (``webhook.require_sendable``)."""
    require_program(session, program_id)
    webhook.require_sendable(data.webhook_url, field="webhook_url", allow_private=allow_private)
    now = at or utcnow()
    fresh = {
        "program_id": program_id,
        "size_limits": {},
        "jump_members_per_day": DEFAULT_JUMP_MEMBERS_PER_DAY,
        "jump_bp_per_day": DEFAULT_JUMP_BP_PER_DAY,
        "updated_at": now,
    }
    row, created = row_to_put(session, GroupSettings, fresh, key=["program_id"])
    before = None if created else _settings_dump(row)
    sent = data.model_dump(exclude_unset=True)
    if "webhook_url" in sent:
        url = data.webhook_url or None
        row.webhook_url_sealed = None if url is None else sealer.seal(url)
        row.webhook_url_masked = None if url is None else masked_url(url)
    if "webhook_secret" in sent:
        secret = data.webhook_secret or None
        row.webhook_secret_sealed = None if secret is None else sealer.seal(secret)
    if data.size_limits is not None:
        row.size_limits = {**row.size_limits, **{str(k): v for k, v in data.size_limits.items()}}
    if data.jump_members_per_day is not None:
        row.jump_members_per_day = data.jump_members_per_day
    if data.jump_bp_per_day is not None:
        row.jump_bp_per_day = data.jump_bp_per_day
    row.updated_at = now
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="group.settings.put",
        entity="program",
        entity_id=program_id,
        before=before,
        after=_settings_dump(row),
    )
    return settings_of(session, program_id)


def _settings_dump(row: GroupSettings) -> dict[str, Any]:
    # Secrets never enter the audit log: only whether they are set.
    return {
        "webhook_configured": row.webhook_url_sealed is not None,
        "signed": row.webhook_secret_sealed is not None,
        "size_limits": dict(row.size_limits or {}),
        "jump_members_per_day": row.jump_members_per_day,
        "jump_bp_per_day": row.jump_bp_per_day,
    }
