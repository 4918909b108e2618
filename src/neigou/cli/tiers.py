"""``neigou tiers …``: a program's monthly tier evaluation from the command line."""

from __future__ import annotations

from typing import Annotated

import typer

from neigou.cli.keys import keyed_settings
from neigou.kit.actor import Actor
from neigou.kit.clock import utcnow
from neigou.kit.db import opened_database, transaction
from neigou.kit.errors import ProblemError
from neigou.tiers.service import evaluate as evaluate_period

app = typer.Typer(help="Tiers: monthly evaluation.", no_args_is_help=True)
CLI_ACTOR = Actor(kind="cli", ref="cli", label="neigou command line")


@app.command("evaluate")
def evaluate(
    program_id: Annotated[int, typer.Option("--program-id", help="the program to evaluate")],
    period: Annotated[str, typer.Option("--period", help="the month, YYYY-MM")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="show the changes, write nothing")] = False,
) -> None:
    """Evaluate a month: promotions and demotions take effect from the run, never before the next month."""
    try:
        with opened_database(keyed_settings().database_url) as factory, transaction(factory) as session:
            result = evaluate_period(
                session,
                program_id=program_id,
                period_text=period,
                dry_run=dry_run,
                actor=CLI_ACTOR,
                at=utcnow(),
            )
    except ProblemError as exc:
        typer.echo(f"error [{exc.code}]: {exc.detail}", err=True)
        raise typer.Exit(code=2) from exc
    for change in result.changes:
        reasons = " ".join(r["zh"] for r in change.reasons)
        typer.echo(
            f"member {change.member_id}: {change.from_tier} → {change.to_tier} ({change.kind}) {reasons}"
        )
    state = "dry run, nothing written" if dry_run and not result.already_evaluated else "recorded"
    if result.already_evaluated:
        state = "evaluated before, nothing changed"
    if result.left_out:
        typer.echo(
            f"left out (tier changed from the period's end on): {', '.join(map(str, result.left_out))}"
        )
    typer.echo(
        f"{result.period}: {result.members_evaluated} member(s) evaluated, {len(result.changes)} change(s), "
        f"effective {result.effective_from.isoformat()} ({state})"
    )
