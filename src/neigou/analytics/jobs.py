"""The scheduled extract: every few minutes (``NEIGOU_ANALYTICS_REFRESH_MINUTES``, default 5)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import structlog
from sqlalchemy.orm import Session

from neigou.analytics.extract import refresh
from neigou.analytics.runtime import store_for
from neigou.analytics.single_flight import RefreshRunning
from neigou.kit.jobs import job
from neigou.kit.settings import get_settings, settings_of

log = structlog.get_logger(__name__)


@job("analytics.refresh", cron={"minute": f"*/{get_settings().analytics_refresh_minutes}"})
def refresh_analytics(session: Session, _payload: dict[str, Any], at: datetime) -> None:
    """Copy the facts written since the last refresh into the analytics store (unless a refresh is
    running already: it copies them, or the next run does)."""
    try:
        copied = refresh(session, store_for(settings_of(session)))
    except RefreshRunning:
        log.info("analytics.refresh_running", at=at.isoformat())
        return
    log.info("analytics.refreshed", at=at.isoformat(), **copied)
