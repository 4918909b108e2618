"""Coupon claims: a shopper takes one unit of a coupon's stock, hidden coupons only through their link.

Stock and per-customer limits are enforced by conditional UPDATEs in the claim's transaction
(``claimed = claimed + 1 WHERE claimed < limit``): concurrent claims queue on the row and re-check,
so no interleaving oversells or double-claims. With Redis, ``stock_gate`` refuses the hopeless ones
first. Idempotency: a claim may carry a ``request_id`` (body) or ``Idempotency-Key`` (header); the
same key for the same coupon returns the first claim and takes nothing more, even when the two
requests race (the unique key decides, the loser finds the winner's claim)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import redis
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from neigou.audit import service as audit
from neigou.kit import commit_hooks
from neigou.kit.actor import Actor
from neigou.kit.clock import ensure_aware, utcnow
from neigou.kit.errors import Conflict, Invalid, NotFound, ProblemError
from neigou.kit.events import Event, publish
from neigou.kit.i18n import Message
from neigou.kit.ids import customer_ref_forms
from neigou.kit.scoping import current_scope
from neigou.links import claim_rows, claim_stream, gate_seeds
from neigou.links import repository as repo
from neigou.links.consent import GivenConsent
from neigou.links.gate_types import CouponTerms, GateAnswer, GateKeys
from neigou.links.models import ClaimSource, CouponClaim, ShareLink, TouchKind
from neigou.links.stock_gate import StockGate
from neigou.links.touches import NewTouch, identify_visitor, record_touches
from neigou.offers.models import CouponTemplate
from neigou.offers.offer_rules import CouponVisibility
from neigou.privacy import repository as privacy

_GATE_UNDO = "neigou_stock_gate_undo"


@dataclass(frozen=True)
class Customer:
    """A shopper as stored: the keyed hash of their reference and its masked form."""

    ref_hash: str
    masked: str

    @classmethod
    def from_ref(cls, secret_key: str, customer_ref_: str) -> Customer:
        """From the shop's openid or a phone number."""
        ref_hash, masked = customer_ref_forms(secret_key, customer_ref_)  # read once, for both forms
        return cls(ref_hash=ref_hash, masked=masked)


@dataclass(frozen=True, slots=True)
class TakenClaim:
    """A claim taken behind the gate, as the shopper is answered: the row the claim writer stores
    carries the same values (a plain object: building an ORM instance per claim costs more than the
    gate's round trip)."""

    id: int
    coupon_id: int
    customer_ref_hash: str
    customer_ref_masked: str
    link_id: int | None
    program_id: int | None
    member_id: int | None
    group_id: int | None
    request_id: str | None
    source: ClaimSource
    visitor_id: str | None
    claimed_at: datetime


@dataclass(frozen=True)
class ClaimResult:
    """The claim, and whether this call made it (False: an idempotent replay); ``link_code`` is its
    link's code when the claim loaded the link (None: look it up by ``claim.link_id`` if any)."""

    claim: CouponClaim | TakenClaim
    created: bool
    link_code: str | None = None

    @property
    def queued(self) -> bool:
        """Taken behind the gate: the claim writer stores it, and announces the consent it carried."""
        return isinstance(self.claim, TakenClaim)


CLAIMED = "coupon.claimed"


def resolve_link(session: Session, link_code: str) -> ShareLink:
    """The active link of a code: 422 unknown_link, 409 link_disabled."""
    return usable_link(repo.get_link_by_code(session, link_code), link_code)


def usable_link(link: ShareLink | None, link_code: str) -> ShareLink:
    """The link found for a code if it is active: 422 unknown_link, 409 link_disabled."""
    if link is None:
        raise Invalid(Message("{field} names no share link.", field="link_code"), code="unknown_link")
    if not link.active:
        raise claim_rows.refused("link_disabled")
    return link


def _claimable(
    session: Session,
    coupon: CouponTemplate | CouponTerms,
    link_code: str | None,
    loaded_link: ShareLink | None,
    at: datetime,
) -> ShareLink | None:
    """The claim's link (looked up once), after the checks that need no stock: a hidden coupon only
    through its own link, and only while the coupon runs."""
    link = None
    if link_code is not None:
        found = loaded_link if loaded_link is not None and loaded_link.code == link_code else None
        link = usable_link(found or repo.get_link_by_code(session, link_code), link_code)
    if coupon.visibility is CouponVisibility.HIDDEN and (link is None or link.coupon_id != coupon.id):
        raise claim_rows.refused("link_required")
    if (
        not coupon.live or coupon.paused or not coupon.starts_at <= at < coupon.ends_at
    ):  # live: not under review
        raise claim_rows.refused("not_active")
    return link


def claim_coupon(
    session: Session,
    *,
    coupon_id: int,
    customer: Customer,
    actor: Actor,
    source: ClaimSource,
    link_code: str | None = None,
    loaded_link: ShareLink | None = None,
    request_id: str | None = None,
    visitor_id: str | None = None,
    gate: StockGate | None = None,
    consent: GivenConsent | None = None,
    at: datetime | None = None,
) -> ClaimResult:
    """Claim one unit of a coupon for a customer.

    ``loaded_link`` is the link of ``link_code`` when the caller holds it already (the landing page
    loaded it to find the coupon): a claim looks its link up once. ``consent`` rides with a claim taken
    behind the gate (``ClaimResult.queued``): the claim writer announces it under the customer's lock;
    the caller announces it for a claim written here (this transaction took that lock).
    """
    at = ensure_aware(at) if at is not None else utcnow()
    # With the gate, the coupon's terms come from the gate's in-process copy: a burst reads the
    # coupon once per process, and sold-out or over-limit attempts are refused without a query.
    terms = gate.terms(session, coupon_id) if gate is not None else session.get(CouponTemplate, coupon_id)
    scope = current_scope(session)  # the gate's copy serves every organization: a scoped caller its own
    if terms is None or (scope is not None and terms.organization_id != scope.organization_id):
        raise NotFound(Message("This coupon does not exist."), code="coupon_not_found")
    coupon = terms
    if (
        request_id is not None
        and (replay := _replay(session, coupon_id, request_id, customer.ref_hash, link_code)) is not None
    ):
        return replay
    link = _claimable(session, coupon, link_code, loaded_link, at)
    if (
        gate is not None
        and gate.stream is not None
        and request_id is None
        and isinstance(coupon, CouponTerms)
    ):
        return _claim_behind(
            session,
            gate,
            coupon,
            customer,
            link=link,
            source=source,
            visitor_id=visitor_id,
            actor=actor,
            consent=consent if link is not None else None,
            at=at,
        )
    keys = _locked_through_gate(session, gate, coupon, customer.ref_hash, request_id, link_code=link_code)
    if isinstance(keys, ClaimResult):
        return keys
    try:
        with session.begin_nested():
            claim = claim_rows.take(
                session,
                coupon=coupon,
                customer_ref_hash=customer.ref_hash,
                customer_ref_masked=customer.masked,
                link=link,
                request_id=request_id,
                source=source,
                visitor_id=visitor_id,
                at=at,
            )
    except (ProblemError, IntegrityError) as exc:
        if gate is not None and keys is not None:
            gate.release(keys)
        if (
            request_id is not None
            and (replay := _replay(session, coupon_id, request_id, customer.ref_hash, link_code)) is not None
        ):
            return replay
        if isinstance(exc, IntegrityError):
            raise Conflict(
                Message("The claim clashed with another; try again."), code="claim_conflict"
            ) from exc
        raise
    if gate is not None and keys is not None:
        commit_hooks.add(session, _GATE_UNDO, (gate, keys))
    # The visitor's earlier clicks and the claim are touches of one batch: under the locked model the
    # earliest of them binds for good.
    touches = (
        identify_visitor(
            session,
            visitor_id=visitor_id,
            customer_ref_hash=customer.ref_hash,
            customer_ref_masked=customer.masked,
            organization_id=coupon.organization_id,
            at=at,
            program_id=link.program_id if link is not None else None,
        )
        if visitor_id is not None
        else []
    )
    if link is not None:
        touches.append(
            NewTouch(link.program_id, customer.ref_hash, link, TouchKind.CLAIM, f"claim:{claim.id}", at)
        )
    record_touches(session, touches, locked=True)
    audit.record(
        session,
        actor=actor,
        action="coupon.claim",
        entity="coupon",
        entity_id=coupon.id,
        after={
            "claim_id": claim.id,
            "customer": claim.customer_ref_masked,
            "link_code": link.code if link else None,
            "request_id": request_id,
        },
        at=at,
    )
    if claim.program_id is not None and visitor_id is not None:
        # Higher domains (risk) check the visitor's claims of this coupon in the same transaction.
        data = {"coupon_id": coupon.id, "program_id": claim.program_id, "visitor_id": visitor_id}
        publish(session, Event(type=CLAIMED, at=at, data=data))
    return ClaimResult(claim=claim, created=True, link_code=link.code if link else None)


def _claim_behind(
    session: Session,
    gate: StockGate,
    coupon: CouponTerms,
    customer: Customer,
    *,
    link: ShareLink | None,
    source: ClaimSource,
    visitor_id: str | None,
    actor: Actor,
    consent: GivenConsent | None,
    at: datetime,
) -> ClaimResult:
    """Take and record the claim in one Redis script; ``claim_stream.ClaimWriter`` stores it (with its
    touches, audit entry and the consent it carries) in the next batch. A counter missing from Redis is
    seeded from the database (``gate_seeds``), the only query of this path."""
    values: dict[str, Any] = {
        "coupon_id": coupon.id,
        "customer_ref_hash": customer.ref_hash,
        "customer_ref_masked": customer.masked,
        "link_id": link.id if link else None,
        "program_id": link.program_id if link else None,
        "member_id": link.member_id if link else None,
        "group_id": link.group_id if link else None,
        "request_id": None,
        "source": source,
        "visitor_id": visitor_id,
        "claimed_at": at,
    }
    record = claim_stream.pack(values, actor, consent)
    seeds = gate_seeds.seeder(session, gate, coupon.id, customer.ref_hash)
    answer = gate.take_and_record(coupon, customer.ref_hash, record, seeds=seeds)
    if isinstance(answer, GateAnswer):
        raise claim_rows.refused(answer.value)
    return ClaimResult(
        claim=TakenClaim(id=claim_stream.claim_id(answer), **values),
        created=True,
        link_code=link.code if link else None,
    )


def refused_behind(gate: StockGate | None, claim_id: int, coupon_id: int | None = None) -> Conflict | None:
    """The refusal of a claim answered ``taken`` behind the gate that the claim writer then refused
    (``claim_stream.refusal_of``: past the customer's limit; of ``coupon_id`` when given), as the gate
    gives it up front; None when none is known (stored, still in the stream, or Redis not answering)."""
    if gate is None:
        return None
    try:
        code = claim_stream.refusal_of(gate.client, gate.namespace, claim_id, coupon_id)
    except redis.RedisError:
        return None
    return claim_rows.refused(code) if code is not None else None


def _replay(
    session: Session, coupon_id: int, request_id: str, customer: str, link_code: str | None
) -> ClaimResult | None:
    """The claim this ``request_id`` made, when the request repeats it: the same customer through the same
    link (or none). Another customer, or another link (another owner the shopper would be bound to), is
    another claim's terms: 422 ``request_id_reused``, never the first claim answered as this one's."""
    existing = repo.claim_by_request(session, coupon_id, request_id)
    if existing is None:
        return None
    if existing.customer_ref_hash != customer:
        raise Invalid(
            Message("This request_id was used for another customer's claim."),
            code="request_id_reused",
        )
    if existing.link_id is not None:
        link = session.get(ShareLink, existing.link_id)
        elsewhere = link is not None and link.code != link_code
    else:  # made without a link, or its link deleted since (``SET NULL``; the claim keeps its member)
        elsewhere = link_code is not None and existing.member_id is None
    if elsewhere:
        raise Invalid(
            Message("This request_id was used for a claim through another link."),
            code="request_id_reused",
        )
    return ClaimResult(claim=existing, created=False)


def _locked_through_gate(
    session: Session,
    gate: StockGate | None,
    coupon: CouponTemplate | CouponTerms,
    customer: str,
    request_id: str | None,
    *,
    link_code: str | None,
) -> GateKeys | ClaimResult | None:
    """The gate's units and the customer's lock, which comes before the claim's writes of this customer
    (see ``privacy.repository.lock_customers``); or the replay of the key's claim. A keyed claim takes
    the lock before the gate and holds it to its commit: a retry of it waits there, then answers it
    without asking the gate (whose counters hold the first claim's units). An unkeyed claim asks the
    gate first (hopeless ones wait for no lock)."""
    if request_id is None:
        keys = _through_gate(session, gate, coupon, customer)
        privacy.lock_customers(session, [customer])
        return keys
    privacy.lock_customers(session, [customer])
    if (replay := _replay(session, coupon.id, request_id, customer, link_code)) is not None:
        return replay
    return _through_gate(session, gate, coupon, customer)


def _through_gate(
    session: Session, gate: StockGate | None, coupon: CouponTemplate | CouponTerms, customer: str
) -> GateKeys | None:
    """Take the units in Redis before the claim's writes; a refusal stands, keyed or not (a claim
    without the gate's units could take stock the database does not show yet: claims written behind
    the gate are stored later). Counters missing from Redis are seeded from the database's counts
    (``gate_seeds``), as behind the gate: this path shares the counters with claims written behind."""
    if gate is None:
        return None
    answer = gate.take(coupon, customer, seeds=gate_seeds.seeder(session, gate, coupon.id, customer))
    if answer is not GateAnswer.TAKEN:
        raise claim_rows.refused(answer.value)
    return gate.keys(coupon, customer)


@event.listens_for(Session, "after_commit")
def _gate_kept(session: Session) -> None:
    commit_hooks.released(session, _GATE_UNDO)  # kept once the outermost transaction commits


@event.listens_for(Session, "after_rollback")
def _gate_given_back(session: Session) -> None:
    for gate, keys in commit_hooks.rolled_back(session, _GATE_UNDO):  # the rolled-back claims' own units
        gate.release(keys)
