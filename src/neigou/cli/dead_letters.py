"""``neigou dead-letters …``: the stream entries the database refused at every delivery
(``kit.dead_letters``), listed, stored again once the cause is fixed, or dropped."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import Annotated

import redis
import typer
from sqlalchemy.orm import Session

from neigou.cli.keys import keyed_settings
from neigou.events import writer as reservations
from neigou.events.gate import ReservationGate
from neigou.kit import dead_letters
from neigou.kit.db import opened_database
from neigou.kit.settings import Settings
from neigou.kit.streams import Entry, namespace
from neigou.links import claim_stream, click_stream

app = typer.Typer(help="Stream entries the database refused, set aside.", no_args_is_help=True)


class Stream(StrEnum):
    CLAIMS = "claims"
    CLICKS = "clicks"
    RESERVATIONS = "reservations"


STORES: dict[Stream, Callable[[Session, list[Entry]], int]] = {
    Stream.CLAIMS: claim_stream.store_entries,
    Stream.CLICKS: click_stream.store_entries,
    Stream.RESERVATIONS: reservations.store_entries,
}
StreamArg = Annotated[Stream, typer.Argument(help="the stream: claims, clicks or reservations")]


def stream_key(settings: Settings, stream: Stream) -> str:
    """The Redis key of one of this database's streams."""
    prefix = namespace(settings.database_url)
    if stream is Stream.CLAIMS:
        return f"{prefix}:claims"
    if stream is Stream.CLICKS:
        return click_stream.stream_key(settings.database_url)
    return ReservationGate.stream_of(prefix)


@contextmanager
def _redis(settings: Settings) -> Iterator[redis.Redis]:
    if settings.redis_client_url is None:
        typer.echo("error: NEIGOU_REDIS_URL is not set (the streams live on Redis)", err=True)
        raise typer.Exit(code=2)
    client = redis.Redis.from_url(settings.redis_client_url)
    try:
        yield client
    finally:
        client.close()


@app.command("list")
def list_letters(stream: StreamArg) -> None:
    """One line per dead letter: its id, its entry's id, the reason's code and its deliveries."""
    settings = keyed_settings()
    with _redis(settings) as client:
        count = 0
        for letter in dead_letters.letters(client, stream_key(settings, stream)):
            count += 1
            typer.echo(
                f"{letter.id.decode()} entry={letter.entry_id.decode()} reason={letter.reason} "
                f"deliveries={letter.deliveries}"
            )
    typer.echo(f"{count} dead letter(s)")


@app.command("replay")
def replay(stream: StreamArg) -> None:
    """Store every dead letter as its entry (under its id in the stream) and delete those stored;
    those the database still refuses stay."""
    settings = keyed_settings()
    with _redis(settings) as client, opened_database(settings.database_url) as factory:
        stored, kept = dead_letters.replay(client, stream_key(settings, stream), factory, STORES[stream])
    typer.echo(f"{stored} stored, {kept} still refused")
    if kept:
        raise typer.Exit(code=1)


@app.command("drop")
def drop(
    stream: StreamArg,
    letter_ids: Annotated[list[str], typer.Argument(help="dead letter ids, as `list` shows them")],
) -> None:
    """Delete dead letters given up for good."""
    settings = keyed_settings()
    with _redis(settings) as client:
        dropped = dead_letters.forget(client, stream_key(settings, stream), [i.encode() for i in letter_ids])
    typer.echo(f"{dropped} dropped")
