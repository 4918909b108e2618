"""The stock gate's Lua scripts (``links.stock_gate``), each run atomically in Redis, and their 503s.

A claim's script never guesses a missing counter: it answers ``MISSING_STOCK`` or ``MISSING_CUSTOMER``
(nothing changed) with the counters' epochs, the caller reads the database's counts
(``links.gate_seeds``) and runs it again with them as seeds (``seeded``), which the script sets only on
a counter still missing (a concurrent seeding's counter, and the claims taken on it since, stand) and
only under the epochs they were read under (see ``_EPOCHS``). Counters present cost one round trip and
no query.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import structlog

from neigou.kit.errors import Unavailable
from neigou.kit.i18n import Message

MISSING_STOCK = -3  # the coupon's stock counter is missing (the customer's may be too)
MISSING_CUSTOMER = -4  # only the customer's counter is missing
LIMIT_REACHED = -1
SOLD_OUT = -2
log = structlog.get_logger(__name__)
STOCK_EPOCH = "s"  # the epochs' field of the stock counter
# How many times a claim reads its counters' seeds before answering 503: each read found stale means
# the counter was seeded by another claim or deleted meanwhile, which a few milliseconds later is over.
SEED_READS = 3
UNSETTLED = Message("Many claims of this coupon are being counted right now. Try again in a moment.")


class CountersUnsettled(Unavailable):
    """The gate's counters kept changing while a claim read their seeds: worth retrying in a second."""

    code = "overloaded"
    retry_after = 1


UNCONFIRMED = Message(
    "The coupon's claims cannot be counted right now, so its stock cannot be lowered. "
    "Try again in a moment, or pause the coupon."
)


class StockUnconfirmed(Unavailable):
    """A lowering of stock the claim gate could not check (``stock_gate.hold_stock``): worth retrying
    in a few seconds."""

    code = "stock_unconfirmed"
    retry_after = 5


TERMS_UNCONFIRMED = Message(
    "The coupon's claims cannot be counted right now, so its value, cap, threshold and visibility "
    "cannot be changed. Try again in a moment."
)


class TermsUnconfirmed(Unavailable):
    """A change of a coupon's promised terms the claim gate could not check (``stock_gate.hold_terms``):
    claims it answered may wait unstored in the stream. Worth retrying in a few seconds."""

    code = "terms_unconfirmed"
    retry_after = 5


def seeded(run: Callable[[list[Any]], Any], seeds: Callable[[list[Any]], list[Any]]) -> Any:
    """A script's answer: ``run([])`` first; while it answers that a counter is missing (a list: the
    code and the epochs now), ``run(seeds(answer))`` with the seeds read under those epochs, at most
    ``SEED_READS`` times. None when the seeds were stale each time."""
    result = run([])
    for _ in range(SEED_READS):
        if not isinstance(result, list):
            return result
        result = run(seeds(result))
    return None if isinstance(result, list) else result


def run_claim(
    script: Callable[..., Any],
    keys: list[str],
    coupon: Any,
    customer_ref_hash: str,
    *,
    seeds_of: Callable[[bool], tuple[int, int]],
    record: list[str | bytes],
) -> Any:
    """A claim script's answer (``_TAKE``'s arguments), seeded when it asks (``seeded``): ``seeds_of``
    reads the coupon's and the customer's counts, with the stream when the stock counter is missing.
    Seeds stale each time answer 503 ``overloaded`` (``CountersUnsettled``)."""
    limits = [coupon.total_quantity, coupon.per_customer_limit]
    expire = int((coupon.ends_at + timedelta(days=1)).timestamp())
    field = epoch_field(customer_ref_hash)

    def run(seeds: list[Any]) -> Any:  # [stock seed, customer seed, their epochs]
        stock, mine, *epochs = seeds or ["", "", "", ""]
        return script(keys=keys, args=[*limits, stock, mine, expire, field, *epochs, *record])

    def read(answer: list[Any]) -> list[Any]:
        stock, mine = seeds_of(answer[0] == MISSING_STOCK)
        # Read for the customer's counter alone, the stock's seed misses the claims in the stream.
        return [stock if answer[0] == MISSING_STOCK else "", mine, *answer[1:]]

    found = seeded(run, read)
    if found is None:
        log.warning("stock_gate.seeds_stale", coupon_id=coupon.id, reads=SEED_READS)
        raise CountersUnsettled(UNSETTLED)
    return found


def counter_keys(
    namespace: str, coupon_id: int, created_at: datetime, customer_ref_hash: str
) -> tuple[str, str, str, str]:
    """The keys of a coupon incarnation (its ``created_at`` tells one from another under a reused id):
    its stock counter, one customer's counter, its stock cap, its counters' epochs."""
    base = f"{namespace}:coupon:{coupon_id}:{int(created_at.timestamp() * 1_000_000)}"
    return f"{base}:claimed", f"{base}:c:{customer_ref_hash}", f"{base}:cap", f"{base}:epochs"


def epoch_field(customer_ref_hash: str) -> str:
    """The epochs' field of a customer's counter: one of 4096 buckets of customers (a field per customer
    would cost as much memory as the counters; one for all would make a burst of new customers stale
    each other's seeds)."""
    return f"c{zlib.crc32(customer_ref_hash.encode()) % 4096}"


# A seed is read between two runs of a script, and may be stale when set: between the read and the
# set, another claim may have seeded the counter (and taken on it) before it was deleted again, or the
# claim writer refused a claim the read counted (``claim_stream``) and deleted the counters. So the
# coupon's epochs (a hash: the stock counter's field, ``STOCK_EPOCH``, and the customers' fields,
# ``epoch_field``) are bumped by every seeding of a counter and every deletion of one by a script; a
# script that needs a seed answers the counter's epochs with the code, and sets a seed only under the
# epochs it was read under, else answers the code again with the epochs now (the caller reads again).
# A deletion no script makes (the key evicted) bumps nothing; a seeding before it did, and a claim
# taken on a counter present needs none: a seed read before the counter was last seeded is stale.
# Changes of the counts that pass by the gate are not seen (claims stored without Redis meanwhile,
# or a keyed claim the gate answered and the database holds uncommitted while the seed is read).
# Helpers: ``_epochs`` is the stock's and a customer's epochs now ('' for none); ``_bump`` raises a
# field and moves the hash's expiry later, never sooner.
_EPOCHS = """
local function _epochs(key, field)
  local found = redis.call('HMGET', key, 's', field)
  return {found[1] or '', found[2] or ''}
end
local function _bump(key, field, expire)
  redis.call('HINCRBY', key, field, 1)
  redis.call('EXPIREAT', key, expire, 'NX')
  redis.call('EXPIREAT', key, expire, 'GT')
end
"""
# KEYS: stock counter, customer counter, stock cap, the coupon's epochs. ARGV: the stock of the terms
# the process holds, the per-customer limit, the seeds of the stock and customer counters ('' when not
# read yet), the counters' expiry (unix seconds; each claim moves it later, never sooner, so a coupon
# whose end was moved later keeps its counters while it runs), the customer's epoch field, the epochs
# the seeds were read under (stock, customer). The stock a claim may take up to is the terms' total, or
# the coupon's cap (set while and shortly after its stock is changed: ``hold_stock``) when lower. A
# refusal that counters present already decide comes before asking for seeds (a burst on a sold-out
# coupon reads nothing); the limit is checked before the stock. A seed wanted answers
# {code, stock epoch, customer epoch}.
_TAKE = (
    _EPOCHS
    + """
local total = tonumber(ARGV[1])
local cap = redis.call('HGET', KEYS[3], 'total')
if cap and tonumber(cap) < total then total = tonumber(cap) end
local stock = redis.call('GET', KEYS[1])
local mine = redis.call('GET', KEYS[2])
if mine and tonumber(mine) >= tonumber(ARGV[2]) then return -1 end
if stock and tonumber(stock) >= total then return -2 end
if not stock or not mine then
  local epochs = _epochs(KEYS[4], ARGV[6])
  if not stock then
    if ARGV[3] == '' or ARGV[7] ~= epochs[1] then return {-3, epochs[1], epochs[2]} end
    if not mine and ARGV[8] ~= epochs[2] then return {-3, epochs[1], epochs[2]} end
    redis.call('SET', KEYS[1], ARGV[3], 'EXAT', ARGV[5])
    stock = ARGV[3]
    _bump(KEYS[4], 's', ARGV[5])
  end
  if not mine then
    if ARGV[4] == '' or ARGV[8] ~= epochs[2] then return {-4, epochs[1], epochs[2]} end
    redis.call('SET', KEYS[2], ARGV[4], 'EXAT', ARGV[5])
    mine = ARGV[4]
    _bump(KEYS[4], ARGV[6], ARGV[5])
  end
end
if tonumber(mine) >= tonumber(ARGV[2]) then return -1 end
if tonumber(stock) >= total then return -2 end
redis.call('INCR', KEYS[2])
redis.call('EXPIREAT', KEYS[1], ARGV[5], 'GT')
redis.call('EXPIREAT', KEYS[2], ARGV[5], 'GT')
"""
)
# Returns the new stock count, or one of the codes above.
CLAIM_SCRIPT = _TAKE + "return redis.call('INCR', KEYS[1])\n"
# The same check and take, and the claim appended to the claim stream (KEYS 5) in the same step
# (claims written behind: ``claim_stream``). ARGV 9 is the claim as JSON. Returns a code as above, or
# the stream id.
CLAIM_RECORD_SCRIPT = (
    _TAKE
    + """
redis.call('INCR', KEYS[1])
return redis.call('XADD', KEYS[5], '*', 'c', ARGV[9])
"""
)
# The claim writer's hook (``kit.streams.AckHook``) on a claim moved to the dead letters past its
# customer's limit (``claim_stream``): keeps the refusal (KEYS 1, ARGV 1 for ARGV 2 seconds) and, when
# the coupon is still there, deletes the counters that counted the claim (KEYS 2, 3) and bumps their
# epochs (KEYS 4, fields ARGV 3 and 4, expiry ARGV 5): a seed read before, which may count the claim,
# is not set after.
REFUSAL_HOOK = """
local function on_removed(keys, id, args)
  redis.call('SET', keys[1], args[1], 'EX', args[2])
  if #keys > 1 then
    redis.call('DEL', keys[2], keys[3])
    redis.call('HINCRBY', keys[4], args[3], 1)
    redis.call('HINCRBY', keys[4], args[4], 1)
    redis.call('EXPIREAT', keys[4], args[5], 'NX')
    redis.call('EXPIREAT', keys[4], args[5], 'GT')
  end
end
"""
# An opt-out of every program (``StockGate.forget_customer``): deletes a customer's counter of a coupon
# (KEYS 1) and bumps its epoch (KEYS 2, field ARGV 1, expiry ARGV 2), so a seed read before (counting
# the claims the opt-out moved to its tombstone) is not set after; the next claim seeds it afresh.
FORGET_SCRIPT = """
if redis.call('DEL', KEYS[1]) == 1 then
  redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
  redis.call('EXPIREAT', KEYS[2], ARGV[2], 'NX')
  redis.call('EXPIREAT', KEYS[2], ARGV[2], 'GT')
end
return 1
"""
# Give back one unit of both counters (never below zero).
RELEASE_SCRIPT = """
for i = 1, 2 do
  if tonumber(redis.call('GET', KEYS[i]) or '0') > 0 then redis.call('DECR', KEYS[i]) end
end
return 1
"""
# A change of stock, under the coupon's row lock (``hold_stock``). KEYS: stock counter, stock cap, the
# coupon's epochs. ARGV: the new stock the counter may not exceed ('' for a raise), the cap, its token,
# seconds kept, the counter's seed ('' when not read yet), its expiry and the stock epoch it was read
# under. Returns the counter when it exceeds the new stock (nothing set), {``MISSING_STOCK``, the stock
# epoch} when a lowering finds no counter and has no seed read under that epoch (a missing counter is
# not zero: its claims may still be in the stream), else -1 (the cap set).
HOLD_SCRIPT = (
    _EPOCHS
    + """
if ARGV[1] ~= '' then
  local taken = redis.call('GET', KEYS[1])
  if not taken then
    local epochs = _epochs(KEYS[3], 's')
    if ARGV[5] == '' or ARGV[7] ~= epochs[1] then return {-3, epochs[1]} end
    redis.call('SET', KEYS[1], ARGV[5], 'EXAT', ARGV[6])
    _bump(KEYS[3], 's', ARGV[6])
    taken = ARGV[5]
  end
  if tonumber(taken) > tonumber(ARGV[1]) then return tonumber(taken) end
end
redis.call('HSET', KEYS[2], 'total', ARGV[2], 'token', ARGV[3])
redis.call('EXPIRE', KEYS[2], ARGV[4])
return -1
"""
)
# The change's outcome, only on a cap that still carries its token (a later change's is left alone).
# KEYS: stock cap. ARGV: the token, the cap from now on, its token from now on, seconds kept.
SETTLE_SCRIPT = """
if redis.call('HGET', KEYS[1], 'token') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'total', ARGV[2], 'token', ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[4])
return 1
"""
