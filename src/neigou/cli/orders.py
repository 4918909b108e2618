"""``neigou orders``: batch import of paid orders from a CSV or JSON-lines file, resumable."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from neigou.cli.keys import keyed_settings
from neigou.kit import exports
from neigou.kit.actor import Actor
from neigou.kit.columns import FileRefused
from neigou.kit.db import opened_database
from neigou.orders.importer import import_file

app = typer.Typer(help="Orders from the shop.", no_args_is_help=True)
CLI_ACTOR = Actor(kind="cli", ref="cli", label="neigou command line")
SHOWN_ERRORS = 20


@app.command("import")
def import_orders(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="CSV, .xlsx or .jsonl file")
    ],
    program_id: Annotated[int | None, typer.Option(help="program of rows that name none")] = None,
    batch_size: Annotated[int, typer.Option(min=1, max=50_000)] = 2000,
    errors: Annotated[Path | None, typer.Option(help="write every refused row to this CSV")] = None,
) -> None:
    """Import paid orders; rerun the same command after a crash to resume from the checkpoint."""
    out, err = Console(), Console(stderr=True)
    settings = keyed_settings()
    with (
        opened_database(settings.database_url) as factory,
        Progress(
            TextColumn("importing 导入订单"),
            BarColumn(),
            DownloadColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=err,
            transient=True,
        ) as bar,
    ):
        task = bar.add_task("import", total=file.stat().st_size)
        try:
            report = import_file(
                factory,
                file,
                secret_key=settings.secret_key,
                actor=CLI_ACTOR,
                program_id=program_id,
                batch_size=batch_size,
                skew=timedelta(seconds=settings.clock_skew_seconds),
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
        except FileRefused as exc:
            for error in exc.errors:
                err.print(f"  row {error.row}: [{error.code}] {error.message}", markup=False)
            err.print(f"error [{exc.code}]: {exc.detail}", markup=False)
            raise typer.Exit(code=2) from exc
    if report.resumed_from:
        out.print(f"resumed after row {report.resumed_from}")
    out.print(
        f"imported {report.imported} orders, {report.duplicates} already there, {len(report.errors)} refused"
    )
    if report.errors:
        table = Table("row", "external_id", "code", "message", title=f"{file.name}: refused rows")
        for e in report.errors[:SHOWN_ERRORS]:
            table.add_row(str(e.row), e.key or "", e.code, str(e.message))
        err.print(table)
        if errors is not None:
            # The shop's own text (its order ids) is written as text, never as a formula.
            errors.write_bytes(
                exports.csv_bytes(
                    ["row", "external_id", "code", "message"],
                    ((e.row, e.key or "", e.code, str(e.message)) for e in report.errors),
                )
            )
        raise typer.Exit(code=1)
