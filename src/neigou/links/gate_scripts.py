"""The stock gate's Lua scripts (``links.stock_gate``): each runs atomically in Redis.

A claim's script never guesses a missing counter: it answers ``MISSING_STOCK`` or ``MISSING_CUSTOMER``
(nothing changed), the caller reads the database's counts (``links.gate_seeds``) and runs it again with
them as seeds, which the script sets only on a counter still missing (a concurrent seeding's counter,
and the claims taken on it since, stand). Counters present cost one round trip and no query.
"""

from __future__ import annotations

from datetime import datetime

MISSING_STOCK = -3  # the coupon's stock counter is missing (the customer's may be too)
MISSING_CUSTOMER = -4  # only the customer's counter is missing
LIMIT_REACHED = -1
SOLD_OUT = -2


def counter_keys(
    namespace: str, coupon_id: int, created_at: datetime, customer_ref_hash: str
) -> tuple[str, str, str]:
    """The keys of a coupon incarnation (its ``created_at`` tells one from another under a reused id):
    its stock counter, one customer's counter, its stock cap."""
    base = f"{namespace}:coupon:{coupon_id}:{int(created_at.timestamp() * 1_000_000)}"
    return f"{base}:claimed", f"{base}:c:{customer_ref_hash}", f"{base}:cap"


# KEYS: stock counter, customer counter, stock cap. ARGV: the stock of the terms the process holds,
# the per-customer limit, the seeds of the stock and customer counters ('' when not read yet), the
# counters' expiry (unix seconds; each claim moves it later, never sooner, so a coupon whose end was
# moved later keeps its counters while it runs). The stock a claim may take up to is the terms' total, or the
# coupon's cap (set while and shortly after its stock is changed: ``hold_stock``) when lower. A
# refusal that counters present already decide comes before asking for seeds (a burst on a sold-out
# coupon reads nothing); the limit is checked before the stock.
_TAKE = """
local total = tonumber(ARGV[1])
local cap = redis.call('HGET', KEYS[3], 'total')
if cap and tonumber(cap) < total then total = tonumber(cap) end
local stock = redis.call('GET', KEYS[1])
local mine = redis.call('GET', KEYS[2])
if mine and tonumber(mine) >= tonumber(ARGV[2]) then return -1 end
if stock and tonumber(stock) >= total then return -2 end
if not stock then
  if ARGV[3] == '' then return -3 end
  redis.call('SET', KEYS[1], ARGV[3], 'EXAT', ARGV[5], 'NX')
  stock = redis.call('GET', KEYS[1])
end
if not mine then
  if ARGV[4] == '' then return -4 end
  redis.call('SET', KEYS[2], ARGV[4], 'EXAT', ARGV[5], 'NX')
  mine = redis.call('GET', KEYS[2])
end
if tonumber(mine) >= tonumber(ARGV[2]) then return -1 end
if tonumber(stock) >= total then return -2 end
redis.call('INCR', KEYS[2])
redis.call('EXPIREAT', KEYS[1], ARGV[5], 'GT')
redis.call('EXPIREAT', KEYS[2], ARGV[5], 'GT')
"""
# Returns the new stock count, or one of the codes above.
CLAIM_SCRIPT = _TAKE + "return redis.call('INCR', KEYS[1])\n"
# The same check and take, and the claim appended to the claim stream (KEYS 4) in the same step
# (claims written behind: ``claim_stream``). ARGV 6 is the claim as JSON. Returns a code as above, or
# the stream id.
CLAIM_RECORD_SCRIPT = (
    _TAKE
    + """
redis.call('INCR', KEYS[1])
return redis.call('XADD', KEYS[4], '*', 'c', ARGV[6])
"""
)
# Give back one unit of both counters (never below zero).
RELEASE_SCRIPT = """
for i = 1, 2 do
  if tonumber(redis.call('GET', KEYS[i]) or '0') > 0 then redis.call('DECR', KEYS[i]) end
end
return 1
"""
# A change of stock, under the coupon's row lock (``hold_stock``). KEYS: stock counter, stock cap.
# ARGV: the new stock the counter may not exceed ('' for a raise), the cap, its token, seconds kept,
# the counter's seed ('' when not read yet) and its expiry. Returns the counter when it exceeds the new
# stock (nothing set), ``MISSING_STOCK`` when a lowering finds no counter and has no seed yet (a
# missing counter is not zero: its claims may still be in the stream), else -1 (the cap set).
HOLD_SCRIPT = """
if ARGV[1] ~= '' then
  local taken = redis.call('GET', KEYS[1])
  if not taken then
    if ARGV[5] == '' then return -3 end
    redis.call('SET', KEYS[1], ARGV[5], 'EXAT', ARGV[6], 'NX')
    taken = redis.call('GET', KEYS[1]) or ARGV[5]
  end
  if tonumber(taken) > tonumber(ARGV[1]) then return tonumber(taken) end
end
redis.call('HSET', KEYS[2], 'total', ARGV[2], 'token', ARGV[3])
redis.call('EXPIRE', KEYS[2], ARGV[4])
return -1
"""
# The change's outcome, only on a cap that still carries its token (a later change's is left alone).
# KEYS: stock cap. ARGV: the token, the cap from now on, its token from now on, seconds kept.
SETTLE_SCRIPT = """
if redis.call('HGET', KEYS[1], 'token') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'total', ARGV[2], 'token', ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[4])
return 1
"""
