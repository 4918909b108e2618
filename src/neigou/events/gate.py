"""The reservation gate on Redis: eligibility, per-person limit and stock in one Lua script.

With Redis configured, a reservation never reads the database on its way: one atomic script checks
that the shopper is invited (an employee number on the whitelist, or an invitation code that is
unbound or bound to this shopper), that the shopper stays within the sku's per-person limit and that
stock is left; it then raises both counters, binds the invitation and appends the reservation to a
Redis stream in the same step. ``writer.ReservationWriter`` moves the stream into the database in
batches, as clicks are moved. Sold-out, over-limit and uninvited attempts are answered by Redis alone,
and so is a retry under a request id already used (the script keeps each key with what it made).

An event's state is seeded from the database the first time it is seen (``seed``: counters, the
whitelist, the invitations and their bindings, the request ids of stored reservations) and lives until
a day after the event ends. Keys carry
the event's creation instant, so a restored or re-numbered database never meets old counters.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import redis

from neigou.kit.streams import id_from_stream

# KEYS: stock hash (sku → units), customer hash (sku|customer → units), employees set,
# invitations hash (code → bound customer or ""), reservation stream, seeded marker,
# requests hash (request id → "stream id|" and the terms kept with it, see ``Prior``).
# ARGV: sku, customer, quantity, stock, per-person limit, mode ("e" employee, "i" invitation),
# employee number or code, the reservation as JSON (without id), request id ("" none), the terms kept
# with the request id ("customer|quantity|price|expires|sku").
# Returns {1, stream id} or {2, what the request id holds} (a retry) or {-1} limit reached,
# {-2} sold out, {-3} not seeded, {-4} not invited.
RESERVE_SCRIPT = """
if redis.call('EXISTS', KEYS[6]) == 0 then return {-3} end
if ARGV[9] ~= '' then
  local prior = redis.call('HGET', KEYS[7], ARGV[9])
  if prior then return {2, prior} end
end
if ARGV[6] == 'e' then
  if redis.call('SISMEMBER', KEYS[3], ARGV[7]) == 0 then return {-4} end
else
  local bound = redis.call('HGET', KEYS[4], ARGV[7])
  if not bound or (bound ~= '' and bound ~= ARGV[2]) then return {-4} end
end
local q = tonumber(ARGV[3])
local field = ARGV[1] .. '|' .. ARGV[2]
if tonumber(redis.call('HGET', KEYS[2], field) or '0') + q > tonumber(ARGV[5]) then return {-1} end
if tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0') + q > tonumber(ARGV[4]) then return {-2} end
redis.call('HINCRBY', KEYS[2], field, q)
redis.call('HINCRBY', KEYS[1], ARGV[1], q)
if ARGV[6] == 'i' then redis.call('HSET', KEYS[4], ARGV[7], ARGV[2]) end
local id = redis.call('XADD', KEYS[5], '*', 'r', ARGV[8])
if ARGV[9] ~= '' then redis.call('HSET', KEYS[7], ARGV[9], id .. '|' .. ARGV[10]) end
return {1, id}
"""
# Give units back (an expired hold): ARGV pairs of (sku, customer, units).
RETURN_SCRIPT = """
for i = 1, #ARGV, 3 do
  local q = tonumber(ARGV[i + 2])
  local left = redis.call('HINCRBY', KEYS[1], ARGV[i], -q)
  if left < 0 then redis.call('HSET', KEYS[1], ARGV[i], 0) end
  local field = ARGV[i] .. '|' .. ARGV[i + 1]
  local mine = redis.call('HINCRBY', KEYS[2], field, -q)
  if mine <= 0 then redis.call('HDEL', KEYS[2], field) end
end
return 1
"""
# An opt-out (``erasure``): KEYS customer hash, invitations hash, requests hash; ARGV customer,
# tombstone, the event's skus. The customer's counters, invitation bindings and the requests they made
# move to the tombstone (hashes are hex and tombstones ``erased:`` and hex: no pattern characters).
REKEY_SCRIPT = """
local moved = 0
for i = 3, #ARGV do
  local from = ARGV[i] .. '|' .. ARGV[1]
  local units = redis.call('HGET', KEYS[1], from)
  if units then
    redis.call('HDEL', KEYS[1], from)
    redis.call('HINCRBY', KEYS[1], ARGV[i] .. '|' .. ARGV[2], tonumber(units))
    moved = moved + 1
  end
end
local bound = redis.call('HGETALL', KEYS[2])
for i = 1, #bound, 2 do
  if bound[i + 1] == ARGV[1] then
    redis.call('HSET', KEYS[2], bound[i], ARGV[2])
    moved = moved + 1
  end
end
local asked = redis.call('HGETALL', KEYS[3])
local mine = '|' .. ARGV[1] .. '|'
for i = 1, #asked, 2 do
  if string.find(asked[i + 1], mine, 1, true) then
    redis.call('HSET', KEYS[3], asked[i], (string.gsub(asked[i + 1], mine, '|' .. ARGV[2] .. '|', 1)))
    moved = moved + 1
  end
end
return moved
"""

# Reservation ids are made from stream ids (``kit.streams.id_from_stream``) counted from this epoch.
ID_EPOCH_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z
SEED_LOCK_SECONDS = 30


@dataclass(frozen=True)
class Seed:
    """An event's state as the database holds it (``seeds.seed_state`` reads it)."""

    stock: dict[str, int]
    customers: dict[str, int]
    employees: list[str]
    invitations: dict[str, str]
    requests: dict[str, str] = field(default_factory=dict)  # request id → ``Prior.held`` of a stored one


@dataclass(frozen=True)
class Prior:
    """The reservation a request id made, as the gate keeps it: enough to answer a retry and to tell
    a retry from another reservation under the same key."""

    id: int
    customer: str
    quantity: int
    price_fen: int
    expires_at: datetime
    sku: str

    @staticmethod
    def terms(customer: str, quantity: int, price_fen: int, expires_at: datetime, sku: str) -> str:
        """What is kept after the id (the sku last: it may hold ``|``)."""
        return f"{customer}|{quantity}|{price_fen}|{expires_at.isoformat()}|{sku}"

    @classmethod
    def held(cls, reservation: int, terms: str) -> str:
        """The value of a stored reservation (``#`` and its id where the script writes a stream id)."""
        return f"#{reservation}|{terms}"

    @classmethod
    def parse(cls, value: str) -> Prior:
        made, customer, quantity, price, expires, sku = value.split("|", 5)
        number = int(made[1:]) if made.startswith("#") else reservation_id(made)
        return cls(number, customer, int(quantity), int(price), datetime.fromisoformat(expires), sku)


_CODES = {
    1: "taken",
    2: "replayed",
    -1: "limit_reached",
    -2: "sold_out",
    -3: "not_seeded",
    -4: "not_invited",
}


class GateResult:
    """What the script answered: ``code`` (taken, replayed, limit_reached, sold_out, not_seeded,
    not_invited)."""

    def __init__(self, answer: list[Any]) -> None:
        self.code = _CODES[int(answer[0])]
        self.stream_id = answer[1].decode() if len(answer) > 1 and self.code == "taken" else None
        self.prior = Prior.parse(answer[1].decode()) if self.code == "replayed" else None

    @property
    def reservation_id(self) -> int:
        """The reservation's id, made from its stream entry's id."""
        assert self.stream_id is not None
        return reservation_id(self.stream_id)


def _any(mapping: Mapping[str, Any]) -> Mapping[Any, Any]:
    """A mapping as redis-py's invariant key type takes it."""
    return mapping


def reservation_id(stream_id: str) -> int:
    """The id of the reservation recorded under a stream id."""
    return id_from_stream(stream_id, ID_EPOCH_MS)


class ReservationGate:
    """The Redis side of reservations."""

    @staticmethod
    def stream_of(namespace: str) -> str:
        """The reservation stream of a namespace."""
        return f"{namespace}:event-reservations"

    def __init__(self, client: redis.Redis, namespace: str) -> None:
        self.client = client
        self.namespace = namespace
        self.stream = self.stream_of(namespace)
        self._reserve = client.register_script(RESERVE_SCRIPT)
        self._return = client.register_script(RETURN_SCRIPT)
        self._rekey = client.register_script(REKEY_SCRIPT)

    def base(self, event_id: int, created_at: datetime) -> str:
        """The key prefix of one event incarnation."""
        return f"{self.namespace}:event:{event_id}:{int(created_at.timestamp() * 1_000_000)}"

    def _keys(self, base: str) -> list[str]:
        return [
            f"{base}:stock",
            f"{base}:cust",
            f"{base}:emp",
            f"{base}:inv",
            self.stream,
            f"{base}:seeded",
            f"{base}:req",
        ]

    def reserve(
        self,
        base: str,
        *,
        sku: str,
        customer: str,
        quantity: int,
        stock: int,
        limit: int,
        employee_no: str | None,
        invitation_code: str | None,
        record: dict[str, Any],
        request_id: str | None = None,
        terms: str = "",
    ) -> GateResult:
        """Take ``quantity`` units for the shopper and append the reservation to the stream, or say why not;
        under a ``request_id`` already used, what it made (``replayed``) and nothing taken."""
        mode, who = ("e", employee_no) if employee_no is not None else ("i", invitation_code)
        answer = self._reserve(
            keys=self._keys(base),
            args=[
                sku,
                customer,
                quantity,
                stock,
                limit,
                mode,
                who or "",
                json.dumps(record),
                request_id or "",
                terms,
            ],
        )
        return GateResult(answer)

    def prior(self, base: str, request_id: str) -> tuple[Prior | None, bool]:
        """What ``request_id`` made in a seeded event, and whether the event is seeded (one round trip)."""
        pipe = self.client.pipeline(transaction=False)
        pipe.hget(f"{base}:req", request_id)
        pipe.exists(f"{base}:seeded")
        value, seeded = pipe.execute()
        return (Prior.parse(value.decode()) if value else None), bool(seeded)

    def seeded(self, base: str) -> bool:
        """Whether the event's state is in Redis."""
        return bool(self.client.exists(f"{base}:seeded"))

    def seed(self, base: str, seed: Seed, *, expire_at: datetime) -> bool:
        """Load the event's state (once: False when another process holds the seeding lock)."""
        lock = f"{base}:seeding"
        if not self.client.set(lock, "1", nx=True, ex=SEED_LOCK_SECONDS):
            return False
        try:
            if self.seeded(base):  # seeded by another caller since this one looked
                return True
            stock, cust, emp, inv, _, marker, req = self._keys(base)
            pipe = self.client.pipeline(transaction=True)
            pipe.delete(stock, cust, emp, inv, req)
            pipe.hset(stock, mapping=_any({"": 0, **seed.stock}))
            if seed.customers:
                pipe.hset(cust, mapping=_any(seed.customers))
            if seed.employees:
                pipe.sadd(emp, *seed.employees)
            if seed.invitations:
                pipe.hset(inv, mapping=_any(seed.invitations))
            if seed.requests:
                pipe.hset(req, mapping=_any(seed.requests))
            at = int(expire_at.timestamp())
            for key in (stock, cust, emp, inv, req):
                pipe.expireat(key, at)
            pipe.set(marker, "1", exat=at)
            pipe.execute()
        finally:
            self.client.delete(lock)
        return True

    def add_employees(self, base: str, employee_nos: Iterable[str]) -> None:
        """Put new whitelist entries into a seeded event (after the database committed them)."""
        numbers = list(employee_nos)
        if numbers and self.seeded(base):
            self.client.sadd(f"{base}:emp", *numbers)

    def add_invitations(self, base: str, codes: Iterable[str]) -> None:
        """Put new, unbound invitation codes into a seeded event."""
        mapping = dict.fromkeys(codes, "")
        if mapping and self.seeded(base):
            self.client.hset(f"{base}:inv", mapping=_any(mapping))

    def give_back(self, base: str, units: Iterable[tuple[str, str, int]]) -> None:
        """Return the units of expired holds: (sku, customer, units)."""
        args: list[str | int] = [value for triple in units for value in triple]
        if args and self.seeded(base):
            stock, cust, *_ = self._keys(base)
            self._return(keys=[stock, cust], args=args)

    def rekey_customer(self, base: str, *, customer: str, tombstone: str, skus: Iterable[str]) -> int:
        """Move a shopper's counters (of ``skus``), invitation bindings and request ids' terms to the
        opt-out's tombstone; how many fields moved."""
        moved = self._rekey(
            keys=[f"{base}:cust", f"{base}:inv", f"{base}:req"], args=[customer, tombstone, *skus]
        )
        return int(moved)

    def counts(self, base: str) -> dict[str, int]:
        """Units taken per sku as Redis holds them (benchmarks, checks)."""
        raw: dict[bytes, bytes] = self.client.hgetall(f"{base}:stock")  # type: ignore[assignment]
        return {k.decode(): int(v) for k, v in raw.items() if k}

    def forget(self, base: str) -> None:
        """Drop an event's state (tests, benchmarks)."""
        stock, cust, emp, inv, _, marker, req = self._keys(base)
        self.client.delete(stock, cust, emp, inv, marker, req)

    @staticmethod
    def expiry(ends_at: datetime) -> datetime:
        """When an event's keys go: a day after it ends."""
        return ends_at + timedelta(days=1)
