"""How many of an event's reservations wait in the gate's stream, so that seeding asks one key.

A seeding must not read the database while the stream still holds reservations of the event
(``gate.ReservationGate.seed``). The in-flight hash ``<namespace>:event-inflight`` counts them per
event: the reserve script raises the event's count when it appends an entry (and keeps the entry's id
under ``<event>@`` and, once, the first id it ever counted under ``~from``); the writer takes it down in
the script that deletes the entry from the stream (``ACK_SCRIPT``: stored, a replay, or refused for its
request id and given back), and when the entry is moved to the dead letters. A count that reaches 0 is
removed, so it never goes negative.

The count is trusted only for entries it counted (``in_flight``):

- an entry older than ``~from`` (written by a version without the count, or before the hash was lost:
  evicted, Redis restarted without it) may be uncounted: the stream is scanned instead, as before;
- a count above 0 while the stream's oldest entry is newer than the event's last counted entry is left
  over (a process died between moving an entry to the dead letters and counting it off): none of the
  event's entries can be in the stream (none joins it while the event is unseeded), so it is removed.
"""

from __future__ import annotations

from typing import Any

import redis

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
# Entries stored (or skipped as stored, or refused and given back): KEYS stream, in-flight hash; ARGV
# group, then (entry id, event id or "" for an entry written without the count) pairs. Acknowledged
# and deleted; counted off only when this call deleted it (a second delivery's deletion finds nothing).
ACK_SCRIPT = (
    _OLDER
    + """
for i = 2, #ARGV, 2 do
  redis.call('XACK', KEYS[1], ARGV[1], ARGV[i])
  if redis.call('XDEL', KEYS[1], ARGV[i]) == 1 then counted_off(KEYS[2], ARGV[i], ARGV[i + 1]) end
end
return 1
"""
)
# An entry moved to the dead letters: KEYS in-flight hash; ARGV entry id, event id.
DEAD_SCRIPT = (
    _OLDER
    + """
counted_off(KEYS[1], ARGV[1], ARGV[2])
return 1
"""
)
# A count left over: KEYS in-flight hash; ARGV event id, its last counted entry as the seeding saw it.
# Removed unless an entry was counted since.
HEAL_SCRIPT = """
if (redis.call('HGET', KEYS[1], ARGV[1] .. '@') or '') == ARGV[2] then
  redis.call('HDEL', KEYS[1], ARGV[1], ARGV[1] .. '@')
  return 1
end
return 0
"""


def stream_id(value: bytes | str) -> tuple[int, int]:
    """A stream id as a comparable pair."""
    text = value.decode() if isinstance(value, bytes) else value
    ms, _, seq = text.partition("-")
    return int(ms), int(seq)


def inflight_key(namespace: str) -> str:
    """The in-flight hash of a namespace."""
    return f"{namespace}:event-inflight"


class InFlight:
    """The per-event count of reservations in the stream."""

    def __init__(self, client: redis.Redis, namespace: str, stream: str) -> None:
        self.client = client
        self.key = inflight_key(namespace)
        self.stream = stream
        self._ack = client.register_script(ACK_SCRIPT)
        self._dead = client.register_script(DEAD_SCRIPT)
        self._heal = client.register_script(HEAL_SCRIPT)

    def acknowledge(self, group: str, entries: list[tuple[bytes, dict[bytes, bytes]]]) -> None:
        """Acknowledge and delete stored entries, counting each off its event (one round trip)."""
        args: list[bytes | str] = [group]
        for entry_id, fields in entries:
            args += [entry_id, fields.get(b"e", b"")]
        self._ack(keys=[self.stream, self.key], args=args)

    def dead_lettered(self, entry: tuple[bytes, dict[bytes, bytes]]) -> None:
        """Count off an entry moved to the dead letters."""
        entry_id, fields = entry
        if b"e" in fields:
            self._dead(keys=[self.key], args=[entry_id, fields[b"e"]])

    def check(self, event_id: int, scan: Any) -> bool:
        """Whether a reservation of the event may wait in the stream; ``scan`` (reads the whole stream)
        only when the count cannot be trusted (module docstring)."""
        oldest: Any = self.client.xrange(self.stream, "-", "+", count=1)
        fields: Any = self.client.hmget(self.key, [str(event_id), f"{event_id}@", "~from"])
        count, last, since = fields
        if not oldest:
            if count is not None:
                self._heal(keys=[self.key], args=[event_id, last or b""])
            return False
        first = stream_id(oldest[0][0])
        if since is None or first < stream_id(since):
            return bool(scan(event_id))
        if count is None or int(count) <= 0:
            return False
        if last is None or first > stream_id(last):
            self._heal(keys=[self.key], args=[event_id, last or b""])
            return False
        return True
