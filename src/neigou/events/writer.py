"""Reservations from the gate's stream into the database, in batches (as clicks are moved).

A consumer in a consumer group reads entries with XREADGROUP, stores a batch with one INSERT that
skips ids already stored, raises the items' and shoppers' counters by what was new, binds the
invitations and employee numbers, and only then XACKs and XDELs the entries. A consumer that dies before acknowledging
leaves its entries pending; another claims them after ``CLAIM_IDLE_MS``. Delivery is at least once;
a reservation's id is its stream id, so a redelivered reservation is stored (and counted) once. The
script that acknowledges and deletes the entries also counts each off its event's in-flight count
(``inflight``), which the seeding of an event's gate asks instead of reading the stream; the same hook
(``kit.streams.AckHook``) runs in the script that moves an entry to the dead letters.

An invitation binds to its shopper only while no other invitation of the event is bound to them (the
unique index of migration 0047): a gate that ever bound a second code to one shopper (a state seeded
from another layout, an older process) gets its reservation stored all the same, naming the code it
came with, the code left unbound and the skip logged (``events.invitation_binding_skipped``), never a
batch failed (and, delivered again and again, moved to the dead letters with the rest of its rows).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Collection
from datetime import datetime
from typing import Any

import redis
import structlog
from sqlalchemy import bindparam, exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from neigou.events.dropped import give_back_refused
from neigou.events.gate import ReservationGate
from neigou.events.gate_values import reservation_id
from neigou.events.models import (
    CustomerCount,
    Event,
    EventEmployee,
    EventItem,
    Invitation,
    Reservation,
    ReservationStatus,
)
from neigou.kit import employee_numbers
from neigou.kit.bulk import insert_ignoring_duplicates, table_of, upsert_adding
from neigou.kit.dead_letters import rewrite
from neigou.kit.ids import ERASED, new_tombstone
from neigou.kit.streams import Entry, StreamWriter
from neigou.privacy import repository as privacy
from neigou.programs.models import Program

ITEMS = table_of(EventItem)
INVITATIONS = table_of(Invitation)
EMPLOYEES = table_of(EventEmployee)

log = structlog.get_logger(__name__)
GROUP = "neigou-reservation-writers"
SUFFIX = ReservationGate.stream_of("")  # a namespace's stream is its name and this suffix
BATCH = 1000


def rows_of(entries: list[Entry]) -> list[dict[str, Any]]:
    """Reservation rows from stream entries (employee and invitation still by number and code)."""
    rows = []
    for entry_id, fields in entries:
        r = json.loads(fields[b"r"])
        rows.append(
            {
                "id": reservation_id(entry_id.decode()),
                "event_id": r["e"],
                "item_id": r["i"],
                "sku": r["s"],
                "quantity": r["q"],
                "price_fen": r["p"],
                "customer_ref_hash": r["c"],
                "customer_ref_masked": r["m"],
                "employee_no": r["en"],
                "invitation_code": r["ic"],
                "link_id": r["l"],
                "member_id": r["mb"],
                "status": ReservationStatus.HELD,
                "reserved_at": datetime.fromisoformat(r["at"]),
                "expires_at": datetime.fromisoformat(r["x"]),
                "request_id": r.get("rq"),
            }
        )
    return rows


def _employee_ids(session: Session, employees: set[tuple[int, str]]) -> dict[tuple[int, str], int]:
    """(event, number as the entry has it) → the employee's row id. An entry may have been written
    before its row's number was put in the one form (``kit.employee_numbers``: a migration renamed the
    row, ``Ｅ００１`` to ``E001``): each number is looked up in the forms ``lookup_forms`` gives, a row
    storing it exactly as written first (one left as it was), else the row holding its one form."""
    forms = {(e, no): employee_numbers.lookup_forms(no) for e, no in employees}
    wanted = {form for found in forms.values() for form in found}
    if not wanted:
        return {}
    stored = {
        (e, no): i
        for i, e, no in session.execute(
            select(EventEmployee.id, EventEmployee.event_id, EventEmployee.employee_no).where(
                EventEmployee.event_id.in_({e for e, _ in employees}),
                EventEmployee.employee_no.in_(bindparam("nos", sorted(wanted), expanding=True)),
            )
        )
    }
    found = {
        (e, no): next((stored[(e, form)] for form in tried if (e, form) in stored), None)
        for (e, no), tried in forms.items()
    }
    return {key: i for key, i in found.items() if i is not None}


def _erased_meanwhile(session: Session, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows, those reserved before their shopper's opt-out (of the event's program or of all) and
    stored only now (a dead letter replayed) as the opt-out left the shopper's reservations: under a
    tombstone of their own (one per shopper in the batch), masked ``已注销``; such a row (and one
    rewritten so in the dead letters, ``erase_dead_letters``) binds no employee number. Asked under
    the batch's customer locks. A reservation's organization is its event's program's: another
    organization's opt-out of every program does not cover it."""
    events = (
        select(Event.id, Program.organization_id, Event.program_id)
        .join(Program, Program.id == Event.program_id)
        .where(Event.id.in_({r["event_id"] for r in rows}))
    )
    owners: dict[int, tuple[int | None, int | None]] = {e: (o, p) for e, o, p in session.execute(events)}

    def taken(r: dict[str, Any]) -> privacy.Taken:
        organization, program = owners.get(r["event_id"], (None, None))
        return (organization, program, r["customer_ref_hash"], r["reserved_at"])

    found = privacy.opted_out_since(session, {taken(r) for r in rows})
    if not found:
        return rows
    tombstones: dict[str, str] = {}
    kept = []
    for r in rows:
        if taken(r) in found:
            tombstone = tombstones.setdefault(r["customer_ref_hash"], new_tombstone())
            kept.append({**r, "customer_ref_hash": tombstone, "customer_ref_masked": ERASED})
        else:
            kept.append(r)
    return kept


def erase_dead_letters(
    client: redis.Redis, key: str, *, customer: str, tombstone: str, event_ids: Collection[int] | None
) -> int:
    """Rewrite the reservation stream's dead letters of a shopper who opted out (in ``event_ids``,
    None: in every event) as the opt-out left their reservations (``events.erasure``): under the
    tombstone, masked ``已注销``; how many."""

    def erased(fields: dict[bytes, bytes]) -> dict[bytes, bytes] | None:
        try:
            record = json.loads(fields[b"r"])
        except (KeyError, ValueError):
            return None
        if not isinstance(record, dict) or record.get("c") != customer:
            return None
        if event_ids is not None and record.get("e") not in event_ids:
            return None
        record.update(c=tombstone, m=ERASED)
        return {**fields, b"r": json.dumps(record).encode()}

    return rewrite(client, key, erased)


def store(session: Session, rows: list[dict[str, Any]], gate: ReservationGate | None = None) -> int:
    """Store a batch of reservations (a few statements whatever its size); returns how many were new.
    With the ``gate``, the units of a reservation refused for its taken request id go back to it after
    the commit (``dropped``)."""
    if not rows:
        return 0
    # The shoppers' opt-out locks before the batch's first write (one statement for the batch).
    privacy.lock_customers(session, {r["customer_ref_hash"] for r in rows})
    rows = _erased_meanwhile(session, rows)
    employees = {(r["event_id"], r["employee_no"]) for r in rows if r["employee_no"] is not None}
    codes = {r["invitation_code"] for r in rows if r["invitation_code"] is not None}
    employee_ids = _employee_ids(session, employees)
    invitation_ids: dict[str, int] = {}
    if codes:
        invitation_ids = {
            code: i
            for i, code in session.execute(
                select(Invitation.id, Invitation.code).where(
                    Invitation.code.in_(bindparam("codes", sorted(codes), expanding=True))
                )
            )
        }
    table_rows = [
        {
            **{k: v for k, v in r.items() if k not in ("employee_no", "invitation_code")},
            "employee_id": employee_ids.get((r["event_id"], r["employee_no"])) if r["employee_no"] else None,
            "invitation_id": invitation_ids.get(r["invitation_code"]) if r["invitation_code"] else None,
        }
        for r in rows
    ]
    new_ids = {
        row[0] for row in insert_ignoring_duplicates(session, Reservation, table_rows, returning=["id"])
    }
    new = [r for r in table_rows if r["id"] in new_ids]
    if gate is not None and len(new) < len(table_rows):
        give_back_refused(session, gate, [r for r in table_rows if r["id"] not in new_ids])
    if not new:
        return 0
    items = Counter[int]()
    customers = Counter[tuple[int, str]]()
    for r in new:
        items[r["item_id"]] += r["quantity"]
        customers[(r["item_id"], r["customer_ref_hash"])] += r["quantity"]
    # The shoppers' counters before the items' rows, each in key order, as reservations and the
    # settling of holds take them (``holds.settle_holds``): never a deadlock with either.
    upsert_adding(
        session,
        CustomerCount,
        [{"item_id": i, "customer_ref_hash": c, "reserved": n} for (i, c), n in sorted(customers.items())],
        key=("item_id", "customer_ref_hash"),
        add="reserved",
    )
    session.execute(
        update(ITEMS)
        .where(ITEMS.c.id == bindparam("item"))
        .values(reserved=ITEMS.c.reserved + bindparam("units")),
        [{"item": item, "units": units} for item, units in sorted(items.items())],
    )
    _bind_invitations(session, [r for r in new if r["invitation_id"] is not None])
    # The gate bound each employee number to its first shopper; the database follows, once per entry.
    numbers = {
        r["employee_id"]: r["customer_ref_hash"]
        for r in reversed(new)
        if r["employee_id"] is not None and r["customer_ref_masked"] != ERASED
    }
    if numbers:
        session.execute(
            update(EMPLOYEES)
            .where(EMPLOYEES.c.id == bindparam("employee"), EMPLOYEES.c.customer_ref_hash.is_(None))
            .values(customer_ref_hash=bindparam("customer")),
            [{"employee": e, "customer": c} for e, c in sorted(numbers.items())],
        )
    return len(new)


def _bind_invitations(session: Session, rows: list[dict[str, Any]]) -> None:
    """Bind each reservation's invitation, still unbound, to its shopper unless another invitation of the
    event is bound to them (stored, or bound by an earlier row of the batch: each row's statement sees
    the ones before). A binding a concurrent writer committed meanwhile fails the unique index: then
    each binding is tried alone, under a savepoint of its own. The skipped ones are logged (ids only)."""
    if not rows:
        return
    bindings = [
        {"inv": r["invitation_id"], "customer": r["customer_ref_hash"], "at": r["reserved_at"]} for r in rows
    ]
    other = INVITATIONS.alias("other")
    bind = (
        update(INVITATIONS)
        .where(
            INVITATIONS.c.id == bindparam("inv"),
            INVITATIONS.c.customer_ref_hash.is_(None),
            ~exists().where(
                other.c.event_id == INVITATIONS.c.event_id,
                other.c.customer_ref_hash == bindparam("customer"),
            ),
        )
        .values(customer_ref_hash=bindparam("customer"), bound_at=bindparam("at"))
    )
    try:
        with session.begin_nested():
            session.execute(bind, bindings)
    except IntegrityError:
        for binding in bindings:
            try:
                with session.begin_nested():
                    session.execute(bind, [binding])
            except IntegrityError:
                pass  # bound to another invitation meanwhile: skipped, logged below
    invitations = {b["inv"] for b in bindings}
    bound = dict(
        session.execute(
            select(INVITATIONS.c.id, INVITATIONS.c.customer_ref_hash).where(
                INVITATIONS.c.id.in_(bindparam("ids", sorted(invitations), expanding=True))
            )
        ).all()
    )
    for r in rows:
        if bound.get(r["invitation_id"]) != r["customer_ref_hash"]:
            log.warning(
                "events.invitation_binding_skipped",
                event_id=r["event_id"],
                reservation_id=r["id"],
                invitation_id=r["invitation_id"],
                unbound=bound.get(r["invitation_id"]) is None,
            )


def store_entries(session: Session, entries: list[Entry], gate: ReservationGate | None = None) -> int:
    """A batch of stream entries into the database."""
    return store(session, rows_of(entries), gate)


class ReservationWriter(StreamWriter):
    """Moves reservations from the gate's stream into the database."""

    def __init__(
        self, client: redis.Redis, key: str, factory: sessionmaker[Session], *, name: str | None = None
    ) -> None:
        gate = ReservationGate(client, key.removesuffix(SUFFIX)) if key.endswith(SUFFIX) else None
        self.inflight = gate.inflight if gate is not None else None

        def store_batch(session: Session, entries: list[Entry]) -> int:
            return store_entries(session, entries, gate)

        super().__init__(client, key, GROUP, factory, store_batch, name=name, batch=BATCH)
        if self.inflight is not None:
            # An entry deleted from the stream (stored, skipped as stored, refused and given back, or
            # moved to the dead letters) leaves its event's count in the deleting script (``inflight``).
            self.ack_hook = self.inflight.ack_hook()
