"""Clicks through Redis Streams when ``NEIGOU_REDIS_URL`` is set.

Click writers XADD their flushed batches to one stream, one entry per ``CLICKS_PER_ENTRY`` clicks
(field ``clicks``: a JSON list of click rows, ``clicks.ClickRow`` with the time in ISO 8601; entries of one field per click, as written by earlier
versions, are read too). Consumers in a consumer group (beside each click writer, and the
``links.drain_click_stream`` job that ``neigou worker`` runs every five minutes) read entries with
XREADGROUP, store their clicks with one set-based INSERT, and only then XACK and XDEL them: the
stream is the durable hand-off, and an entry leaves it only once its clicks are in the database.

A consumer that dies before acknowledging (kill -9, a crashed host) leaves its entries pending. Each
consumer holds a lease, a key that expires ``lease_ms`` after its last read (renewed on every read,
at least every ``BLOCK_MS`` while it runs). A consumer starting up, and every running one each half
lease, claims the pending entries of consumers whose lease has lapsed (XPENDING, XCLAIM), stores
them and acknowledges them, then forgets those consumers; so a restarted writer replays what its
predecessor read and did not store. Entries idle past ``CLAIM_IDLE_MS`` are claimed whatever their
owner (XAUTOCLAIM), for consumers of earlier versions that held no lease. Delivery is at least
once; the click's ``ref`` is unique in the database, so a redelivered click is stored once. An entry
the database refuses (or that cannot be read) holds back no other: the batch is stored entry by entry,
and the bad entry goes to the stream's dead letters after ``kit.dead_letters.MAX_DELIVERIES``
deliveries (``kit.streams.store_each``).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

import redis
import structlog
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.bulk import chunks
from neigou.kit.dead_letters import rewrite
from neigou.kit.ids import whole_number
from neigou.kit.jobs import job
from neigou.kit.logging import error_summary
from neigou.kit.settings import settings_of
from neigou.kit.streams import (
    Backlog,
    Entry,
    acknowledge,
    ensure_group,
    namespace,
    next_entries,
    store_each,
)
from neigou.links.clicks import ClickRow, ClickSink, DatabaseSink, store_clicks

log = structlog.get_logger(__name__)
GROUP = "neigou-click-writers"
CLAIM_IDLE_MS = 60_000
LEASE_MS = 10_000  # a consumer not heard of for this long is dead: its pending entries are taken over
RECOVER_MIN_IDLE_MS = 1_000  # two consumers taking over the same dead one: the second claims nothing
BLOCK_MS = 200  # longest wait for new entries, so a running consumer renews its lease this often
BATCH = 10  # entries a consumer reads at a time
CLICKS_PER_ENTRY = 5000  # a recorder's full batch: one entry, one store by the consumer


def stream_key(database_url: str) -> str:
    """The click stream of a database."""
    return stream_of(namespace(database_url))


def stream_of(prefix: str) -> str:
    """The click stream under a Redis key prefix (``kit.streams.namespace``, the stock gate's)."""
    return prefix + ":clicks"


class RedisStreamSink:
    """A recorder sink that appends each batch to the stream in one round trip."""

    def __init__(self, client: redis.Redis, key: str, *, per_entry: int = CLICKS_PER_ENTRY) -> None:
        self.client = client
        self.key = key
        self.per_entry = per_entry

    def write(self, clicks: Sequence[ClickRow]) -> None:
        pipe = self.client.pipeline(transaction=False)
        for part in chunks(clicks, self.per_entry):
            pipe.xadd(self.key, {"clicks": pack(part)})
        pipe.execute()


def pack(clicks: Sequence[ClickRow]) -> str:
    """The ``clicks`` field of an entry: the rows as a JSON list, times in ISO 8601."""
    return json.dumps(
        [
            (ref, link, program, member, at.isoformat(), *rest)
            for ref, link, program, member, at, *rest in clicks
        ],
        separators=(",", ":"),
    )


def unpack(fields: dict[bytes, bytes]) -> list[ClickRow]:
    """The click rows of one stream entry (a batch, or one click in the earlier per-click format)."""
    packed = fields.get(b"clicks")
    if packed is None:
        return [_legacy_row({k.decode(): v.decode() for k, v in fields.items()})]
    return [
        (ref, link_id, program_id, member_id, datetime.fromisoformat(at), visitor, ua, customer)
        for ref, link_id, program_id, member_id, at, visitor, ua, customer in json.loads(packed)
    ]


def _legacy_row(fields: dict[str, str]) -> ClickRow:
    """A click of the earlier one-entry-per-click format (field per column, absent when null)."""
    return (
        fields["ref"],
        int(fields["link_id"]),
        int(fields["program_id"]),
        int(fields["member_id"]),
        datetime.fromisoformat(fields["clicked_at"]),
        fields.get("visitor_id"),
        fields["ua_class"],
        fields.get("customer_ref_hash"),
    )


def erase_dead_letters(
    client: redis.Redis, key: str, *, customer: str, program_ids: Collection[int] | None
) -> int:
    """Clear a shopper who opted out from the clicks the click stream's dead letters hold (those of
    ``program_ids``; None: of every program), as the opt-out cleared their stored clicks
    (``privacy.service``): the clicks stay, anonymous; how many letters were rewritten. Each keeps its
    place and id, so a replay stores them as anonymous clicks."""
    mine = customer.encode()

    def erased(fields: dict[bytes, bytes]) -> dict[bytes, bytes] | None:
        packed = fields.get(b"clicks")
        if packed is None:  # the earlier one-click format: the customer is a field of its own
            program = whole_number(fields.get(b"program_id", b"").decode())
            if fields.get(b"customer_ref_hash") != mine:
                return None
            if program_ids is not None and program not in program_ids:
                return None
            return {k: v for k, v in fields.items() if k != b"customer_ref_hash"}
        try:
            rows = json.loads(packed)
        except ValueError:
            return None
        if not isinstance(rows, list):
            return None
        changed = False
        for row in rows:
            if not isinstance(row, list) or len(row) != 8 or row[7] != customer:
                continue
            if program_ids is None or row[2] in program_ids:
                row[7] = None
                changed = True
        return {**fields, b"clicks": json.dumps(rows, separators=(",", ":")).encode()} if changed else None

    return rewrite(client, key, erased)


def store_entries(session: Session, entries: list[Entry]) -> int:
    """The clicks of stream entries into the database; returns how many clicks they held."""
    clicks = [click for _, fields in entries for click in unpack(fields)]
    store_clicks(session, clicks)
    return len(clicks)


class StreamConsumer:
    """Moves clicks from the stream into the database in batches."""

    def __init__(
        self,
        client: redis.Redis,
        key: str,
        session_factory: sessionmaker[Session],
        *,
        name: str | None = None,
        batch: int = BATCH,
        lease_ms: int = LEASE_MS,
    ) -> None:
        self.client = client
        self.key = key
        self.factory = session_factory
        self.name = name or f"{socket.gethostname()}-{threading.get_native_id()}"
        self.batch = batch
        self.lease_ms = lease_ms
        self.stored = 0
        self.recovered = 0  # clicks taken over from consumers whose lease lapsed
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._group_ready = False
        # Held from reading entries to storing them: once ``drain`` holds it, nothing this consumer
        # has read is still waiting to be stored.
        self._reading = threading.Lock()

    def _ensure_group(self) -> None:
        if not self._group_ready:
            ensure_group(self.client, self.key, GROUP)
            self._group_ready = True

    def _lease_key(self, name: str) -> str:
        return f"{self.key}:lease:{name}"

    def _renew_lease(self) -> None:
        self.client.set(self._lease_key(self.name), b"1", px=self.lease_ms)

    def _store(self, entries: list[Entry]) -> int:
        """Store the entries' clicks in one transaction, then acknowledge them (never before); returns
        the clicks stored. Entries whose data the database refuses are stored one by one
        (``kit.streams.store_each``): a bad one is logged and stays pending, and goes to the dead
        letters (``<stream>:dead``) after ``kit.dead_letters.MAX_DELIVERIES`` deliveries."""
        if not entries:
            return 0
        before = self.stored
        store_each(self.client, self.key, GROUP, entries, self._store_batch, consumer=self.name)
        return self.stored - before

    def _store_batch(self, entries: list[Entry]) -> None:
        with self.factory() as session, session.begin():
            clicks = store_entries(session, entries)
        self._acknowledge([entry_id for entry_id, _ in entries])
        self.stored += clicks

    def _acknowledge(self, ids: list[bytes]) -> None:
        acknowledge(self.client, self.key, GROUP, ids)

    def recover(self) -> int:
        """Take over, store and acknowledge the pending entries of consumers whose lease lapsed;
        returns the clicks stored."""
        with self._reading:
            self._ensure_group()
            self._renew_lease()
            total = 0
            consumers: Any = self.client.xinfo_consumers(self.key, GROUP)
            for consumer in consumers:
                name = _text(consumer["name"])
                if name == self.name or self.client.exists(self._lease_key(name)):
                    continue
                if int(consumer["pending"]):
                    total += self._take_over(name)
                else:
                    self.client.xgroup_delconsumer(self.key, GROUP, name)
            self.recovered += total
            return total

    def _take_over(self, name: str) -> int:
        total = 0
        while True:
            pending: Any = self.client.xpending_range(
                self.key, GROUP, min="-", max="+", count=self.batch, consumername=name
            )
            if not pending:
                return total
            claimed: Any = self.client.xclaim(
                self.key, GROUP, self.name, RECOVER_MIN_IDLE_MS, [p["message_id"] for p in pending]
            )
            entries = [e for e in claimed if e[1]]
            if not entries:  # another consumer took them a moment ago, or they were deleted
                return total
            log.info("clicks.recovered", consumer=name, entries=len(entries))
            total += self._store(entries)

    def drain_once(self, block_ms: int | None = None) -> int:
        """Store one batch (first entries abandoned by dead consumers); returns clicks stored."""
        with self._reading:
            return self._drain_once(block_ms)[1]

    def _drain_once(self, block_ms: int | None) -> tuple[list[Entry], int]:
        """One batch read and stored: the entries read and the clicks stored."""
        self._ensure_group()
        self._renew_lease()
        entries = next_entries(
            self.client,
            self.key,
            GROUP,
            self.name,
            batch=self.batch,
            block_ms=block_ms,
            claim_idle_ms=CLAIM_IDLE_MS,
        )
        return entries, self._store(entries)

    def drain(self) -> int:
        """Store everything in the stream now, until a read comes back empty, and what dead consumers
        left (shutdown, tests); returns the clicks stored. A batch the database refused goes on to the
        next."""
        total = self.recover()
        while True:
            with self._reading:
                read, stored = self._drain_once(None)
            total += stored
            if not read:
                return total

    def drain_backlog(self) -> int:
        """The scheduled job's drain: what dead consumers left, then the entries the stream holds now,
        not the clicks recorded meanwhile, for ``kit.attempts.RUN_BUDGET_SECONDS`` at most
        (``kit.streams.Backlog``); returns the clicks stored."""
        total = self.recover()
        backlog = Backlog(self.client, self.key)
        while True:
            with self._reading:
                read, stored = self._drain_once(None)
            total += stored
            if backlog.done(read):
                return total

    def start(self) -> None:
        """Consume on a daemon thread until ``stop``."""
        if self._thread is None:
            self._stopping.clear()
            self._thread = threading.Thread(target=self._loop, name="neigou-click-consumer", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        next_recovery = 0.0  # at once: replay what a predecessor read and did not store
        while not self._stopping.is_set():
            try:
                if time.monotonic() >= next_recovery:
                    self.recover()
                    next_recovery = time.monotonic() + self.lease_ms / 2000
                self.drain_once(block_ms=BLOCK_MS)
            except Exception as exc:
                log.warning("clicks.consume_failed", error=error_summary(exc))
                self._stopping.wait(1.0)

    def stop(self) -> None:
        """Stop the thread and store what is in the stream (best effort: what remains waits there)."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        try:
            self.drain()
            self.client.delete(self._lease_key(self.name))  # nothing of ours is pending
        except Exception as exc:
            log.warning("clicks.final_drain_failed", error=error_summary(exc))


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def click_sink(
    factory: sessionmaker[Session], database_url: str, client: redis.Redis | None
) -> tuple[ClickSink, StreamConsumer | None]:
    """Where a recorder's batches go: the database, or (with Redis) the stream and its consumer,
    which the caller starts."""
    if client is None:
        return DatabaseSink(factory), None
    key = stream_key(database_url)
    return RedisStreamSink(client, key), StreamConsumer(client, key, factory)


@job("links.drain_click_stream", cron={"minute": "*/5"}, own_transactions=True)
def drain_click_stream(session: Session, _payload: dict[str, Any], _at: datetime) -> None:
    """Move clicks from the Redis stream into the database (a safety net: web processes consume
    continuously): those in the stream when it starts, for 45 s at most (``drain_backlog``). Each batch is its own transaction on another connection, so the job's key is
    committed first (``own_transactions``: on SQLite it would hold the write lock the batches wait for)."""
    settings = settings_of(session)
    if (redis_url := settings.redis_client_url) is None:
        return
    bind = session.get_bind()
    factory = sessionmaker(bind=bind, expire_on_commit=False)
    client = redis.Redis.from_url(redis_url)
    try:
        consumer = StreamConsumer(client, stream_key(settings.database_url), factory, name="scheduled-drain")
        consumer.drain_backlog()
    finally:
        client.close()
