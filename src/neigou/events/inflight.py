"""How many of an event's reservations wait in the gate's stream, so that seeding asks one key.

A seeding must not read the database while the stream still holds reservations of the event
(``gate.ReservationGate.seed``). The in-flight hash ``<namespace>:event-inflight`` counts them per
event: the reserve script raises the event's count when it appends an entry (and keeps the entry's id
under ``<event>@`` and, once, the first id it ever counted under ``~from``); the writer takes it down in
the script that deletes the entry from the stream, with one hook (``HOOK_LUA``, the stream writer's
``kit.streams.AckHook``) that runs both where a stored entry is acknowledged (stored, a replay, or
refused for its request id and given back) and where an entry is moved to the dead letters: each only
when its XDEL removed the entry. A count that reaches 0 is removed, so it never goes negative.

The count is trusted only for entries it counted, and read in one script (``CHECK_SCRIPT``):

- an entry older than ``~from`` (written by a version without the count, or before the hash was lost:
  evicted, Redis restarted without it) may be uncounted: the stream is scanned instead, as before;
- a count above 0 while the stream's oldest entry is newer than the event's last counted entry (or the
  stream is empty) is left over (an older process moved an entry to the dead letters without counting it
  off): none of the event's entries can be in the stream (none joins it while the event is unseeded), so
  it is removed;
- a count above 0 while the stream's oldest entry is older than ``STALE_MS`` may be left over too, behind
  an entry that stays (the writer stopped, the database away): the stream is scanned, so a count that
  is too high holds the event's seeding back no longer than that.

A scan that finds none of the event's entries removes its count (``RESET_SCRIPT``), unless a reservation
of the event was counted since the check read it (its last counted id moved): the next check trusts
the count again instead of scanning until the old entry leaves the stream.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import redis

from neigou.kit.dead_letters import MAX_DELIVERIES
from neigou.kit.streams import CLAIM_IDLE_MS, AckHook, Entry

_OLDER = """
local function id_of(s)
  local ms, seq = string.match(s, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end
local function older(a, b)
  local am, as = id_of(a)
  local bm, bs = id_of(b)
  return am < bm or (am == bm and as < bs)
end
local function counted_off(hash, id, event)
  local from = redis.call('HGET', hash, '~from')
  if event == '' or not from or older(id, from) then return end
  if redis.call('HINCRBY', hash, event, -1) <= 0 then redis.call('HDEL', hash, event, event .. '@') end
end
"""
# An entry deleted from the stream (stored, skipped as stored, refused and given back, or moved to the
# dead letters), counted off its event in the deleting script, only when its XDEL removed it (a second
# delivery's deletion finds nothing): keys the in-flight hash; args the entry's event id ("" for an
# entry written without the count).
HOOK_LUA = (
    _OLDER
    + """
local function on_removed(keys, id, args) counted_off(keys[1], id, args[1]) end
"""
)
# Whether the event's reservations may wait in the stream, in one script (nothing is counted between
# the reads and the heal): KEYS stream, in-flight hash; ARGV event id, the bound in ms. {0} none (a count
# left over is removed), {1} some, {2, the event's last counted id or ""} read the stream (the count may
# not know its entries, or it says some while the stream's oldest entry is older than the bound: a
# count-off may have been lost).
CHECK_SCRIPT = (
    _OLDER
    + """
local oldest = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)
local found = redis.call('HMGET', KEYS[2], ARGV[1], ARGV[1] .. '@', '~from')
local count, last, since = found[1], found[2], found[3]
local function heal()
  if count then redis.call('HDEL', KEYS[2], ARGV[1], ARGV[1] .. '@') end
  return 0
end
if #oldest == 0 then return {heal()} end
local first = oldest[1][1]
if not since or older(first, since) then return {2, last or ''} end
if not count or tonumber(count) <= 0 then return {0} end
if not last or older(last, first) then return {heal()} end
local now = redis.call('TIME')
if id_of(first) < tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) - tonumber(ARGV[2]) then
  return {2, last or ''}
end
return {1}
"""
)
# A scan of the stream found none of the event's entries: its count is left over and removed, unless a
# reservation of the event was counted since the check (its last counted id is no longer the one the
# check read; the reserve script moves it in the step that appends the entry). KEYS in-flight hash;
# ARGV event id, the last counted id the check read ("" none). 1 removed, 0 kept.
RESET_SCRIPT = """
if (redis.call('HGET', KEYS[1], ARGV[1] .. '@') or '') ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1], ARGV[1] .. '@')
return 1
"""
# Longer than any entry stays in the stream unstored without being moved to the dead letters while the
# writer runs (``MAX_DELIVERIES`` deliveries, one per ``CLAIM_IDLE_MS``), with a margin.
STALE_MS = 2 * MAX_DELIVERIES * CLAIM_IDLE_MS


def inflight_key(namespace: str) -> str:
    """The in-flight hash of a namespace."""
    return f"{namespace}:event-inflight"


class InFlight:
    """The per-event count of reservations in the stream."""

    def __init__(self, client: redis.Redis, namespace: str, stream: str) -> None:
        self.client = client
        self.key = inflight_key(namespace)
        self.stream = stream
        self.stale_ms = STALE_MS
        self._check = client.register_script(CHECK_SCRIPT)
        self._reset = client.register_script(RESET_SCRIPT)

    def ack_hook(self) -> AckHook:
        """Counts an entry off its event in the script that deletes it from the stream, whether stored
        or moved to the dead letters."""

        def event_of(entry: Entry) -> list[bytes | str]:
            return [entry[1].get(b"e", b"")]

        return AckHook(HOOK_LUA, (self.key,), event_of)

    def check(self, event_id: int, scan: Callable[[int], bool]) -> bool:
        """Whether a reservation of the event may wait in the stream (one script, ``CHECK_SCRIPT``);
        ``scan`` (reads the whole stream) only when the count cannot be trusted (module docstring); a
        scan that finds none of the event's entries removes the count left over (``RESET_SCRIPT``)."""
        answer: Any = self._check(keys=[self.stream, self.key], args=[event_id, self.stale_ms])
        if int(answer[0]) != 2:
            return int(answer[0]) == 1
        if scan(event_id):
            return True
        self._reset(keys=[self.key], args=[event_id, answer[1]])
        return False
