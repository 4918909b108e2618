"""Rows written behind a Redis stream: producers XADD, a consumer in a consumer group stores batches.

A consumer reads entries with XREADGROUP, hands a batch to its ``store`` function in one database
transaction, and only then XACKs and XDELs the entries. A consumer that dies before acknowledging
leaves its entries pending; another claims them after ``CLAIM_IDLE_MS`` (XAUTOCLAIM). Delivery is at
least once, so ``store`` must skip what it stored already (a unique id per entry). A batch that one
entry's data makes fail is stored entry by entry (``store_each``): the others are stored, the bad entry
is logged and stays pending, and after ``kit.dead_letters.MAX_DELIVERIES`` deliveries it is moved to
the stream's dead letters (``<stream>:dead``).

An ``AckHook`` adds to the script that deletes an entry from the stream what must not be separated
from its deletion (a count of the stream's entries taken down): the same hook runs when a stored entry
is acknowledged and when an entry is moved to the dead letters, each time only when that script's XDEL
removed the entry (a second delivery's deletion finds nothing).

The scheduled jobs' drains (``drain_backlog``) are bounded: they handle the entries the stream held
when they started (and what dead consumers left pending), not what producers add meanwhile, and give
up after ``kit.attempts.RUN_BUDGET_SECONDS`` (``Backlog``). Each read is non-blocking, so a drain
that went on until a read came back empty ran as long as a burst of traffic lasted (a flash sale),
holding back what the job does after it (the settlement of holds) while each later run joined it.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from time import monotonic
from typing import Any

import redis
import structlog
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.attempts import RunBudget
from neigou.kit.dead_letters import UNSTORABLE, give_up_or_keep, registered_script
from neigou.kit.ids import digest
from neigou.kit.logging import error_summary

log = structlog.get_logger(__name__)


def namespace(database_url: str) -> str:
    """The Redis key prefix of a database (click stream, stock gate, rate limits, robot budgets), so
    deployments and test runs (each worker its own database) sharing a Redis never mix."""
    return "neigou:" + digest(database_url)[:10]


CLAIM_IDLE_MS = 60_000
# How long a shutdown waits in all for the streams' last drains (``stop_together``).
SHUTDOWN_S = 30.0
Entry = tuple[bytes, dict[bytes, bytes]]
Store = Callable[[Session, list[Entry]], int]
# Stored entries acknowledged and deleted in one script, an ``AckHook``'s ``on_removed`` called for each
# that its XDEL removed. KEYS: the stream, the hook's keys. ARGV: the group, then per entry its id, how
# many of the hook's arguments follow, they.
_ACK = """
local hook_keys = {unpack(KEYS, 2)}
local i = 2
while i <= #ARGV do
  local n = tonumber(ARGV[i + 1])
  redis.call('XACK', KEYS[1], ARGV[1], ARGV[i])
  if redis.call('XDEL', KEYS[1], ARGV[i]) == 1 then
    on_removed(hook_keys, ARGV[i], {unpack(ARGV, i + 2, i + 1 + n)})
  end
  i = i + 2 + n
end
return 1
"""


@dataclass(frozen=True)
class AckHook:
    """More done in the script that deletes an entry from the stream, so that nothing can run between
    the deletion and it: ``lua`` defines ``local function on_removed(keys, id, args)``, called with
    ``keys``, the entry's id and ``args(entry)`` only when the script's XDEL removed the entry, whether
    the entry was stored (``acknowledge_entries``) or moved to the dead letters
    (``kit.dead_letters.give_up_or_keep``). The kit knows nothing of what the hook does."""

    lua: str
    keys: tuple[str, ...]
    args: Callable[[Entry], list[bytes | str]]


def id_from_stream(stream_id: str, epoch_ms: int) -> int:
    """``ms-seq`` → an integer increasing with the stream: milliseconds since ``epoch_ms`` times 2**16
    plus the sequence number (below 2**53 for a century, so JSON clients read it exactly)."""
    ms, _, seq = stream_id.partition("-")
    return (int(ms) - epoch_ms) * 65_536 + int(seq)


def _position(entry_id: bytes | str) -> tuple[int, int]:
    """A stream id ``ms-seq`` as a pair that orders as the stream does."""
    text = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    ms, _, seq = text.partition("-")
    return int(ms), int(seq or 0)


class Backlog:
    """What a scheduled drain handles: the entries its stream held when it started. Made before the
    first read, it notes the newest entry's id (XREVRANGE ``+ - COUNT 1``); :meth:`done` after each
    batch tells the drain to stop once a read came back empty, handed an entry added since (that batch
    is stored all the same: nothing read is left behind, so a drain goes at most one batch past its
    start), or ``kit.attempts.RUN_BUDGET_SECONDS`` have passed (on this module's ``monotonic``). What
    it leaves waits in the stream for the consumers and the next run."""

    def __init__(self, client: redis.Redis, key: str) -> None:
        newest: Any = client.xrevrange(key, "+", "-", count=1)
        self._last = _position(newest[0][0]) if newest else None
        self._budget = RunBudget(monotonic)

    def done(self, entries: Sequence[Entry]) -> bool:
        """Whether the drain stops after handling ``entries``, the batch it just read."""
        if not entries or self._last is None:
            return True
        if any(_position(entry_id) > self._last for entry_id, _ in entries):
            return True
        return self._budget.spent()


def ensure_group(client: redis.Redis, key: str, group: str) -> None:
    """Create the consumer group, and the stream with it, unless it exists."""
    try:
        client.xgroup_create(key, group, id="0", mkstream=True)
    except redis.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


def next_entries(
    client: redis.Redis,
    key: str,
    group: str,
    name: str,
    *,
    batch: int,
    block_ms: int | None,
    claim_idle_ms: int = CLAIM_IDLE_MS,
) -> list[Entry]:
    """A consumer's next batch: entries abandoned by dead consumers (idle past ``claim_idle_ms``,
    XAUTOCLAIM) first, else new ones (XREADGROUP, waiting up to ``block_ms``)."""
    claimed: Any = client.xautoclaim(key, group, name, claim_idle_ms, "0-0", count=batch)
    stale = [e for e in claimed[1] if e[1]] if claimed else []
    if stale:
        return stale
    answer: Any = client.xreadgroup(group, name, {key: ">"}, count=batch, block=block_ms)
    return answer[0][1] if answer else []


def store_each(
    client: redis.Redis,
    key: str,
    group: str,
    entries: list[Entry],
    store_batch: Callable[[list[Entry]], object],
    *,
    consumer: str,
    hook: AckHook | None = None,
) -> None:
    """``store_batch`` (which stores and acknowledges) on the entries together; when their data makes it
    fail (``UNSTORABLE``), on each entry alone, so one bad entry holds back no other. A bad entry is
    logged and left pending, or moved to the dead letters once delivered too often, only while
    ``consumer`` still holds it (``kit.dead_letters.give_up_or_keep``; the stream's ``hook`` runs in
    the move's own script). Other errors (the database away, a deadlock) propagate."""

    def give_up(entry: Entry, exc: Exception) -> None:
        give_up_or_keep(client, key, group, entry, exc, consumer=consumer, hook=hook)

    try:
        store_batch(entries)
        return
    except UNSTORABLE as exc:
        if len(entries) == 1:
            give_up(entries[0], exc)
            return
    for entry in entries:
        try:
            store_batch([entry])
        except UNSTORABLE as one:
            give_up(entry, one)


def acknowledge(client: redis.Redis, key: str, group: str, ids: list[bytes]) -> None:
    """Acknowledge and delete stored entries in one round trip (only once they are in the database)."""
    pipe = client.pipeline(transaction=False)
    pipe.xack(key, group, *ids)
    pipe.xdel(key, *ids)
    pipe.execute()


def acknowledge_entries(
    client: redis.Redis, key: str, group: str, entries: list[Entry], *, hook: AckHook | None = None
) -> None:
    """Acknowledge and delete stored entries in one round trip, the ``hook`` run in the same script for
    each entry its deletion removed (``AckHook``)."""
    if hook is None:
        acknowledge(client, key, group, [entry_id for entry_id, _ in entries])
        return
    args: list[bytes | str | int] = [group]
    for entry in entries:
        more = hook.args(entry)
        args += [entry[0], len(more), *more]
    registered_script(client, hook.lua + _ACK)(keys=[key, *hook.keys], args=args)


class StreamWriter:
    """Moves a stream's entries into the database in batches, on a thread or on demand."""

    def __init__(
        self,
        client: redis.Redis,
        key: str,
        group: str,
        factory: sessionmaker[Session],
        store: Store,
        *,
        name: str | None = None,
        batch: int = 1000,
    ) -> None:
        self.client = client
        self.key = key
        self.group = group
        self.factory = factory
        self.store = store
        self.name = name or f"{socket.gethostname()}-{threading.get_native_id()}"
        self.batch = batch
        self.claim_idle_ms = CLAIM_IDLE_MS
        # More done in the scripts that delete an entry from the stream, stored or moved to the dead
        # letters (a subclass's count of entries, ``AckHook``).
        self.ack_hook: AckHook | None = None
        self.stored = 0
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._group_ready = False
        self._reading = threading.Lock()

    def _ensure_group(self) -> None:
        if not self._group_ready:
            ensure_group(self.client, self.key, self.group)
            self._group_ready = True

    def _store(self, entries: list[Entry]) -> int:
        """Store and acknowledge a batch; returns the entries handled. A batch that its data makes fail
        (``UNSTORABLE``) is stored entry by entry (``store_each``), so one bad entry does not hold back
        the others at every retry: those stored are acknowledged, a bad one is logged
        (``stream.entry_unstorable``) and left pending, to be tried again once idle (``CLAIM_IDLE_MS``),
        until its ``MAX_DELIVERIES``-th delivery moves it to the dead letters. Other errors (the
        database away, a deadlock) propagate and the whole batch is retried."""
        if not entries:
            return 0
        store_each(
            self.client,
            self.key,
            self.group,
            entries,
            self._store_batch,
            consumer=self.name,
            hook=self.ack_hook,
        )
        return len(entries)

    def _store_batch(self, entries: list[Entry]) -> None:
        with self.factory() as session, session.begin():
            stored = self.store(session, entries)
        self.acknowledge(entries)
        self.stored += stored

    def set_aside(self, entries: list[Entry], exc: Exception) -> None:
        """Move entries the store refused for good (``kit.dead_letters.EntryRefused``) to the dead letters at
        once, logged and counted as every dead letter, with the ``ack_hook`` in the move's script."""
        for entry in entries:
            give_up_or_keep(
                self.client,
                self.key,
                self.group,
                entry,
                exc,
                consumer=self.name,
                max_deliveries=1,
                hook=self.ack_hook,
            )

    def acknowledge(self, entries: list[Entry]) -> None:
        """Acknowledge and delete a stored batch, with the ``ack_hook`` in the same script."""
        acknowledge_entries(self.client, self.key, self.group, entries, hook=self.ack_hook)

    def drain_once(self, block_ms: int | None = None) -> int:
        """Store one batch (first entries abandoned by dead consumers); returns entries handled."""
        return len(self._drain_batch(block_ms))

    def _drain_batch(self, block_ms: int | None) -> list[Entry]:
        """One batch read and stored (under the reading lock); the entries read."""
        with self._reading:
            self._ensure_group()
            entries = next_entries(
                self.client,
                self.key,
                self.group,
                self.name,
                batch=self.batch,
                block_ms=block_ms,
                claim_idle_ms=self.claim_idle_ms,
            )
            self._store(entries)
            return entries

    def drain(self) -> int:
        """Store everything in the stream now, until a read comes back empty (shutdown, tests)."""
        total = 0
        while (handled := self.drain_once()) > 0:
            total += handled
        return total

    def drain_backlog(self) -> int:
        """The scheduled job's drain: store the entries the stream holds now and those dead consumers
        left, not what producers add meanwhile, for ``RUN_BUDGET_SECONDS`` at most (``Backlog``);
        returns entries handled."""
        self._ensure_group()
        backlog = Backlog(self.client, self.key)
        total = 0
        while True:
            entries = self._drain_batch(None)
            total += len(entries)
            if backlog.done(entries):
                return total

    def start(self) -> None:
        """Consume on a daemon thread until ``stop``."""
        if self._thread is None:
            self._stopping.clear()
            self._thread = threading.Thread(target=self._loop, name=f"neigou-{self.group}", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                self.drain_once(block_ms=200)
            except Exception as exc:
                log.warning("stream.write_failed", stream=self.group, error=error_summary(exc))
                self._stopping.wait(1.0)

    def stop(self) -> None:
        """Stop the thread and store what is in the stream (best effort: what remains waits there)."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        try:
            self.drain()
        except Exception as exc:
            log.warning("stream.final_drain_failed", stream=self.group, error=error_summary(exc))


def stop_together(stops: Sequence[Callable[[], None]], *, within: float = SHUTDOWN_S) -> None:
    """Run ``stops`` side by side, each on a thread of its own, and wait for them ``within`` seconds in
    all. A Redis that accepts connections and never answers makes each stream's last drain wait its
    own socket timeouts: one after the other, a shutdown waited their sum, growing with every stream.
    A stop still running at the deadline is left behind (a daemon thread; what it had not stored
    waits in its stream for the next consumer)."""
    deadline = time.monotonic() + within

    def run(stop: Callable[[], None]) -> None:
        try:
            stop()
        except Exception as exc:
            log.warning("stream.stop_failed", error=error_summary(exc))

    threads = [threading.Thread(target=run, args=(stop,), name="neigou-stop", daemon=True) for stop in stops]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    if late := sum(thread.is_alive() for thread in threads):
        log.warning("stream.stop_late", still_stopping=late, within=within)
