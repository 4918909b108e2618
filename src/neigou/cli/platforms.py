"""``neigou platforms``: a platform's orders into a program, from an exported file or by polling its API."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import httpx
import typer
from rich.console import Console
from rich.table import Table

from neigou.cli.keys import keyed_settings
from neigou.groups.webhook import require_sendable
from neigou.integrations.service import IntegrationInactive
from neigou.kit.actor import Actor
from neigou.kit.bounded_http import BoundedTransport
from neigou.kit.clock import utcnow
from neigou.kit.columns import FileRefused
from neigou.kit.db import opened_database
from neigou.kit.errors import ProblemError
from neigou.platforms.fetchers import Credentials, PlatformError
from neigou.platforms.files import FileFetcher
from neigou.platforms.rows import Platform
from neigou.platforms.sync import OVERLAP, SyncReport, poll, sync

app = typer.Typer(help="Platform order feeds (JD 联盟, 多多进宝, 淘宝联盟).", no_args_is_help=True)
CLI_ACTOR = Actor(kind="cli", ref="cli", label="neigou command line")
SHOWN = 20
# A poll's calls go through one bounded transport (public addresses only, as every outbound call); its
# deadline only stops a poll that is stuck, each call still waits 30 s at most per step.
POLL_LIMIT = timedelta(hours=24)
IntegrationOption = Annotated[
    int, typer.Option("--integration", help="the integration (its program takes the orders)")
]
PlatformOption = Annotated[Platform, typer.Option(help="jd_union, pdd or taobao")]


def _refuse(exc: ProblemError, integration_id: int) -> typer.Exit:
    """The command's refusal on one line of stderr (exit code 2): a deactivated integration by name."""
    if isinstance(exc, IntegrationInactive):
        told = f"error [integration_inactive]: integration {integration_id} is deactivated; its orders are not read."
    else:
        told = f"error [{exc.code}]: {exc.detail}"
    Console(stderr=True).print(told, markup=False)
    return typer.Exit(code=2)


def _show(report: SyncReport) -> None:
    out, err = Console(), Console(stderr=True)
    out.print(
        f"{report.rows} rows: {report.created} orders created, {report.updated} updated, "
        f"{report.refunds} refunds, {len(report.skipped)} rows skipped"
    )
    if report.synced_until is not None:
        out.print(f"synced until {report.synced_until.isoformat()}")
    if report.skipped:
        table = Table("row", "reason", "message", title="skipped rows")
        for s in report.skipped[:SHOWN]:
            table.add_row(str(s.index + 1), s.code, str(s.message))
        err.print(table)


@app.command("import")
def import_file(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="CSV or .xlsx export")
    ],
    integration_id: IntegrationOption,
    platform: PlatformOption,
) -> None:
    """Import a platform's exported order file whose header names the platform's fields."""
    settings = keyed_settings()
    try:
        with opened_database(settings.database_url) as factory:
            report = sync(
                factory,
                integration_id=integration_id,
                fetcher=FileFetcher(platform, file),
                secret_key=settings.secret_key,
                actor=CLI_ACTOR,
                skew=timedelta(seconds=settings.clock_skew_seconds),
            )
    except (FileRefused, ProblemError) as exc:
        raise _refuse(exc, integration_id) from exc
    _show(report)


def _since(text: str | None) -> datetime | None:
    """``--since`` as a UTC instant: ISO 8601 with its offset, not in the future (else exit 2)."""
    if text is None:
        return None
    try:
        at = datetime.fromisoformat(text.strip())
    except ValueError:
        at = None
    if at is None or at.tzinfo is None:
        refusal = "--since must be an ISO 8601 time with its offset, such as 2026-03-24T12:00:00+08:00."
    elif at.astimezone(UTC) > utcnow():
        refusal = "--since lies in the future."
    else:
        return at.astimezone(UTC)
    Console(stderr=True).print(f"error [invalid_since]: {refusal}", markup=False)
    raise typer.Exit(code=2)


@app.command("poll")
def poll_api(  # noqa: PLR0917 - the command's options
    integration_id: IntegrationOption,
    platform: PlatformOption,
    url: Annotated[str, typer.Option(help="the platform's open API endpoint")],
    app_key: Annotated[str, typer.Option(envvar="NEIGOU_PLATFORM_APP_KEY")],
    app_secret: Annotated[str, typer.Option(envvar="NEIGOU_PLATFORM_APP_SECRET", hidden=True)],
    since: Annotated[
        str | None,
        typer.Option(
            help="read from this time (ISO 8601 with its offset) instead of the watermark: again the "
            "windows whose rows were skipped for a cause since cured; the watermark never moves back"
        ),
    ] = None,
    overlap: Annotated[
        int,
        typer.Option(
            min=0,
            envvar="NEIGOU_PLATFORM_OVERLAP_MINUTES",
            help="minutes before the watermark read again (rows written late, or moved while paged)",
        ),
    ] = int(OVERLAP.total_seconds()) // 60,
    window: Annotated[
        int | None,
        typer.Option(
            min=1,
            envvar="NEIGOU_PLATFORM_WINDOW_MINUTES",
            help="minutes per query window, at most the platform's longest (JD 60, 多多进宝 1440, 淘宝联盟 180); "
            "a window the platform refuses is halved",
        ),
    ] = None,
) -> None:
    """Read the orders modified since the stored watermark (three days back the first time)."""
    start = _since(since)
    settings = keyed_settings()
    allow = settings.outbound_allow_private
    try:
        # Refused as every outbound URL is (``groups.webhook.require_sendable``): no port a connection
        # can use, or a host that is localhost or a private IP literal unless NEIGOU_OUTBOUND_ALLOW_PRIVATE;
        # a name that resolves to a private address is refused when a call connects.
        require_sendable(url, field="--url", allow_private=allow)
    except ProblemError as exc:
        Console(stderr=True).print(f"error [{exc.code}]: {exc.detail}", markup=False)
        raise typer.Exit(code=2) from exc
    transport = BoundedTransport(time.monotonic() + POLL_LIMIT.total_seconds(), allow_private=allow)
    try:
        with (
            opened_database(settings.database_url) as factory,
            httpx.Client(timeout=30, transport=transport) as client,
        ):
            report = poll(
                factory,
                integration_id=integration_id,
                platform=platform,
                credentials=Credentials(url, app_key, app_secret),
                client=client,
                secret_key=settings.secret_key,
                actor=CLI_ACTOR,
                since=start,
                skew=timedelta(seconds=settings.clock_skew_seconds),
                overlap=timedelta(minutes=overlap),
                window=None if window is None else timedelta(minutes=window),
            )
    except ProblemError as exc:
        raise _refuse(exc, integration_id) from exc
    except PlatformError as exc:
        Console(stderr=True).print(f"error [platform]: {exc}", markup=False)
        raise typer.Exit(code=1) from exc
    _show(report)
