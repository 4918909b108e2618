"""The opt-out: one transaction of set-based statements that unlinks a shopper from everything we hold.

What goes, per kind (``program_id`` narrows each to one program; null means all):

- ``touches`` and ``bindings``: deleted, so no past interaction attributes a future order;
- ``visitors``: the cookie → customer linkage is deleted (a cookie is not tied to a program);
- ``clicks``: the customer hash on clicks is cleared; the clicks stay, as anonymous clicks;
- ``claims``: the customer hash becomes a tombstone, the masked form becomes ``已注销``, the cookie id goes;
- ``claim_counters``: re-keyed to the same tombstone (only for an all-program opt-out: coupons are
  shared by programs), so counters still add up to the claims;
- ``orders``: the customer hash becomes the tombstone; amounts, commissions and the ledger are untouched;
- ``members``: a member who was this shopper loses the reference (hash and masked form cleared);
- ``customers``, ``consents``, ``push_messages``, ``audit_entries``: the salesperson's customer book
  (``crm.erasure``): the customer rows are redacted in place, their consent history deleted, the
  messages pushed to them blanked and those still waiting to go out cancelled (``opted_out``), and
  the values their audit entries hold in clear redacted (the entries changed are counted, with the
  ``coupon.claim`` entries of the tombstoned claims, whose masked reference is redacted:
  ``links.claim_audit``);
- ``event_reservations``, ``event_counts``, ``event_invitations``, ``event_employees``:
  employee-purchase events (``events.erasure``): reservations and invitation bindings name the
  tombstone, the per-person counters are re-keyed to it, employee numbers bound to the shopper are
  released (the employee buys with theirs again), and the Redis gate's state follows after the commit.

With Redis, the claims and reservations still in their streams are stored first, and once committed
the streams' dead letters naming the shopper are rewritten under the tombstone (the click stream's lose
the shopper, as the stored clicks do) and, after an opt-out of
every program, the stock gate's per-customer counters are deleted (``links.gate_erasure``). What was
taken before an opt-out and is stored after it is stored erased when the opt-out covers it as its erasure
would have (``privacy.repository.opted_out_since``: its program, its organization or platform-wide).

The tombstone is random and stored nowhere else, so it cannot be recomputed from the shopper's
reference (a keyed hash of the opt-out's id could: the opt-out row keeps the customer's hash).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import redis
import structlog
from sqlalchemy import Delete, Update, and_, delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from neigou.audit import service as audit
from neigou.crm import erasure as crm_erasure
from neigou.events import after_commit
from neigou.events import erasure as events_erasure
from neigou.events import writer as reservations
from neigou.events.gate import ReservationGate
from neigou.events.models import Event
from neigou.events.runtime import EventsRuntime
from neigou.kit.actor import Actor
from neigou.kit.clock import utcnow
from neigou.kit.errors import Conflict
from neigou.kit.i18n import Message
from neigou.kit.ids import ERASED, customer_ref_hash, new_tombstone
from neigou.links import claim_audit, claim_stream, click_stream, gate_erasure
from neigou.links.models import Binding, ClaimCounter, CouponClaim, LinkClick, Touch, Visitor
from neigou.links.runtime import LinksRuntime
from neigou.links.stock_gate import StockGate
from neigou.offers.models import CouponTemplate
from neigou.orders.models import Order
from neigou.privacy import repository as repo
from neigou.privacy.models import OptOut
from neigou.programs.models import Member, Program
from neigou.programs.scope import organization_of_caller
from neigou.programs.service import require_program

log = structlog.get_logger(__name__)
KINDS = (
    "touches",
    "bindings",
    "visitors",
    "clicks",
    "claims",
    "claim_counters",
    "orders",
    "members",
    *crm_erasure.KINDS,
    *events_erasure.KINDS,
)


@dataclass(frozen=True)
class OptOutResult:
    """The opt-out, and whether this call made it (False: an idempotent replay)."""

    opt_out: OptOut
    created: bool


def opt_out(
    session: Session,
    *,
    secret_key: str,
    customer_ref: str,
    program_id: int | None,
    request_id: str,
    actor: Actor,
    at: datetime,
    events: EventsRuntime | None = None,
    links: LinksRuntime | None = None,
) -> OptOutResult:
    """Erase the shopper's linkage and record the opt-out; the same ``request_id`` returns the first.

    ``at``: when the shopper asked (at most the clock skew ahead). The opt-out covers from the later of
    it and the moment it is recorded (its ``requested_at``): a past ``at`` never lets what the shopper
    took since then, stored only after it, keep their hash; the rows erased are stamped with that moment.

    ``events`` and ``links``: the application's runtimes; with Redis, reservations and claims still
    in their streams are stored first (so they are erased too), and the gates' state and the streams'
    dead letters follow the erasure once it committed."""
    # A reference hiding an invisible mark is hashed as given (``kit.refs.NamesSomeoneStored``): rows stored
    # under it before such references were refused are erased by it.
    customer = customer_ref_hash(secret_key, customer_ref)
    if events is not None:
        events_erasure.store_stream_first(events.flush)
    if links is not None and links.claims is not None:
        events_erasure.store_stream_first(links.claims.drain)
    # Writers of what an opt-out erases take the same lock before they look for opt-outs: either they
    # wait and then see this one, or this one waits and then erases what they wrote.
    repo.lock_for_opt_out(session, customer)
    if (replay := _replay(session, request_id, customer, program_id)) is not None:
        return replay
    # Covered from the later of ``at`` and now, its locks held: what was taken since a past ``at`` and
    # is stored later (another process's stream, a dead letter) is stored erased (``opted_out_since``).
    recorded = utcnow()
    covers_from = max(at, recorded)
    # An organization's operator records for its organization; a platform administrator's opt-out of
    # one program belongs to that program's organization, of every program to none (all of them).
    organization_id = organization_of_caller(session)
    if program_id is not None:
        organization_id = require_program(session, program_id).organization_id
    row = OptOut(
        organization_id=organization_id,
        request_id=request_id,
        program_id=program_id,
        customer_ref_hash=customer,
        requested_at=covers_from,
        actor_kind=actor.kind,
        actor_ref=actor.ref[:64],
        erased=dict.fromkeys(KINDS, 0),
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        # A concurrent request with the same key won: answer with its opt-out.
        if (replay := _replay(session, request_id, customer, program_id)) is not None:
            return replay
        raise
    row.erased = erase(
        session,
        customer_ref_hash=customer,
        program_id=program_id,
        organization_id=organization_id,
        at=recorded,
        gate=events.gate if events is not None else None,
        stock_gate=links.gate if links is not None else None,
    )
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="privacy.opt_out",
        entity="opt_out",
        entity_id=row.id,
        after={
            "program_id": program_id,
            "request_id": request_id,
            "at": at.isoformat(),
            "erased": row.erased,
        },
        at=recorded,  # when it was recorded, never the caller's ``at`` (which only dates the request)
    )
    return OptOutResult(opt_out=row, created=True)


def _replay(session: Session, request_id: str, customer: str, program_id: int | None) -> OptOutResult | None:
    existing = repo.by_request(session, request_id)
    if existing is None:
        return None
    caller = organization_of_caller(session)
    foreign = caller is not None and existing.organization_id != caller
    if foreign or existing.customer_ref_hash != customer or existing.program_id != program_id:
        raise Conflict(
            Message("{field} was used for another opt-out.", field="request_id"),
            code="request_id_reused",
            extra={"field": "request_id"},
        )
    return OptOutResult(opt_out=existing, created=False)


def _visitors(h: str, organization_id: int | None) -> Delete:
    """The cookie linkages an opt-out recorded for ``organization_id`` deletes. A cookie belongs to no
    program, so an opt-out recorded platform-wide (no organization) deletes every linkage of the
    shopper; one recorded for an organization (its operators', or a platform administrator's opt-out of
    one of its programs, whose counts its operators are shown) those recorded for it (migration 0052),
    and those stored before organizations were recorded of cookies its own programs saw identified (a
    claim, or a click that carried the shopper's hash). Another organization's linkage is not its to
    erase, nor to count: the count would tell it the shopper was seen elsewhere. The statement names the
    table, not the mapped class: the scope's criteria would hide a linkage without an organization, so
    the organization is named here, and so are its programs in the subqueries."""
    caller = organization_id
    if caller is None:
        return delete(Visitor).where(Visitor.customer_ref_hash == h)
    visitors = Visitor.metadata.tables[Visitor.__tablename__]
    programs = select(Program.id).where(Program.organization_id == caller)
    claimed = select(CouponClaim.visitor_id).where(
        CouponClaim.customer_ref_hash == h,
        CouponClaim.visitor_id.is_not(None),
        CouponClaim.program_id.in_(programs),
    )
    clicked = select(LinkClick.visitor_id).where(
        LinkClick.customer_ref_hash == h, LinkClick.program_id.in_(programs)
    )
    seen = or_(visitors.c.visitor_id.in_(claimed), visitors.c.visitor_id.in_(clicked))
    return delete(visitors).where(
        visitors.c.customer_ref_hash == h,
        or_(visitors.c.organization_id == caller, and_(visitors.c.organization_id.is_(None), seen)),
    )


def erase(
    session: Session,
    *,
    customer_ref_hash: str,
    program_id: int | None,
    organization_id: int | None,
    at: datetime,
    gate: ReservationGate | None = None,
    stock_gate: StockGate | None = None,
) -> dict[str, int]:
    """Run the erasing statements (one per kind, never one per row); rows affected per kind (``at``: the
    server's time of the erasure, the customer book's ``erased_at``). With the
    Redis gates, their state and their streams' dead letters follow after the commit, within the
    opt-out's scope: ``program_id``, else ``organization_id`` (the organization the opt-out was
    recorded for), else everything (platform-wide)."""
    tombstone = new_tombstone()
    h = customer_ref_hash

    def scoped(statement: Update | Delete, column: Any) -> Update | Delete:
        return statement if program_id is None else statement.where(column == program_id)

    statements: list[tuple[str, Update | Delete]] = [
        ("touches", scoped(delete(Touch).where(Touch.customer_ref_hash == h), Touch.program_id)),
        ("bindings", scoped(delete(Binding).where(Binding.customer_ref_hash == h), Binding.program_id)),
        ("visitors", _visitors(h, organization_id)),
        (
            "clicks",
            scoped(
                update(LinkClick).where(LinkClick.customer_ref_hash == h).values(customer_ref_hash=None),
                LinkClick.program_id,
            ),
        ),
        (
            "claims",
            scoped(
                update(CouponClaim)
                .where(CouponClaim.customer_ref_hash == h)
                .values(customer_ref_hash=tombstone, customer_ref_masked=ERASED, visitor_id=None),
                CouponClaim.program_id,
            ),
        ),
        (
            "orders",
            scoped(
                update(Order).where(Order.customer_ref_hash == h).values(customer_ref_hash=tombstone),
                Order.program_id,
            ),
        ),
        (
            "members",
            scoped(
                update(Member)
                .where(Member.customer_ref_hash == h)
                .values(customer_ref_hash=None, customer_ref_masked=None),
                Member.program_id,
            ),
        ),
    ]
    if program_id is None:
        statements.append(
            (
                "claim_counters",
                update(ClaimCounter)
                .where(ClaimCounter.customer_ref_hash == h)
                .values(customer_ref_hash=tombstone),
            )
        )
    counts = dict.fromkeys(KINDS, 0)
    for kind, statement in statements:
        result = session.execute(statement.execution_options(synchronize_session=False))
        counts[kind] = int(getattr(result, "rowcount", 0) or 0)
    counts.update(
        crm_erasure.erase_customers(
            session, customer_ref_hash=h, program_id=program_id, tombstone=tombstone, at=at
        )
    )
    counts.update(
        events_erasure.erase_events(
            session, customer_ref_hash=h, program_id=program_id, tombstone=tombstone, gate=gate
        )
    )
    # The claims' audit entries name the shopper's masked reference: redacted with the claims.
    tombstoned = session.execute(
        select(CouponClaim.id, CouponClaim.coupon_id).where(CouponClaim.customer_ref_hash == tombstone)
    )
    counts["audit_entries"] += claim_audit.redact_claims(session, [(i, c) for i, c in tombstoned])
    if gate is not None or stock_gate is not None:
        _redis_after_commit(
            session,
            gate,
            stock_gate,
            customer=h,
            tombstone=tombstone,
            program_id=program_id,
            organization_id=organization_id,
        )
    return counts


def _redis_after_commit(
    session: Session,
    gate: ReservationGate | None,
    stock_gate: StockGate | None,
    *,
    customer: str,
    tombstone: str,
    program_id: int | None,
    organization_id: int | None,
) -> None:
    """Once committed: the dead letters of the shopper's claims and reservations rewritten under the
    tombstone, the shopper cleared from the clicks of the click stream's dead letters, and after an opt-out of every program (which moved the claim counters to the
    tombstone) the stock gate's counters of the shopper deleted in every coupon whose keys may still
    live (a day after it ends). All within the opt-out's scope, as the database's erasure: its
    program's; else its organization's (its programs' events, its coupons' claims: a claim without a
    program is its coupon's organization's); else, recorded platform-wide, every one. A Redis that does
    not answer is logged: what it holds stays until it answers again (the next opt-out of the
    shopper, the keys' expiry)."""
    event_ids: set[int] | None = None
    coupon_ids: set[int] | None = None
    program_ids: set[int] | None = None
    if program_id is not None:
        program_ids = {program_id}
        event_ids = set(session.scalars(select(Event.id).where(Event.program_id == program_id)))
    elif organization_id is not None:
        programs = select(Program.id).where(Program.organization_id == organization_id)
        program_ids = set(session.scalars(programs))
        event_ids = set(session.scalars(select(Event.id).where(Event.program_id.in_(programs))))
        own_coupons = select(CouponTemplate.id).where(CouponTemplate.organization_id == organization_id)
        coupon_ids = set(session.scalars(own_coupons))
    coupons: list[tuple[int, datetime, datetime]] = []
    if stock_gate is not None and program_id is None:
        live = CouponTemplate.ends_at > utcnow() - timedelta(days=1)
        if organization_id is not None:
            live = and_(live, CouponTemplate.organization_id == organization_id)
        coupons = [
            (i, created, ends)
            for i, created, ends in session.execute(
                select(CouponTemplate.id, CouponTemplate.created_at, CouponTemplate.ends_at).where(live)
            )
        ]

    def follow() -> None:
        try:
            if gate is not None:
                reservations.erase_dead_letters(
                    gate.client, gate.stream, customer=customer, tombstone=tombstone, event_ids=event_ids
                )
            if stock_gate is not None:
                claim_stream.erase_dead_letters(
                    stock_gate.client,
                    stock_gate.claims_stream,
                    customer=customer,
                    tombstone=tombstone,
                    program_id=program_id,
                    coupon_ids=coupon_ids,
                )
                click_stream.erase_dead_letters(
                    stock_gate.client,
                    click_stream.stream_of(stock_gate.namespace),
                    customer=customer,
                    program_ids=program_ids,
                )
                if coupons:
                    gate_erasure.forget_customer(stock_gate, coupons, customer)
        except redis.RedisError as exc:
            log.warning("privacy.opt_out_redis_unavailable", error=type(exc).__name__)

    after_commit(session, follow)
