"""The analytics store's tables and the programs' zones they were copied in.

``ensure_schema`` creates what is missing (a store of another layout starts over empty); ``start_over`` drops
every table the extract made; ``zones_moved`` says whether a program's zone changed since its facts were
copied, so their local days must be copied again (``extract.refresh``)."""

from __future__ import annotations

import pyarrow as pa

from neigou.analytics import firsts, reversals, rollups
from neigou.analytics.facts import FACTS, LAYOUT
from neigou.analytics.store import Store


def _layout(store: Store) -> int:
    if store.dialect == "clickhouse":
        store.engine.execute(
            "CREATE TABLE IF NOT EXISTS layout (version Int64) ENGINE = MergeTree ORDER BY version"
        )
    else:
        store.engine.execute("CREATE TABLE IF NOT EXISTS layout (version BIGINT)")
    return int(store.query("SELECT coalesce(max(version), 0) FROM layout")[0][0])


def start_over(store: Store) -> None:
    """Drop every table the extract made: the next ``ensure_schema`` makes them empty."""
    store.engine.execute("DROP VIEW IF EXISTS kept_commissions")
    derived = ("customer_firsts", "customer_months", "touched_customers", "voids", *rollups.TABLES)
    for name in (*(fact.name for fact in FACTS), *derived, "watermarks", "programs", "layout"):
        store.engine.execute(f"DROP TABLE IF EXISTS {name}")


def ensure_schema(store: Store) -> None:
    """Create the store's tables if they are missing; a store of another layout starts over empty."""
    clickhouse = store.dialect == "clickhouse"
    if _layout(store) != LAYOUT:
        start_over(store)
        _layout(store)
        store.engine.load("layout", pa.table({"version": pa.array([LAYOUT], pa.int64())}))
    for fact in FACTS:
        store.engine.execute(fact.ddl(store.dialect))
    reversals.ensure(store)
    firsts.ensure(store)
    rollups.ensure(store)
    if clickhouse:
        store.engine.execute(
            "CREATE TABLE IF NOT EXISTS watermarks (name String, last_id Int64, seen_id Int64, horizon Int64, "
            "logged_at DateTime64(6, 'UTC')) ENGINE = MergeTree ORDER BY (name, last_id)"
        )
        store.engine.execute(
            "CREATE TABLE IF NOT EXISTS programs (id Int64, timezone String) ENGINE = MergeTree ORDER BY id"
        )
    else:
        store.engine.execute(
            "CREATE TABLE IF NOT EXISTS watermarks "
            "(name VARCHAR, last_id BIGINT, seen_id BIGINT, horizon BIGINT, logged_at TIMESTAMP)"
        )
        store.engine.execute("CREATE TABLE IF NOT EXISTS programs (id BIGINT, timezone VARCHAR)")


def zones_moved(store: Store, zones: dict[int, str]) -> bool:
    """Whether a program copied before has another time zone now. Its facts' local days (``paid_on``
    and the like) were computed in the old zone when they were copied, and the rollups summed by them:
    kept, they would disagree with the live reports, which read every order in the current zone."""
    stored = {int(i): str(z) for i, z in store.query("SELECT id, timezone FROM programs")}
    return any(zones.get(program, zone) != zone for program, zone in stored.items())


def copy_programs(store: Store, zones: dict[int, str]) -> None:
    """The programs' zones, as the local days of the facts copied with them are computed."""
    store.run("DELETE FROM programs WHERE id >= 0")
    if zones:
        rows = pa.table(
            {"id": pa.array(list(zones), pa.int64()), "timezone": pa.array(list(zones.values()), pa.string())}
        )
        store.engine.load("programs", rows)
