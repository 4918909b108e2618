"""Coupon stock and per-customer limits on Redis, in one Lua script per claim.

With Redis configured, a claim first passes this gate: one atomic script checks and raises both
counters, so a burst of thousands of claims on a sold-out coupon is refused in Redis and never
queues on the coupon's row. The database stays the authority: the claim is then written with the
same conditional UPDATEs as without Redis (so even a drifted counter cannot oversell), and a claim
the database refuses or rolls back gives its units back to Redis (``release``).

A change of a coupon's stock asks the gate first (``hold_stock``): refused below what the counter
has given out, else capping the gate's claims at the new stock from that instant. A change of its
promised terms too (``hold_terms``): refused once the counter has given out any, else stopping the
gate's claims until the change's outcome.

A counter missing from Redis (a coupon or a customer of it seen first, or its key lost) is seeded
from the database's counts, read fresh when the script asks (``links.gate_seeds``), and set only if no
seeding or deletion of a counter came between the read and the set (``gate_scripts``: else read again,
then 503); counters present cost no query. They expire a day after the coupon ends; keys carry its
creation instant and id (a restored or re-numbered database meets no old counters).
"""

from __future__ import annotations

import sys
import threading
import time
import uuid
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import redis
import structlog
from sqlalchemy import event
from sqlalchemy.orm import Session

from neigou.kit import commit_hooks
from neigou.kit.clock import utcnow
from neigou.kit.db import surely_not_committed
from neigou.kit.logging import error_summary
from neigou.kit.scoping import unscoped
from neigou.links import gate_scripts as lua
from neigou.links import gate_seeds
from neigou.links.gate_scripts import TERMS_UNCONFIRMED, UNCONFIRMED, StockUnconfirmed, TermsUnconfirmed
from neigou.links.gate_types import CouponTerms, GateAnswer, GateKeys
from neigou.offers.models import CouponTemplate
from neigou.offers.offer_edit import STOCK_GUARDS, TERMS_CHANGED, TERMS_GUARDS

TERMS_TTL_SECONDS = 5.0
# A stock cap (``hold_stock``) while the change's transaction is open, and after its outcome: long past
# ``TERMS_TTL_SECONDS``, when every process has read the outcome's stock into its terms.
CAP_PENDING_SECONDS = 600
CAP_KEPT_SECONDS = 60
_GATES: weakref.WeakSet[StockGate] = weakref.WeakSet()
_CAPS = "neigou_stock_caps"  # ``kit.commit_hooks`` key of ``hold_stock``'s and ``hold_terms``' caps
# ``session.info`` key: caps confirmed, the COMMIT under way (a rollback now may follow a commit)
_COMMITTING = "neigou_stock_caps_committing"
log = structlog.get_logger(__name__)
# The database's counts a missing counter starts from (the coupon's claims, the customer's of it), read
# when the script asks; the argument says the coupon's counter is the one missing (``gate_seeds.seeder``).
Seeder = Callable[[bool], tuple[int, int]]


class StockGate:
    """The Redis side of claims."""

    def __init__(self, client: redis.Redis, namespace: str, *, write_behind: bool = False) -> None:
        self.client = client
        self.namespace = namespace
        # The namespace's claim stream, which a missing counter's seed counts whether or not this gate
        # writes to it (a deployment's processes share the stream).
        self.claims_stream = f"{namespace}:claims"
        # With ``write_behind`` a claim without a request id is taken and recorded by one script and
        # stored by ``claim_stream.ClaimWriter`` in batches; otherwise the request writes it.
        self.stream = self.claims_stream if write_behind else None
        self._claim = client.register_script(lua.CLAIM_SCRIPT)
        self._record = client.register_script(lua.CLAIM_RECORD_SCRIPT)
        self._release = client.register_script(lua.RELEASE_SCRIPT)
        self._hold = client.register_script(lua.HOLD_SCRIPT)
        self._settle = client.register_script(lua.SETTLE_SCRIPT)
        self._terms: dict[int, tuple[float, CouponTerms | None]] = {}
        self._terms_lock = threading.Lock()
        _GATES.add(self)

    def terms(self, session: Session, coupon_id: int) -> CouponTerms | None:
        """A coupon's terms from the in-process copy (read from the database when older than the TTL),
        whichever organization's: read unscoped, as the copy serves every caller (the claim checks the
        caller's organization, ``links.claims``)."""
        now = time.monotonic()
        entry = self._terms.get(coupon_id)
        if entry is not None and entry[0] > now:
            return entry[1]
        with unscoped(session):
            coupon = session.get(CouponTemplate, coupon_id)
        terms = CouponTerms.of(coupon) if coupon is not None else None
        with self._terms_lock:
            if len(self._terms) > 10_000:
                self._terms.clear()
            self._terms[coupon_id] = (now + TERMS_TTL_SECONDS, terms)
        return terms

    def close(self) -> None:
        """Take the gate out of the process's gates (its runtime stopped): a change of stock no longer
        checks or caps through it."""
        _GATES.discard(self)

    def forget(self, coupon_ids: set[int]) -> None:
        """Drop the copies of these coupons' terms (they were just changed in this process)."""
        with self._terms_lock:
            for coupon_id in coupon_ids:
                self._terms.pop(coupon_id, None)

    def keys(self, coupon: CouponTemplate | CouponTerms, customer_ref_hash: str) -> GateKeys:
        """Counter keys of a coupon incarnation and one of its customers."""
        return GateKeys(*lua.counter_keys(self.namespace, coupon.id, coupon.created_at, customer_ref_hash))

    def _run(
        self,
        script: redis.commands.core.Script,
        coupon: CouponTemplate | CouponTerms,
        customer_ref_hash: str,
        seeds_of: Seeder,
        *,
        stream: list[str] | None = None,
        record: list[str | bytes] | None = None,
    ) -> int | bytes:
        """Run a claim script, reading the database's counts when it asks (``gate_scripts.run_claim``)."""
        k = self.keys(coupon, customer_ref_hash)
        keys = [k.stock, k.customer, k.cap, k.epochs, *(stream or [])]
        found = lua.run_claim(script, keys, coupon, customer_ref_hash, seeds_of=seeds_of, record=record or [])
        return found if isinstance(found, bytes) else int(found)

    def take(
        self, coupon: CouponTemplate | CouponTerms, customer_ref_hash: str, *, seeds: Seeder
    ) -> GateAnswer:
        """Take one unit of stock for the customer, atomically, or say why not."""
        result = self._run(self._claim, coupon, customer_ref_hash, seeds)
        return _refusal(result) or GateAnswer.TAKEN

    def take_and_record(
        self, coupon: CouponTerms, customer_ref_hash: str, record: str | bytes, *, seeds: Seeder
    ) -> GateAnswer | str:
        """Take one unit and append the claim to the stream atomically: the stream id, or why not."""
        assert self.stream is not None
        result = self._run(
            self._record, coupon, customer_ref_hash, seeds, stream=[self.stream], record=[record]
        )
        return result.decode() if isinstance(result, bytes) else _refusal(result) or GateAnswer.SOLD_OUT

    def release(self, keys: GateKeys) -> None:
        """Give a unit back (the database refused or rolled back the claim)."""
        self._release(keys=[keys.stock, keys.customer], args=[])

    def counts(self, coupon: CouponTemplate, customer_ref_hash: str) -> tuple[int, int]:
        """(stock claimed, customer's claims) as Redis holds them (tests, operators)."""
        keys = self.keys(coupon, customer_ref_hash)
        stock, customer = self.client.mget([keys.stock, keys.customer])
        return int(stock or 0), int(customer or 0)

    def stock_cap(self, coupon: CouponTemplate | CouponTerms) -> int | None:
        """The coupon's stock cap, if one is set (tests, operators)."""
        cap = self.client.hget(self.keys(coupon, "").cap, "total")
        return int(cap) if cap is not None else None

    def hold_cap(
        self,
        coupon: CouponTemplate,
        *,
        lowering_to: int | None,
        cap: int,
        token: str,
        seed: Callable[[], int],
    ) -> int | None:
        """Set the coupon's stock cap, pending for ``CAP_PENDING_SECONDS``, unless the counter exceeds
        ``lowering_to``: then that count (nothing set). A lowering that finds no counter seeds it with
        ``seed()`` (the database's claims and the stream's) first."""
        keys = self.keys(coupon, "")
        # A day after the coupon ends, and at least a day from now: a coupon that ended long ago (its
        # stock changed after the end) would seed a counter Redis drops at once.
        expire = int((max(coupon.ends_at, utcnow()) + timedelta(days=1)).timestamp())
        args = ["" if lowering_to is None else lowering_to, cap, token, CAP_PENDING_SECONDS]
        where = [keys.stock, keys.cap, keys.epochs]
        taken = lua.seeded(  # seeded under the epoch it was read under (``gate_scripts``)
            lambda seeded: self._hold(keys=where, args=[*args, *(seeded or ["", expire, ""])]),
            lambda answer: [seed(), expire, answer[1]],
        )
        if taken is None:  # stale seeds each time, logged as by ``hold_stock``
            log.warning("stock_gate.cap_unavailable", coupon_id=coupon.id, error="seeds_stale")
            raise StockUnconfirmed(UNCONFIRMED)
        return int(taken) if int(taken) >= 0 else None

    def settle_cap(self, key: str, *, token: str, cap: int, new_token: str, seconds: int) -> bool:
        """Set the cap ``key`` and its expiry if it still carries ``token``."""
        return bool(self._settle(keys=[key], args=[token, cap, new_token, seconds]))


def _refusal(result: int | bytes) -> GateAnswer | None:
    if result == lua.LIMIT_REACHED:
        return GateAnswer.LIMIT_REACHED
    return GateAnswer.SOLD_OUT if result == lua.SOLD_OUT else None


@event.listens_for(Session, "after_commit")
def _forget_changed_terms(session: Session) -> None:
    """A coupon edited in this process is read afresh by its next claim here, once the outermost
    transaction commits (a released savepoint hands its edits to the transaction around it); other
    processes keep their copy for at most ``TERMS_TTL_SECONDS``."""
    changed = set(commit_hooks.released(session, TERMS_CHANGED) or ())
    for gate in list(_GATES) if changed else []:
        gate.forget(changed)


@event.listens_for(Session, "after_rollback")
def _keep_terms_after_rollback(session: Session) -> None:
    commit_hooks.rolled_back(session, TERMS_CHANGED)  # the rolled-back transaction's own edits only


@dataclass(frozen=True, slots=True)
class _CapHold:
    """A change's cap, registered with its transaction (``kit.commit_hooks``): ``held`` while the
    transaction is open (below ``old``: confirmed before the COMMIT), the stock ``new`` after it commits,
    the stock ``old`` after it rolls back. ``terms``: held for a change of the promised terms."""

    gate: StockGate
    coupon_id: int
    key: str
    token: str
    old: int
    new: int
    held: int
    terms: bool = False

    def unconfirmed(self) -> StockUnconfirmed | TermsUnconfirmed:
        """The 503 of a change whose cap the gate could not confirm."""
        return TermsUnconfirmed(TERMS_UNCONFIRMED) if self.terms else StockUnconfirmed(UNCONFIRMED)


def _distinct_gates() -> list[StockGate]:
    """One gate per Redis server, database and namespace (gates of one deployment share counters)."""
    gates: dict[tuple[object, ...], StockGate] = {}
    for gate in list(_GATES):
        where = gate.client.connection_pool.connection_kwargs
        place = (gate.namespace, where.get("host"), where.get("port"), where.get("path"), where.get("db"))
        gates.setdefault(place, gate)
    return list(gates.values())


def hold_stock(session: Session, coupon: CouponTemplate, total: int) -> int | None:
    """``offers.offer_edit``'s stock guard, called under the coupon's row lock before its stock
    (``coupon.total_quantity``) becomes ``total``: the units the gate has given out, claims still in
    the stream included, when a lowering goes below them (the change is refused); else, in the same
    Redis step, the gate's claims stop at min(old, new) stock from that instant until the outcome,
    confirmed just before the COMMIT (``_caps_confirmed``: a lapsed cap or a silent Redis refuses it,
    503). Then the cap becomes the new stock, or the old one on a known rollback (an unknown outcome
    keeps the lower cap pending), for ``CAP_KEPT_SECONDS``: other processes' terms may be older. A
    lowering the gate cannot confirm (Redis does not answer, or answers an error) is refused, 503
    ``stock_unconfirmed``: claims it answered may still be in the stream, uncounted by the database. A
    raise goes ahead without it (processes holding the old terms refuse early, never oversell)."""
    old = coupon.total_quantity
    lowering = total < old
    for gate in _distinct_gates():
        token = uuid.uuid4().hex

        def seed(gate: StockGate = gate) -> int:
            return gate_seeds.read(session, gate.client, gate.claims_stream, coupon.id, "")[0]

        key = gate.keys(coupon, "").cap
        # A change of terms earlier in the transaction stopped the claims: they stay stopped.
        terms = any(h.terms and h.gate is gate and h.key == key for h in commit_hooks.pending(session, _CAPS))
        held = 0 if terms else min(old, total)
        try:
            taken = gate.hold_cap(
                coupon, lowering_to=total if lowering else None, cap=held, token=token, seed=seed
            )
        except redis.RedisError as exc:
            log.warning("stock_gate.cap_unavailable", coupon_id=coupon.id, error=error_summary(exc))
            if lowering:
                raise StockUnconfirmed(UNCONFIRMED) from None
            continue
        if taken is not None:
            return taken
        hold = _CapHold(gate, coupon.id, key, token, old=old, new=total, held=held, terms=terms)
        commit_hooks.add(session, _CAPS, hold)
    return None


def hold_terms(session: Session, coupon: CouponTemplate, total: int) -> int | None:
    """``offers.offer_edit``'s terms guard, called under the coupon's row lock before its promised terms
    change, the database having found no claim nor order (its stock ``total`` after the change): the
    units the gate has given out when any (the change is refused: claims answered, still in the stream
    or not, were promised the old terms), counted by the coupon's counter (seeded as a lowering seeds it
    when missing), else, in the same Redis step, the gate's claims stop (a cap of 0) until the outcome,
    confirmed just before the COMMIT, then the cap is the stock as ``hold_stock`` leaves it: no claim is
    answered under the old terms and stored under the new. A gate that cannot be asked (Redis does not
    answer, answers an error, or its counters kept changing) refuses the change, 503
    ``terms_unconfirmed``: claims it answered may still be in the stream."""
    old = coupon.total_quantity
    for gate in _distinct_gates():
        token = uuid.uuid4().hex

        def seed(gate: StockGate = gate) -> int:
            return gate_seeds.read(session, gate.client, gate.claims_stream, coupon.id, "")[0]

        try:
            taken = gate.hold_cap(coupon, lowering_to=0, cap=0, token=token, seed=seed)
        except (redis.RedisError, StockUnconfirmed) as exc:
            log.warning("stock_gate.terms_unavailable", coupon_id=coupon.id, error=error_summary(exc))
            raise TermsUnconfirmed(TERMS_UNCONFIRMED) from None
        if taken is not None:
            return taken
        key = gate.keys(coupon, "").cap
        hold = _CapHold(gate, coupon.id, key, token, old=old, new=total, held=0, terms=True)
        commit_hooks.add(session, _CAPS, hold)
    return None


def _settle(hold: _CapHold, *, token: str, cap: int, new_token: str, seconds: int) -> None:
    try:
        hold.gate.settle_cap(hold.key, token=token, cap=cap, new_token=new_token, seconds=seconds)
    except redis.RedisError as exc:  # the pending cap expires on its own
        log.warning("stock_gate.cap_unsettled", coupon_id=hold.coupon_id, error=error_summary(exc))


@event.listens_for(Session, "before_commit")
def _caps_confirmed(session: Session) -> None:
    """Before the outermost commit, flushed (a failure until the COMMIT is a known rollback): each
    lowering's or change of terms' cap still carrying its token is kept ``CAP_PENDING_SECONDS`` more;
    one gone (the transaction outlived it: old terms may have claimed past the new stock, or a claim was
    answered under the terms changed) or Redis silent: 503."""
    if _CAPS not in session.info or session.in_nested_transaction():
        return
    holds: list[_CapHold] = commit_hooks.pending(session, _CAPS)
    if not holds:
        return
    session.flush()
    latest = {(id(h.gate), h.key): h for h in holds}  # the last change owns the cap
    for place in {(id(h.gate), h.key) for h in holds if h.held < h.old}:
        hold = latest[place]
        try:
            kept = hold.gate.settle_cap(
                hold.key, token=hold.token, cap=hold.held, new_token=hold.token, seconds=CAP_PENDING_SECONDS
            )
        except redis.RedisError as exc:
            log.warning("stock_gate.cap_unavailable", coupon_id=hold.coupon_id, error=error_summary(exc))
            raise hold.unconfirmed() from None
        if not kept:
            log.warning("stock_gate.cap_lapsed", coupon_id=hold.coupon_id)
            raise hold.unconfirmed()
    session.info[_COMMITTING] = True


@event.listens_for(Session, "after_commit")
def _caps_committed(session: Session) -> None:
    session.info.pop(_COMMITTING, None)
    for hold in commit_hooks.released(session, _CAPS) or []:  # only the latest change's token matches
        _settle(hold, token=hold.token, cap=hold.new, new_token=hold.token, seconds=CAP_KEPT_SECONDS)


@event.listens_for(Session, "after_rollback")
def _caps_rolled_back(session: Session) -> None:
    """Each cap goes back to the stock before the rolled-back changes (the first one's old stock), if
    the last of them still owns it; to the pending cap of a change the transaction around a rolled-back
    savepoint still holds, with its token, when there is one. After a COMMIT of unknown outcome (the
    connection lost, not an error the database answered: ``kit.db.surely_not_committed``) each stays
    pending, at the lower stock, until it expires or the next change of stock resets it."""
    if session.info.pop(_COMMITTING, False) and not surely_not_committed(sys.exc_info()[1]):
        for hold in commit_hooks.rolled_back(session, _CAPS):
            log.warning("stock_gate.cap_outcome_unknown", coupon_id=hold.coupon_id)
        return
    undone: dict[tuple[int, str], list[_CapHold]] = {}
    for hold in commit_hooks.rolled_back(session, _CAPS):
        undone.setdefault((id(hold.gate), hold.key), []).append(hold)
    open_holds = {(id(h.gate), h.key): h for h in commit_hooks.pending(session, _CAPS)}
    for place, holds in undone.items():
        outer = open_holds.get(place)
        _settle(
            holds[-1],
            token=holds[-1].token,
            cap=outer.held if outer else holds[0].old,
            new_token=outer.token if outer else holds[-1].token,
            seconds=CAP_PENDING_SECONDS if outer else CAP_KEPT_SECONDS,
        )


if hold_stock not in STOCK_GUARDS:
    STOCK_GUARDS.append(hold_stock)
if hold_terms not in TERMS_GUARDS:
    TERMS_GUARDS.append(hold_terms)
