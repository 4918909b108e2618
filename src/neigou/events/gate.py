"""The reservation gate on Redis: eligibility, per-person limit and stock in one Lua script.

With Redis configured, a reservation never reads the database on its way: one atomic script checks
that the shopper is invited (an employee number on the whitelist or an invitation code, either
unbound or bound to this shopper), that the shopper stays within the sku's per-person limit and that
stock is left; it then raises both counters, binds the number or the code and appends the reservation to a
Redis stream in the same step. ``writer.ReservationWriter`` moves the stream into the database in
batches, as clicks are moved. Sold-out, over-limit and uninvited attempts are answered by Redis alone,
and so is a retry under a request id already used (the script keeps each key with what it made).

An event's state is seeded from the database the first time it is seen (``seed``: counters, the
whitelist, the invitations and their bindings, the request ids of stored reservations) and lives until
a day after the event ends, or until it is marked stale or the employee-number form changes (its seeded
marker is named for the form, ``gate_keys``). A write the gate must follow once the
database commits it (a settlement's give-back, new employees or invitation codes) is noted first
(``note``, ``try_note_return``: timed by Redis's clock); after the commit a give-back (``give_back``)
applies only to the state its note was taken in, else marks the state stale, and additions
(``add_employees``, ``add_invitations``), which only add, go to any seeded state while their note
stands (to an unseeded state, additions wait for the next seeding and a give-back, which never
overlaps a seeding, has nothing to do); a note no call ever cleared is swept (``sweep_notes``). A full
refund's units go back after its commit (``give_back_refund``, noted after the commit), once per
reservation (a seeding records the refund-released reservations it read in its counters' snapshot,
``seeds.seed_state``, ``<base>:refunded``) and only
to the state of the seeding recorded in the current generation (``<base>:seeded-gen``), else the state
is marked stale. An
event a settlement left out is claimed by the next one while it is being seeded (``claim_returns``):
its next seeding waits for the give-back.
A stale state has no seeded marker: the next reservation seeds it again once the stream holds none of
the event's reservations (counted per event, ``inflight``). Keys carry the event's creation instant,
so a restored or re-numbered database never meets old counters. The values it holds and answers (``Seed``,
``Prior``, ``GateResult``) are in ``gate_values``; a settlement's notes, deferrals and claims in ``gate_claims``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

import redis

from neigou.events.gate_claims import SEED_LOCK_SECONDS, SettlementClaims
from neigou.events.gate_keys import employees_key, guests_key, seeded_key, staff_key
from neigou.events.gate_scripts import (
    ADD_SCRIPT,
    DROPPED_SCRIPT,
    LOCK_SCRIPT,
    MERGE_SCRIPT,
    NOTE_SCRIPT,
    REFUND_SCRIPT,
    REKEY_SCRIPT,
    RESERVE_SCRIPT,
    RETURN_SCRIPT,
    SEEDED_SCRIPT,
    SWEEP_SCRIPT,
    UNLOCK_SCRIPT,
)
from neigou.events.gate_values import GateResult, Prior, Seed
from neigou.events.inflight import InFlight

# A settlement's give-back noted longer ago is left behind for a seeding (``LOCK_SCRIPT``).
PENDING_RETURN_SECONDS = 5
# A note dated ahead of Redis's clock by more than this was timed before the clock stepped back: it
# counts as old (``LOCK_SCRIPT``, ``sweep_notes``), not as fresh for as long as the step.
NOTE_CLOCK_SLACK_SECONDS = 2
# A note older than this is left behind (``sweep_notes``): a write commits and reaches the gate within
# moments of noting it.
STALE_NOTE_SECONDS = 60
# A full refund's units go back only to a state seeded longer ago than this (Redis's clock,
# ``give_back_refund``): a margin only, the given-back set each seeding writes is what keeps a state
# seeded after the refund's commit from being given the units back twice.
SEEDED_BEFORE_REFUND_SECONDS = 5


def _any(mapping: Mapping[str, Any]) -> Mapping[Any, Any]:
    """A mapping as redis-py's invariant key type takes it."""
    return mapping


class ReservationGate(SettlementClaims):
    """The Redis side of reservations (a settlement's notes and claims: ``gate_claims``)."""

    @staticmethod
    def stream_of(namespace: str) -> str:
        """The reservation stream of a namespace."""
        return f"{namespace}:event-reservations"

    def __init__(self, client: redis.Redis, namespace: str) -> None:
        super().__init__(client, namespace)
        self.namespace = namespace
        self.stream = self.stream_of(namespace)
        self._reserve = client.register_script(RESERVE_SCRIPT)
        self._return = client.register_script(RETURN_SCRIPT)
        self._refund = client.register_script(REFUND_SCRIPT)
        self._rekey = client.register_script(REKEY_SCRIPT)
        self._note = client.register_script(NOTE_SCRIPT)
        self._sweep = client.register_script(SWEEP_SCRIPT)
        self._dropped = client.register_script(DROPPED_SCRIPT)
        self._add = client.register_script(ADD_SCRIPT)
        self._lock = client.register_script(LOCK_SCRIPT)
        self._unlock = client.register_script(UNLOCK_SCRIPT)
        self.inflight = InFlight(client, namespace, self.stream)

    def base(self, event_id: int, created_at: datetime) -> str:
        """The key prefix of one event incarnation."""
        return f"{self.namespace}:event:{event_id}:{int(created_at.timestamp() * 1_000_000)}"

    def _keys(self, base: str) -> list[str]:
        return [
            f"{base}:stock",
            f"{base}:cust",
            employees_key(base),
            f"{base}:inv",
            self.stream,
            seeded_key(base),
            f"{base}:req",
            self.inflight.key,
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
            keys=[*self._keys(base), guests_key(base), staff_key(base)],
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
                record["e"],
            ],
        )
        return GateResult(answer)

    def prior(self, base: str, request_id: str) -> tuple[Prior | None, bool]:
        """What ``request_id`` made in a seeded event, and whether the event is seeded (one round trip)."""
        pipe = self.client.pipeline(transaction=False)
        pipe.hget(f"{base}:req", request_id)
        pipe.exists(seeded_key(base))
        value, seeded = pipe.execute()
        return (Prior.parse(value.decode()) if value else None), bool(seeded)

    def seeded(self, base: str) -> bool:
        """Whether the event's state is in Redis."""
        return bool(self.client.exists(seeded_key(base)))

    def seed(self, base: str, read: Callable[[], Seed], *, event_id: int, expire_at: datetime) -> bool:
        """Load the event's state as ``read`` finds it in the database; False when it cannot be now
        (another seeding or a settlement's give-back under way or claimed, the event's reservations still in the
        stream, the lock run out, the state marked stale meanwhile): try again shortly.

        The database is read once the stream holds none of the event's reservations (``in_flight``:
        none joins it while the event is unseeded). The lock is taken only while no give-back is
        pending or claimed, and no settlement notes one while it is held (``LOCK_SCRIPT``): a give-back to the
        unseeded state has nothing to do. The lock's token is watched and read before the ``MULTI``: a
        read that outlasts ``SEED_LOCK_SECONDS`` writes nothing. A sweep or a give-back that marks the
        state stale meanwhile moves the watched generation; employees or invitations added meanwhile
        wait in the pending sets, merged in the ``MULTI`` (``ADD_SCRIPT``, ``MERGE_SCRIPT``)."""
        lock, token = f"{base}:seeding", uuid.uuid4().hex
        stock, cust, emp, inv, _, marker, req, _ = self._keys(base)
        keys = [lock, marker, f"{base}:returns", self.notes, f"{base}:settle-claim"]
        args: list[str | int] = [token, SEED_LOCK_SECONDS, PENDING_RETURN_SECONDS, NOTE_CLOCK_SLACK_SECONDS]
        taken = int(self._lock(keys=keys, args=args))
        if taken != 1:
            return taken == 2  # seeded already; else another seeding or a give-back is under way
        pipe = self.client.pipeline(transaction=True)
        try:
            pipe.watch(f"{base}:gen", lock)  # type: ignore[no-untyped-call]
            if pipe.exists(marker):  # seeded by another caller since this one looked
                return True
            if self.in_flight(event_id):
                return False
            seed = read()
            if pipe.get(lock) != token.encode():  # the lock ran out: another seeding may be under way
                return False
            pipe.multi()
            pipe.delete(stock, cust, emp, inv, req, guests_key(base), staff_key(base))
            pipe.hset(stock, mapping=_any({"": 0, **seed.stock}))
            for key, values in (
                (cust, seed.customers),
                (emp, seed.employees),
                (inv, seed.invitations),
                (
                    guests_key(base),
                    {bound: code for code, bound in sorted(seed.invitations.items()) if bound},
                ),
                (staff_key(base), {bound: no for no, bound in sorted(seed.employees.items()) if bound}),
                (req, seed.requests),
            ):
                if values:
                    pipe.hset(key, mapping=_any(values))
            pipe.eval(MERGE_SCRIPT, 4, emp, inv, f"{base}:add-emp", f"{base}:add-inv")
            at = int(expire_at.timestamp())
            marks = [f"{base}:gen", f"{base}:seeded-at", f"{base}:seeded-gen", f"{base}:refunded"]
            pipe.eval(SEEDED_SCRIPT, 4, *marks, at, *seed.released)
            for key in (stock, cust, emp, inv, req, guests_key(base), staff_key(base), f"{base}:gen"):
                pipe.expireat(key, at)
            pipe.set(marker, "1", exat=at)
            pipe.execute()
        except redis.WatchError:
            return False
        finally:
            pipe.reset()
            self._unlock(keys=[lock], args=[token])
        return True

    def in_flight(self, event_id: int) -> bool:
        """Whether a reservation of the event may wait in the stream: its count in the in-flight hash
        (``inflight``), the stream read whole only when the count cannot be trusted."""
        return self.inflight.check(event_id, self.in_stream)

    def in_stream(self, event_id: int, *, page: int = 1000) -> bool:
        """Whether a reservation of the event waits in the stream (not yet stored), reading it all."""
        start = "-"
        while True:
            entries: Any = self.client.xrange(self.stream, start, "+", count=page)
            for _entry_id, fields in entries:
                if json.loads(fields.get(b"r", b"{}")).get("e") == event_id:
                    return True
            if len(entries) < page:
                return False
            start = "(" + entries[-1][0].decode()

    def add_employees(self, note: str, employee_nos: Iterable[str]) -> bool:
        """Put new whitelist entries into the event once the database committed them (``note`` taken
        before; into any seeded state, seeded since the note or not), or into its pending set while it
        is unseeded; False when the note was swept, and the state marked stale again (``ADD_SCRIPT``)."""
        return self._add_noted(note, "e", list(employee_nos))

    def add_invitations(self, note: str, codes: Iterable[str]) -> bool:
        """Put new, unbound invitation codes into the event, as ``add_employees`` does."""
        return self._add_noted(note, "i", list(codes))

    def _add_noted(self, note: str, mode: str, values: list[str]) -> bool:
        base = note.partition("#")[0]
        book, pending = (employees_key(base), "emp") if mode == "e" else (f"{base}:inv", "inv")
        keys = [seeded_key(base), f"{base}:gen", self.notes, book, f"{base}:add-{pending}"]
        return bool(self._add(keys=keys, args=[note, mode, *values]))

    def note(self, base: str) -> str:
        """Note, before a write the gate must follow commits (new employees or invitations; a
        settlement's give-back, ``try_note_return``), that it will reach the event's state: a note still
        there later (``sweep_notes``) marks the state stale. Returns its field, for after the commit."""
        note = f"{base}#{uuid.uuid4().hex}"
        self._note(keys=[f"{base}:gen", self.notes], args=[note])
        return note

    def give_back(self, note: str, units: Iterable[tuple[str, str, int]]) -> bool:
        """Return the units of expired holds, (sku, customer, units), once the settlement that noted
        ``note`` (``try_note_return``) committed; nothing to an unseeded state, whose next seeding reads
        the database after this commit; False when the state was marked stale instead
        (``RETURN_SCRIPT``)."""
        base = note.partition("#")[0]
        args: list[str | int] = [note, *(value for triple in units for value in triple)]
        stock, cust, *_, marker, _, _ = self._keys(base)
        keys = [stock, cust, marker, f"{base}:gen", self.notes, f"{base}:seeding", f"{base}:returns"]
        return bool(self._return(keys=keys, args=args))

    def give_back_refund(self, note: str, units: Iterable[tuple[int, str, str, int]]) -> int:
        """Return the units of reservations a full refund released, (reservation id, sku, customer,
        units), once the refund committed, with ``note`` taken after the commit: each once, and only to
        the state of the seeding recorded in the current generation (``SEEDED_SCRIPT``), whose given-back
        set already holds the released reservations its counters (one snapshot) left out; a state being
        seeded, seeded since the note, by an older version or in the last
        ``SEEDED_BEFORE_REFUND_SECONDS`` (Redis's clock) is marked stale instead (``REFUND_SCRIPT``).
        Returns 1 given back, 0 marked stale, 2 unseeded (nothing to do)."""
        base = note.partition("#")[0]
        stock, cust, *_, marker, _, _ = self._keys(base)
        keys = [
            stock,
            cust,
            marker,
            f"{base}:gen",
            self.notes,
            f"{base}:seeding",
            f"{base}:seeded-at",
            f"{base}:refunded",
            f"{base}:seeded-gen",
        ]
        args: list[str | int] = [
            note,
            SEEDED_BEFORE_REFUND_SECONDS,
            *(value for quad in units for value in quad),
        ]
        return int(self._refund(keys=keys, args=args))

    def sweep_notes(self, *, older_than: float | None = None) -> list[str]:
        """Mark stale every event with a note older than ``older_than`` seconds (``STALE_NOTE_SECONDS``)
        or dated ahead of Redis's clock (``NOTE_CLOCK_SLACK_SECONDS``): a committed write (units given back, employees or invitations added) that never reached the
        gate; returns those events' key prefixes."""
        notes: dict[bytes, bytes] = self.client.hgetall(self.notes)  # type: ignore[assignment]
        now: Any = self.client.time()  # Redis's clock, as the notes were timed (``NOTE_SCRIPT``)
        cutoff = int(now[0]) - (STALE_NOTE_SECONDS if older_than is None else older_than)
        ahead = int(now[0]) + NOTE_CLOCK_SLACK_SECONDS  # later: timed before Redis's clock stepped back
        swept = []
        for note, value in notes.items():
            if cutoff < int(value.decode().rpartition("|")[2]) <= ahead:
                continue
            base = note.decode().partition("#")[0]
            keys = [seeded_key(base), f"{base}:gen", self.notes, f"{base}:returns"]
            if self._sweep(keys=keys, args=[note]):
                swept.append(base)
        return swept

    def give_back_dropped(
        self, base: str, stream_id: str, *, request_id: str, stored: str, units: tuple[str, str, int]
    ) -> bool:
        """Return the units of a reservation the database refused for its taken request id and point the
        request id at the ``stored`` reservation (``Prior.held``); once per stream id."""
        stock, cust, *_, marker, req, _ = self._keys(base)
        keys = [stock, cust, marker, f"{base}:dropped", req]
        return bool(self._dropped(keys=keys, args=[stream_id, request_id, stored, *units]))

    def rekey_customer(self, base: str, *, customer: str, tombstone: str, skus: Iterable[str]) -> int:
        """Move a shopper's counters (of ``skus``), invitation bindings and request ids' terms to the
        opt-out's tombstone and release their employee numbers; how many fields moved."""
        keys = [
            f"{base}:cust",
            f"{base}:inv",
            f"{base}:req",
            employees_key(base),
            guests_key(base),
            staff_key(base),
        ]
        moved = self._rekey(keys=keys, args=[customer, tombstone, *skus])
        return int(moved)

    def counts(self, base: str) -> dict[str, int]:
        """Units taken per sku as Redis holds them (benchmarks, checks)."""
        raw: dict[bytes, bytes] = self.client.hgetall(f"{base}:stock")  # type: ignore[assignment]
        return {k.decode(): int(v) for k, v in raw.items() if k}

    def forget(self, base: str) -> None:
        """Drop an event's state (tests, benchmarks)."""
        stock, cust, emp, inv, _, marker, req, _ = self._keys(base)
        self.client.delete(
            stock,
            cust,
            emp,
            inv,
            marker,
            req,
            guests_key(base),
            staff_key(base),
            f"{base}:add-emp",
            f"{base}:add-inv",
            f"{base}:seeded-at",
            f"{base}:seeded-gen",
            f"{base}:refunded",
        )

    @staticmethod
    def expiry(ends_at: datetime) -> datetime:
        """When an event's keys go: a day after it ends."""
        return ends_at + timedelta(days=1)
