"""``neigou products``: the catalog from the command line (CSV import with a progress bar)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from neigou.cli.keys import keyed_settings
from neigou.kit.actor import Actor
from neigou.kit.columns import ImportRefused
from neigou.kit.db import opened_database, transaction
from neigou.kit.errors import ProblemError
from neigou.offers import csv_import

app = typer.Typer(help="The product catalog.", no_args_is_help=True)
CLI_ACTOR = Actor(kind="cli", ref="cli", label="neigou command line")
PHASES = {"check": "checking rows 校验", "write": "writing 写入"}


@app.command("import")
def import_file(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="CSV or .xlsx file")
    ],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="check every row, write nothing")] = False,
) -> None:
    """Import a catalog CSV or .xlsx file: all rows or none; skus that exist are updated from the file."""
    out, err = Console(), Console(stderr=True)
    content = file.read_bytes()
    try:
        with (
            opened_database(keyed_settings().database_url) as factory,
            Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=err,
                transient=True,
            ) as bar,
            transaction(factory) as session,
        ):
            tasks: dict[str, TaskID] = {}

            def progress(phase: str, done: int, total: int) -> None:
                if phase not in tasks:
                    tasks[phase] = bar.add_task(PHASES.get(phase, phase), total=total)
                bar.update(tasks[phase], completed=done)

            result = csv_import.import_products(
                session, content=content, actor=CLI_ACTOR, dry_run=dry_run, progress=progress
            )
    except ImportRefused as exc:
        table = Table("row", "sku", "field", "code", "message", title=f"{file.name}: nothing imported")
        for error in exc.errors:
            table.add_row(str(error.row), error.key or "", error.column or "", error.code, str(error.message))
        err.print(table)
        typer.echo(f"error [{exc.code}]: {exc.detail}", err=True)
        raise typer.Exit(code=2) from exc
    except ProblemError as exc:
        typer.echo(f"error [{exc.code}]: {exc.detail}", err=True)
        raise typer.Exit(code=2) from exc
    verb = "would import" if dry_run else "imported"
    out.print(f"{verb} {result.rows} rows: {result.created} created, {result.updated} updated")
