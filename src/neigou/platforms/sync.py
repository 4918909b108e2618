"""Pull a fetcher's rows into a program: each batch in its own transaction, the watermark after it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx
from sqlalchemy.orm import Session, sessionmaker

from neigou.integrations import service as integrations
from neigou.kit.actor import Actor
from neigou.kit.bulk import insert_ignoring_duplicates
from neigou.kit.clock import utcnow
from neigou.kit.db import transaction
from neigou.kit.instants import DEFAULT_SKEW
from neigou.platforms.feeds import apply_rows
from neigou.platforms.fetchers import Credentials, Fetcher, Poller
from neigou.platforms.models import PlatformWatermark
from neigou.platforms.rows import Platform, Skip

FIRST_LOOKBACK = timedelta(days=3)
LAG = timedelta(minutes=2)  # rows of the last moments may still be written on the platform's side
# Each poll reads again this far before the watermark: a row written on the platform's side later than
# LAG after its modification time, or one that moved up a page while a window was paged (a row before it
# left the window), is read by the next poll. Reading a row again changes nothing.
OVERLAP = timedelta(minutes=30)


@dataclass
class SyncReport:
    """What a sync did over all its batches; ``skipped`` indexes count from the first row fetched."""

    rows: int = 0
    created: int = 0
    updated: int = 0
    refunds: int = 0
    skipped: list[Skip] = field(default_factory=list)
    synced_until: datetime | None = None


def sync(
    factory: sessionmaker[Session],
    *,
    integration_id: int,
    fetcher: Fetcher,
    secret_key: str,
    actor: Actor,
    clock: Callable[[], datetime] = utcnow,
    skew: timedelta = DEFAULT_SKEW,
) -> SyncReport:
    """Apply every batch the fetcher yields; a poller's watermark moves after each window commits.
    A row's time may lie up to ``skew`` ahead of ours (the platform's clock may run a little ahead),
    as on the feed endpoint; a row skipped for a time further ahead is not fetched again once the
    watermark passed it. A deactivated integration is refused (``integrations.IntegrationInactive``, 403),
    before its first batch and at every batch after it."""
    report = SyncReport()
    for batch in fetcher.batches():
        with transaction(factory) as session:
            integration = integrations.require_active(session, integration_id)
            now = clock()
            result = apply_rows(
                session,
                integration=integration,
                platform=fetcher.platform,
                rows=batch.rows,
                secret_key=secret_key,
                now=now,
                latest=now + skew,
                actor=actor,
                nul_rows=batch.nul_rows,
                nul_orders=batch.nul_orders,
                skips=batch.skips,
            )
            if batch.until is not None:
                _advance(session, integration_id, fetcher.platform, batch.until, now)
                report.synced_until = batch.until
        report.skipped.extend(Skip(report.rows + s.index, s.code, s.message) for s in result.skipped)
        report.rows += len(batch.rows)
        report.created += result.created
        report.updated += result.updated
        report.refunds += result.refunds
    return report


def watermark(session: Session, integration_id: int, platform: Platform) -> datetime | None:
    """How far the integration's orders of this platform were read."""
    row = session.get(PlatformWatermark, (integration_id, platform))
    return None if row is None else row.synced_until


def _advance(
    session: Session, integration_id: int, platform: Platform, until: datetime, now: datetime
) -> None:
    insert_ignoring_duplicates(
        session,
        PlatformWatermark,
        [{"integration_id": integration_id, "platform": platform, "synced_until": until, "updated_at": now}],
    )
    row = session.get_one(
        PlatformWatermark, (integration_id, platform), with_for_update=True, populate_existing=True
    )
    if until > row.synced_until:
        row.synced_until, row.updated_at = until, now
    session.flush()


def poll(
    factory: sessionmaker[Session],
    *,
    integration_id: int,
    platform: Platform,
    credentials: Credentials,
    client: httpx.Client,
    secret_key: str,
    actor: Actor,
    since: datetime | None = None,
    clock: Callable[[], datetime] = utcnow,
    skew: timedelta = DEFAULT_SKEW,
    overlap: timedelta = OVERLAP,
    window: timedelta | None = None,
) -> SyncReport:
    """Read the platform's orders modified since ``overlap`` before the watermark (or since ``since``,
    or three days back), in windows of ``window`` (at most, and by default, the platform's longest)."""
    with factory() as session:
        integrations.require_active(session, integration_id)
        stored = watermark(session, integration_id, platform)
    until = clock() - LAG
    resume = stored - overlap if stored is not None else until - FIRST_LOOKBACK
    start = since or resume
    poller = Poller(platform, credentials, start, until, client, window=window)
    return sync(
        factory,
        integration_id=integration_id,
        fetcher=poller,
        secret_key=secret_key,
        actor=actor,
        clock=clock,
        skew=skew,
    )
