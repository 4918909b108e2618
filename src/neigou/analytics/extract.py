"""The extract: copies new OLTP rows into the analytics store, incrementally, idempotently, resumably.

Per fact table the store keeps a watermark, the OLTP id up to which every row is copied (``watermarks``
is itself append-only: the watermark is the largest value logged, so moving it is one insert on every
engine; on PostgreSQL, where ids can commit out of order, ``analytics.horizon`` decides how far it moves).
A refresh, per table: deletes whatever lies above the watermark (rows a refresh that died after
loading but before logging its watermark left behind), then copies chunks of ``id > watermark`` in id
order, each read in one statement, turned into one Arrow table column by column and loaded in one
insert, then logs the new watermark. A refresh killed anywhere resumes from the last logged chunk and
never duplicates a row. Opt-outs recorded since the last refresh are applied in the same refresh,
after the facts, so a row copied in this refresh is erased too. A refresh reads every organization,
whoever runs it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from neigou.analytics import firsts, reversals, rollups, schema
from neigou.analytics.facts import FACTS, PROGRAMS, Column, Fact
from neigou.analytics.horizon import Snapshot, advance, settled, snapshot
from neigou.analytics.single_flight import single_flight
from neigou.analytics.store import Store
from neigou.kit.ids import new_tombstone
from neigou.kit.scoping import unscoped
from neigou.privacy.models import OptOut
from neigou.programs.models import Program

CHUNK = 50_000
Progress = Callable[[str, int], None]

_ARROW = {"int": pa.int64(), "str": pa.string(), "date": pa.date32(), "bool": pa.bool_()}


def watermark(store: Store, name: str) -> int:
    """The OLTP id of ``name`` up to which every row is in the store (0 before the first)."""
    rows = store.query("SELECT coalesce(max(last_id), 0) FROM watermarks WHERE name = :name", name=name)
    return int(rows[0][0])


def _seen(store: Store, name: str) -> int:
    rows = store.query("SELECT coalesce(max(seen_id), 0) FROM watermarks WHERE name = :name", name=name)
    return int(rows[0][0])


def log_watermark(store: Store, name: str, last_id: int) -> None:
    """Log ``name``'s watermark at ``last_id``: every row up to it is copied (or kept)."""
    _log_watermark(store, name, last_id, last_id, None)


def _log_watermark(store: Store, name: str, last_id: int, seen_id: int, now: Snapshot | None) -> None:
    at = datetime.now(UTC).replace(tzinfo=None)
    rows = pa.table(
        {
            "name": pa.array([name]),
            "last_id": pa.array([last_id], pa.int64()),
            "seen_id": pa.array([seen_id], pa.int64()),
            "horizon": pa.array([now.xmax if now else 0], pa.int64()),
            "logged_at": pa.array([at], pa.timestamp("us")),
        }
    )
    store.engine.load("watermarks", rows)


class _Watermark:
    """How far a table's watermark moves in this refresh (see ``analytics.horizon``)."""

    def __init__(self, store: Store, name: str, now: Snapshot | None) -> None:
        self.store, self.name, self.now = store, name, now
        self.final = watermark(store, name)
        self.seen_before = _seen(store, name)
        self.settled = settled(store, name, now) if now else 0
        self.blocked = False
        self.logged = False

    def moved(self, ids: pa.Array, seen: int) -> None:
        """A chunk of ids (in order) is in the store: move and log the watermark."""
        if self.now is None:
            self.final = seen
        elif not self.blocked:
            self.final, self.blocked = advance(self.final, self.settled, ids)
        _log_watermark(self.store, self.name, self.final, seen, self.now)
        self.logged = True

    def close(self) -> None:
        """On PostgreSQL, a refresh that copied nothing still logs its horizon, so gaps settle."""
        if self.now is not None and not self.logged:
            _log_watermark(self.store, self.name, self.final, self.seen_before, self.now)


def _local_dates(instants: pa.Array, zones: pa.Array) -> pa.Array:
    """Each instant's calendar day in its own time zone (one pass per distinct zone)."""
    result = pa.nulls(len(instants), pa.date32())
    for zone in pc.unique(zones).to_pylist():
        local = pc.local_timestamp(instants.cast(pa.timestamp("us", tz=zone)))
        days = pc.cast(pc.floor_temporal(local, unit="day"), pa.date32())
        result = pc.if_else(pc.equal(zones, zone), days, result)
    return result


def group_price(list_fen: pa.Array, kind: pa.Array, value: pa.Array, cap_fen: pa.Array) -> pa.Array:
    """One unit's price after a claimed coupon (the offers rule for a single item, column-wise):
    amount off ``max(list − value, 0)``; percent off ``list − min(floor(list × value / 10^4), cap)``."""
    amount = pc.max_element_wise(pc.subtract(list_fen, value), 0)
    percent_off = pc.divide(pc.multiply(list_fen, value), 10_000)
    percent_off = pc.min_element_wise(percent_off, pc.fill_null(cap_fen, percent_off))
    percent = pc.subtract(list_fen, percent_off)
    return pc.if_else(pc.equal(kind, "amount_off"), amount, percent)


def _column(column: Column, values: Sequence[Any] | pa.Array) -> pa.Array:
    if isinstance(values, pa.Array):
        return values
    if column.kind == "ts":
        if any(isinstance(v, str) for v in values[:1]):  # SQLite keeps UTC instants as text
            return pa.array(values, pa.string()).cast(pa.timestamp("us")).cast(pa.timestamp("us", tz="UTC"))
        return pa.array(values, pa.timestamp("us", tz="UTC"))
    if column.kind == "bool":
        return pa.array([bool(v) for v in values], pa.bool_())
    return pa.array(values, _ARROW[column.kind])


def fetch(session: Session, statement: Select[Any]) -> tuple[list[str], list[tuple[Any, ...]]]:
    """A chunk's rows as the database driver gives them: one statement, no per-value conversion by
    SQLAlchemy (instants come as text from SQLite, JSON as text or dicts; ``to_arrow`` reads both)."""
    connection = session.connection()
    compiled = statement.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True})
    cursor = connection.exec_driver_sql(str(compiled)).cursor
    try:
        names = [d[0] for d in cursor.description]
        return names, list(cursor.fetchall())
    finally:
        cursor.close()


def to_arrow(
    fact: Fact, names: list[str], rows: Sequence[tuple[Any, ...]], zones: dict[int, str]
) -> pa.Table:
    """A chunk of OLTP rows as one Arrow table in the fact's column order, local days computed."""
    by_name: dict[str, Any] = dict(zip(names, zip(*rows, strict=True), strict=True))
    if "pricing" in by_name:  # the order's priced basket as it was quoted
        pricing = [json.loads(p) if isinstance(p, str) else p for p in by_name.pop("pricing")]
        by_name["list_fen"] = [p.get("list_total_fen", 0) if p else 0 for p in pricing]
        by_name["promotion_fen"] = [p.get("promotion_discount_fen", 0) if p else 0 for p in pricing]
        by_name["coupon_fen"] = [p.get("coupon_discount_fen", 0) if p else 0 for p in pricing]
    if "coupon_kind" in by_name:  # a claim: the price of its link's sku after the coupon
        kinds = pa.array([str(k) for k in by_name.pop("coupon_kind")], pa.string())
        values = pa.array(by_name.pop("coupon_value"), pa.int64())
        caps = pa.array(by_name.pop("coupon_cap_fen"), pa.int64())
        by_name["group_fen"] = group_price(pa.array(by_name["list_fen"], pa.int64()), kinds, values, caps)
    arrays: dict[str, pa.Array] = {}
    for column in fact.columns:
        if column.local_date_of is None and column.name in by_name:
            arrays[column.name] = _column(column, by_name[column.name])
    program_zones = pa.array([zones.get(p, "UTC") for p in by_name["program_id"]], pa.string())
    for column in fact.columns:
        if column.local_date_of is not None:
            arrays[column.name] = _local_dates(arrays[column.local_date_of], program_zones)
    if fact.name == "orders":  # instants as integers, so "within N days" is plain arithmetic anywhere
        arrays["paid_us"] = arrays["paid_at"].cast(pa.timestamp("us")).cast(pa.int64())
    for column in fact.columns:
        if column.kind == "ts":
            arrays[column.name] = arrays[column.name].cast(pa.timestamp("us"))
    return pa.table({column.name: arrays[column.name] for column in fact.columns})


def _copy(
    session: Session,
    store: Store,
    fact: Fact,
    *,
    zones: dict[int, str],
    chunk: int,
    progress: Progress | None,
    now: Snapshot | None,
) -> int:
    """Copy the rows above the watermark; the count leaves out rows that were in the store already."""
    mark = _Watermark(store, fact.name, now)
    last = mark.final
    ((provisional,),) = store.query(  # copied and logged by an earlier refresh, copied again now
        f"SELECT count(*) FROM {fact.name} WHERE id > :last AND id <= :seen",  # noqa: S608 - our names
        last=last,
        seen=mark.seen_before,
    )
    store.run(f"DELETE FROM {fact.name} WHERE id > :last", last=last)  # noqa: S608 - our table names
    copied = -int(provisional)
    while True:
        statement = fact.source.where(fact.id_column > last).order_by(fact.id_column).limit(chunk)
        names, rows = fetch(session, statement)
        if not rows:
            break
        table = to_arrow(fact, names, rows, zones)
        store.engine.load(fact.name, table)
        last = int(rows[-1][names.index("id")])
        mark.moved(table.column("id").combine_chunks(), last)
        copied += len(rows)
        if progress is not None:
            progress(fact.name, copied)
        if len(rows) < chunk:
            break
    mark.close()
    return max(copied, 0)


def _erase(store: Store, customer: str, program_ids: Sequence[int] | None) -> None:
    """The opted-out customer's rows keep their amounts under a tombstone that names nobody: in these
    programs, or in every program (``None``)."""
    if program_ids is not None and not program_ids:
        return
    tombstone = new_tombstone()
    listed = ", ".join(str(int(p)) for p in sorted(program_ids or ()))
    scope = "" if program_ids is None else f" AND program_id IN ({listed})"
    for table in ("orders", "claims", "customer_firsts", "customer_months"):
        if store.dialect == "clickhouse":
            store.engine.execute(
                f"ALTER TABLE {table} UPDATE customer = '{tombstone}' "
                f"WHERE customer = {_quoted(customer)}{scope} SETTINGS mutations_sync = 2"
            )
        else:
            store.engine.execute(
                f"UPDATE {table} SET customer = '{tombstone}' WHERE customer = {_quoted(customer)}{scope}"  # noqa: S608
            )


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _opted_programs(
    session: Session, program_id: int | None, organization_id: int | None
) -> list[int] | None:
    """The programs an opt-out reaches, as the database's erasure reaches them: its one program; every
    program of its organization (an organization's opt-out of every program erases nothing of another
    organization's rows); or every program (``None``: a platform administrator's opt-out of all)."""
    if program_id is not None:
        return [int(program_id)]
    if organization_id is None:
        return None
    return [
        int(p) for p in session.scalars(select(Program.id).where(Program.organization_id == organization_id))
    ]


def _apply_opt_outs(session: Session, store: Store, now: Snapshot | None) -> int:
    mark = _Watermark(store, "opt_outs", now)
    rows = session.execute(
        select(OptOut.id, OptOut.customer_ref_hash, OptOut.program_id, OptOut.organization_id)
        .where(OptOut.id > mark.final)
        .order_by(OptOut.id)
    ).all()
    for opt_out_id, customer, program_id, organization_id in rows:
        # idempotent: a second pass finds the hash gone
        _erase(store, customer, _opted_programs(session, program_id, organization_id))
        mark.moved(pa.array([int(opt_out_id)], pa.int64()), int(opt_out_id))
    mark.close()
    return sum(1 for row in rows if row.id > mark.seen_before)


def _apply_reversals(session: Session, store: Store, now: Snapshot | None) -> int:
    """Carry the commission confirmed risk cases took back (``analytics.reversals``)."""
    mark = _Watermark(store, reversals.NAME, now)
    copied = reversals.copy(session, store, last=mark.final, seen=mark.seen_before, moved=mark.moved)
    mark.close()
    return copied


def _keep_firsts(store: Store) -> int:
    """Recompute the customers touched since the last recomputation; then log how far it reached."""
    finals = {name: watermark(store, name) for name in firsts.MARKS}
    touched = firsts.recompute(
        store, marks={name: watermark(store, f"firsts.{name}") for name in firsts.MARKS}
    )
    for name, final in finals.items():
        _log_watermark(store, f"firsts.{name}", final, final, None)
    return touched


def _keep_rollups(store: Store) -> int:
    """Recompute the days (orders' and clicks') touched since the last recomputation; then log how
    far it reached."""
    finals = {name: watermark(store, name) for name in rollups.MARKS}
    touched = rollups.recompute(
        store, marks={name: watermark(store, f"rollups.{name}") for name in rollups.MARKS}
    )
    for name, final in finals.items():
        _log_watermark(store, f"rollups.{name}", final, final, None)
    for name, (fact, recompute) in rollups.ON_MARKS.items():
        final = watermark(store, fact)
        touched += recompute(store, mark=watermark(store, f"rollups.{name}"))
        _log_watermark(store, f"rollups.{name}", final, final, None)
    return touched


def refresh(
    session: Session,
    store: Store,
    *,
    chunk: int = CHUNK,
    progress: Progress | None = None,
    wait: bool = False,
) -> dict[str, int]:
    """Copy what is new since the last refresh; rows copied per table (``opt_outs``: opt-outs applied).

    The store is one for the deployment, read per program: a refresh copies every organization's
    programs, facts and opt-outs whoever asks for it (read in the caller's scope, another
    organization's programs would lose their time zones, and the watermarks would move past its
    opt-outs unapplied). What a caller reads from the store stays confined to its own programs.

    One refresh of a store runs at a time across processes (``analytics.single_flight``): while another
    one runs this one raises ``RefreshRunning`` (503), or waits for it with ``wait``."""
    with single_flight(session, store, wait=wait), unscoped(session):
        schema.ensure_schema(store)
        now = snapshot(session)  # before any read: what commits after it is for the next refresh
        # Read once: the zones checked are the zones stored, so a change committed during this refresh
        # is found by the next one.
        zones = {int(i): str(z) for i, z in session.execute(PROGRAMS).all()}
        moved = schema.zones_moved(store, zones)
        # Starting over, the whole copy is one transaction where the engine has them (DuckDB): readers
        # see the store as it was until it commits, and a refresh killed midway leaves it as it was.
        with store.atomic() if moved else nullcontext():
            if moved:  # a program's zone changed: every local day is copied again
                schema.start_over(store)
                schema.ensure_schema(store)
            schema.copy_programs(store, zones)
            copied = {"programs": len(zones)}
            for fact in FACTS:
                copied[fact.name] = _copy(
                    session, store, fact, zones=zones, chunk=chunk, progress=progress, now=now
                )
            copied["opt_outs"] = _apply_opt_outs(session, store, now)
            copied["risk_reversals"] = _apply_reversals(session, store, now)
            copied["customer_firsts"] = _keep_firsts(store)
            copied["rollup_days"] = _keep_rollups(store)
    return copied
