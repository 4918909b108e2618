"""A stream entry the database never accepts, set aside after ``MAX_DELIVERIES`` deliveries.

An entry whose data makes its store fail (``UNSTORABLE``: a CHECK it breaks, a value its
column refuses, a field missing) stays pending and is delivered again once idle (XAUTOCLAIM, about once
a minute). Redis counts its deliveries (XPENDING); at the ``MAX_DELIVERIES``-th failure the entry is
moved to the stream's dead-letter stream ``<stream>:dead``, acknowledged and deleted from the stream
in one Lua script (only while the entry is still pending with this consumer: one that took it over
meanwhile, and maybe stored it, has it now; the stream's ``kit.streams.AckHook`` adds to that script
what must not be separated from the deletion, such as a count of the stream's entries, as it does to
the script that acknowledges a stored entry), logged once at error level
(``stream.entry_dead_lettered``: the stream, the entry's id, the reason's stable code, never its data)
and counted (``neigou_stream_dead_letters``).

The dead letters are never trimmed: a letter is a claim or a reservation its shopper was already
answered with. Once a stream holds more than ``DEAD_WARN_LENGTH`` of them, each new one is logged at
error level (``stream.dead_letters_piling_up``) and counted (``neigou_stream_dead_letters_piling_up``),
so an operator replays or drops them before Redis runs out of memory.

A dead letter keeps the entry's fields as they were, beside ``dead:id`` (the entry's id in its stream,
from which the stored row's id is made), ``dead:group``, ``dead:reason`` and ``dead:deliveries``.
``neigou dead-letters`` lists, replays and drops them (``docs/offers.md``, "Dead letters"). An opt-out
rewrites those of its shopper (``rewrite``) under the tombstone it leaves in the database.
"""

from __future__ import annotations

import re
import threading
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import redis
import structlog
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.logging import error_summary
from neigou.kit.metrics import STREAM_DEAD_LETTERS, STREAM_DEAD_LETTERS_PILING_UP

if TYPE_CHECKING:  # kit.streams imports this module
    from redis.commands.core import Script

    from neigou.kit.streams import AckHook

log = structlog.get_logger(__name__)

# Errors an entry's data causes (a CHECK or key it breaks, a value its column refuses, an entry that
# cannot be read): a retry of the same entries fails the same way.
UNSTORABLE = (IntegrityError, DataError, ValueError, KeyError)
MAX_DELIVERIES = 5
DEAD_WARN_LENGTH = 10_000
DEAD_SUFFIX = ":dead"
# The fields a dead letter carries beside the entry's own (no entry's field starts with ``dead:``).
ID, GROUP, REASON, DELIVERIES = b"dead:id", b"dead:group", b"dead:reason", b"dead:deliveries"
_META = (ID, GROUP, REASON, DELIVERIES)
_PAGE = 100
# A constraint's name as ``kit.db``'s naming convention writes it (``ck_coupon_templates_stock``).
_CONSTRAINT = re.compile(r"\b(?:ck|uq|fk|pk)_[a-z0-9_]+\b")
# The move, atomic: only an entry still pending with this consumer (XPENDING names its owner) is added
# to the dead letters (never trimmed), acknowledged and deleted; -1 when another consumer took it over
# (XAUTOCLAIM) or it is no longer pending, else the dead letters' length. The stream's hook's
# ``on_removed`` (``kit.streams.AckHook``) runs in the same script, only when its XDEL removed the entry.
# KEYS: the stream, its dead letters, the hook's keys. ARGV: the group, the consumer, the entry's id,
# how many of the hook's arguments follow, they, then the letter's fields.
_NO_HOOK = "local on_removed = nil\n"
_MOVE = """
local pending = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1)
if #pending == 0 or pending[1][2] ~= ARGV[2] then
    return -1
end
local hooked = tonumber(ARGV[4])
redis.call('XADD', KEYS[2], '*', unpack(ARGV, 5 + hooked))
redis.call('XACK', KEYS[1], ARGV[1], ARGV[3])
if redis.call('XDEL', KEYS[1], ARGV[3]) == 1 and on_removed then
    on_removed({unpack(KEYS, 3)}, ARGV[3], {unpack(ARGV, 5, 4 + hooked)})
end
return redis.call('XLEN', KEYS[2])
"""


_scripts: weakref.WeakKeyDictionary[redis.Redis, dict[str, Script]] = weakref.WeakKeyDictionary()
_scripts_lock = threading.Lock()


def registered_script(client: redis.Redis, lua: str) -> Script:
    """A Lua script registered once per client (and per text: a hook makes its own), however often it
    runs; redis-py loads it into Redis on its first run."""
    with _scripts_lock:
        per_client = _scripts.setdefault(client, {})
        if (script := per_client.get(lua)) is None:
            script = per_client[lua] = client.register_script(lua)
        return script


@dataclass(frozen=True)
class Letter:
    """A dead letter: its own id, its entry's id in the stream, why and after how many deliveries."""

    id: bytes
    entry_id: bytes
    reason: str
    deliveries: int
    fields: dict[bytes, bytes]

    @property
    def entry(self) -> tuple[bytes, dict[bytes, bytes]]:
        """The entry as its stream gave it (its id and fields)."""
        return self.entry_id, {k: v for k, v in self.fields.items() if k not in _META}


class EntryRefused(ValueError):
    """An entry its store refuses for good by a rule of its domain, named by a stable ``code`` (the
    dead letter's reason): no later delivery would store it, so it is moved to the dead letters at its
    first (``kit.streams.StreamWriter.set_aside``)."""

    def __init__(self, code: str, text: str) -> None:
        super().__init__(text)
        self.code = code


def dead_key(key: str) -> str:
    """The dead-letter stream of a stream."""
    return key + DEAD_SUFFIX


def reason_code(exc: BaseException) -> str:
    """A stable code for why an entry cannot be stored: the constraint it breaks when the database
    names it, a rule's own code (``EntryRefused``), else the kind of failure (never the message: it may quote
    the entry's values)."""
    if isinstance(exc, EntryRefused):
        return exc.code
    if isinstance(exc, IntegrityError | DataError):
        found = _CONSTRAINT.search(str(exc.orig))
        if found:
            return found.group(0)
        return "integrity_error" if isinstance(exc, IntegrityError) else "data_error"
    if isinstance(exc, KeyError):
        return "missing_field"
    return "bad_value"


def deliveries(client: redis.Redis, key: str, group: str, entry_id: bytes) -> int:
    """How many times the group has delivered a pending entry (0 when it is not pending)."""
    found: Any = client.xpending_range(key, group, min=entry_id, max=entry_id, count=1)
    return int(found[0]["times_delivered"]) if found else 0


def give_up_or_keep(
    client: redis.Redis,
    key: str,
    group: str,
    entry: tuple[bytes, dict[bytes, bytes]],
    exc: Exception,
    *,
    consumer: str,
    max_deliveries: int = MAX_DELIVERIES,
    hook: AckHook | None = None,
) -> bool:
    """An entry its store refused: moved to the dead letters once delivered ``max_deliveries`` times
    (True), else logged and left pending for its next delivery (False). Not moved (False, logged at
    debug level) when ``consumer`` no longer holds it: another consumer took it over and stores it.
    The stream's ``hook`` runs in the move's own script (``kit.streams.AckHook``); the script is
    registered once per client."""
    entry_id, fields = entry
    reason = reason_code(exc)
    delivered = deliveries(client, key, group, entry_id)
    if delivered < max_deliveries:
        log.warning(
            "stream.entry_unstorable",
            stream=group,
            entry=entry_id.decode(),
            reason=reason,
            deliveries=delivered,
            error=error_summary(exc),
        )
        return False
    letter = {**fields, ID: entry_id, GROUP: group.encode(), REASON: reason.encode()}
    letter[DELIVERIES] = str(delivered).encode()
    flat = [part for pair in letter.items() for part in pair]
    keys: list[str] = [key, dead_key(key)]
    extra: list[bytes | str] = []
    if hook is not None:
        keys += hook.keys
        extra = hook.args(entry)
    move = registered_script(client, (hook.lua if hook is not None else _NO_HOOK) + _MOVE)
    length = int(move(keys=keys, args=[group, consumer, entry_id, len(extra), *extra, *flat]))
    if length < 0:
        log.debug("stream.entry_taken_over", stream=group, entry=entry_id.decode(), consumer=consumer)
        return False
    STREAM_DEAD_LETTERS.labels(stream=group).inc()
    log.error(
        "stream.entry_dead_lettered",
        stream=group,
        entry=entry_id.decode(),
        reason=reason,
        deliveries=delivered,
        error=error_summary(exc),
    )
    if length > DEAD_WARN_LENGTH:
        STREAM_DEAD_LETTERS_PILING_UP.labels(stream=group).inc()
        log.error("stream.dead_letters_piling_up", stream=group, length=length, threshold=DEAD_WARN_LENGTH)
    return True


def letters(client: redis.Redis, key: str) -> Iterator[Letter]:
    """A stream's dead letters, oldest first."""
    start = "-"
    while True:
        found: Any = client.xrange(dead_key(key), start, "+", count=_PAGE)
        for letter_id, fields in found:
            yield Letter(letter_id, fields[ID], fields[REASON].decode(), int(fields[DELIVERIES]), fields)
        if len(found) < _PAGE:
            return
        start = "(" + found[-1][0].decode()


def replay(
    client: redis.Redis,
    key: str,
    factory: sessionmaker[Session],
    store: Callable[[Session, list[tuple[bytes, dict[bytes, bytes]]]], int],
) -> tuple[int, int]:
    """Store each dead letter as its entry, under its id in the stream (a claim keeps the id its shopper
    was answered with), each in its own transaction, and delete those stored; a letter the database
    still refuses stays. Returns (stored, kept). ``store`` skips an entry stored already, as for the
    stream, so a replay may be repeated."""
    stored = kept = 0
    for letter in list(letters(client, key)):
        try:
            with factory() as session, session.begin():
                store(session, [letter.entry])
        except UNSTORABLE as exc:
            kept += 1
            log.warning(
                "stream.dead_letter_kept",
                letter=letter.id.decode(),
                entry=letter.entry_id.decode(),
                reason=reason_code(exc),
            )
            continue
        client.xdel(dead_key(key), letter.id)
        stored += 1
    return stored, kept


def rewrite(
    client: redis.Redis, key: str, change: Callable[[dict[bytes, bytes]], dict[bytes, bytes] | None]
) -> int:
    """Rewrite the dead letters ``change`` changes (it answers a letter's new entry fields, or None to
    leave it): each is added again with them, its ``dead:`` fields kept (so a replay stores it under
    the same id), and deleted, in one transaction; all are read (in pages) before the first is
    rewritten. Returns how many were rewritten."""
    rewritten = 0
    for letter in list(letters(client, key)):
        fields = change(letter.entry[1])
        if fields is None:
            continue
        kept = {k: v for k, v in letter.fields.items() if k in _META}
        pipe = client.pipeline(transaction=True)
        letter_fields: dict[Any, Any] = {**fields, **kept}
        pipe.xadd(dead_key(key), letter_fields)
        pipe.xdel(dead_key(key), letter.id)
        pipe.execute()
        rewritten += 1
    return rewritten


def forget(client: redis.Redis, key: str, letter_ids: list[bytes]) -> int:
    """Delete dead letters (given up by an operator); returns how many there were."""
    return int(client.xdel(dead_key(key), *letter_ids)) if letter_ids else 0
