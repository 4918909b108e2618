"""``neigou analytics …``: copy new facts into the analytics store now."""

from __future__ import annotations

import typer

from neigou.cli.keys import keyed_settings
from neigou.kit.db import opened_database

app = typer.Typer(help="Analytics: the extract into the analytics store.", no_args_is_help=True)


@app.command("refresh")
def refresh() -> None:
    """Copy every fact written since the last refresh (NEIGOU_ANALYTICS_URL, default DuckDB beside the data)."""
    # The engines load only for this command, not on every start of the CLI.
    from neigou.analytics.extract import refresh as run_refresh
    from neigou.analytics.runtime import store_for
    from neigou.analytics.single_flight import RefreshRunning

    settings = keyed_settings()
    try:
        with opened_database(settings.database_url) as factory, factory() as session:
            copied = run_refresh(session, store_for(settings))
    except RefreshRunning:
        typer.echo("A refresh of this analytics store is running already; it copies what is new.", err=True)
        raise typer.Exit(75) from None  # EX_TEMPFAIL: try again later
    for table, rows in copied.items():
        typer.echo(f"{table}\t{rows}")
