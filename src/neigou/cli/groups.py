"""``neigou groups …``: chat groups from the command line (member-count imports)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from neigou.cli.keys import keyed_settings
from neigou.groups import count_files, csv_rows
from neigou.kit.actor import Actor
from neigou.kit.columns import FileRefused
from neigou.kit.db import opened_database, transaction
from neigou.kit.errors import ProblemError
from neigou.kit.tabular import read_table

app = typer.Typer(help="Chat groups: member counts.", no_args_is_help=True)
CLI_ACTOR = Actor(kind="cli", ref="cli", label="neigou command line")
SHOWN_ERRORS = 50


@app.command("import-counts")
def import_counts(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="CSV or .xlsx file")
    ],
    program_id: Annotated[
        int | None, typer.Option("--program-id", help="refuse rows of other programs")
    ] = None,
) -> None:
    """Import member counts from a CSV or .xlsx (owner_member_id,group,member_count,observed_at).

    Every row is checked first; if any is wrong, each error is listed and nothing is imported.
    """
    try:
        total = sum(
            1 for _ in read_table(file, csv_rows.LAYOUT, nul_rows="report", max_rows=csv_rows.MAX_ROWS)
        )
    except FileRefused:
        total = 0  # the import reports why, in its own words
    try:
        with (
            opened_database(keyed_settings().database_url) as factory,
            typer.progressbar(length=total, label="importing") as bar,
            transaction(factory) as session,
        ):
            result = count_files.import_counts(
                session,
                content=file,
                actor=CLI_ACTOR,
                program_id=program_id,
                source="csv",
                progress=bar.update,
            )
    except ProblemError as exc:
        typer.echo(f"error [{exc.code}]: {exc.detail}", err=True)
        errors = exc.extra.get("errors", [])
        for error in errors[:SHOWN_ERRORS]:
            typer.echo(f"  line {error['line']}: [{error['code']}] {error['message']}", err=True)
        if exc.extra.get("error_count", len(errors)) > SHOWN_ERRORS:
            typer.echo(f"  … and {exc.extra['error_count'] - SHOWN_ERRORS} more", err=True)
        raise typer.Exit(code=2) from exc
    typer.echo(
        f"imported {result.imported} count(s) from {file.name}: {result.needs_review} held for review, "
        f"{result.duplicates} already recorded"
    )
