"""The reservation gate's Lua scripts (``gate.ReservationGate`` runs them)."""

# KEYS: stock hash (sku → units), customer hash (sku|customer → units), employees hash (number → bound
# customer or ""), invitations hash (code → bound customer or ""), reservation stream, seeded marker,
# requests hash (request id → "stream id|" and the terms kept with it, see ``Prior``), in-flight hash
# (``inflight``), guests hash (customer → the invitation code bound to them), staff hash (customer → the
# employee number bound to them).
# ARGV: sku, customer, quantity, stock, per-person limit, mode ("e" employee, "i" invitation),
# employee number or code, the reservation as JSON (without id), request id ("" none), the terms kept
# with the request id ("customer|quantity|price|expires|sku"), the event's id.
# The entry carries the event's id (``e``): the writer counts it off when it leaves the stream.
# An employee number, like an invitation code, binds to the first shopper who reserves with it: another
# shopper is refused (one number is one shopper within one per-person limit). A shopper is one
# invitation's guest: an unbound code does not bind to a shopper another code is bound to. A shopper is
# an employee or a guest, never both (one per-person limit, not two): a code is refused to a shopper an
# employee number is bound to, and an unbound number does not bind to a shopper a code is bound to.
# Returns {1, stream id} or {2, what the request id holds} (a retry) or {-1} limit reached,
# {-2} sold out, {-3} not seeded, {-4} not invited, {-5} the employee number is another shopper's, {-6} the shopper holds another
# invitation, {-7} the shopper is a guest (employee mode), {-8} the shopper is an employee (invitation mode).
RESERVE_SCRIPT = """
if redis.call('EXISTS', KEYS[6]) == 0 then return {-3} end
if ARGV[9] ~= '' then
  local prior = redis.call('HGET', KEYS[7], ARGV[9])
  if prior then return {2, prior} end
end
local book = KEYS[4]
if ARGV[6] == 'e' then book = KEYS[3] end
local bound = redis.call('HGET', book, ARGV[7])
if not bound then return {-4} end
if bound ~= '' and bound ~= ARGV[2] then
  if ARGV[6] == 'e' then return {-5} end
  return {-4}
end
if ARGV[6] == 'i' then
  if redis.call('HEXISTS', KEYS[10], ARGV[2]) == 1 then return {-8} end
  local held = redis.call('HGET', KEYS[9], ARGV[2])
  if bound == '' and held and held ~= ARGV[7] then return {-6} end
elseif bound == '' and redis.call('HEXISTS', KEYS[9], ARGV[2]) == 1 then
  return {-7}
end
local q = tonumber(ARGV[3])
local field = ARGV[1] .. '|' .. ARGV[2]
if tonumber(redis.call('HGET', KEYS[2], field) or '0') + q > tonumber(ARGV[5]) then return {-1} end
if tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0') + q > tonumber(ARGV[4]) then return {-2} end
redis.call('HINCRBY', KEYS[2], field, q)
redis.call('HINCRBY', KEYS[1], ARGV[1], q)
if bound == '' then
  redis.call('HSET', book, ARGV[7], ARGV[2])
  if ARGV[6] == 'i' then redis.call('HSET', KEYS[9], ARGV[2], ARGV[7]) end
  if ARGV[6] == 'e' then redis.call('HSET', KEYS[10], ARGV[2], ARGV[7]) end
end
local id = redis.call('XADD', KEYS[5], '*', 'r', ARGV[8], 'e', ARGV[11])
redis.call('HINCRBY', KEYS[8], ARGV[11], 1)
redis.call('HSET', KEYS[8], ARGV[11] .. '@', id)
redis.call('HSETNX', KEYS[8], '~from', id)
if ARGV[9] ~= '' then redis.call('HSET', KEYS[7], ARGV[9], id .. '|' .. ARGV[10]) end
return {1, id}
"""
# An opt-out (``erasure``): KEYS customer hash, invitations hash, requests hash, employees hash,
# guests hash, staff hash; ARGV
# customer, tombstone, the event's skus. The customer's counters, invitation bindings and the requests
# they made move to the tombstone (hashes are hex and tombstones ``erased:`` and hex: no pattern
# characters); an employee number bound to the customer is released (bound to nobody again: the
# employee buys with it again, as a new shopper).
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
for _, book in ipairs({{KEYS[2], ARGV[2]}, {KEYS[4], ''}}) do
  local bound = redis.call('HGETALL', book[1])
  for i = 1, #bound, 2 do
    if bound[i + 1] == ARGV[1] then
      redis.call('HSET', book[1], bound[i], book[2])
      moved = moved + 1
    end
  end
end
redis.call('HDEL', KEYS[6], ARGV[1])
local guest = redis.call('HGET', KEYS[5], ARGV[1])
if guest then
  redis.call('HDEL', KEYS[5], ARGV[1])
  redis.call('HSET', KEYS[5], ARGV[2], guest)
  moved = moved + 1
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

# Units given back go through ``APPLY`` (ARGV triples of sku, customer, units from ``ARGV[first]``).
APPLY = """
local function apply(first)
  for i = first, #ARGV, 3 do
    local q = tonumber(ARGV[i + 2])
    local left = redis.call('HINCRBY', KEYS[1], ARGV[i], -q)
    if left < 0 then redis.call('HSET', KEYS[1], ARGV[i], 0) end
    local field = ARGV[i] .. '|' .. ARGV[i + 1]
    local mine = redis.call('HINCRBY', KEYS[2], field, -q)
    if mine <= 0 then redis.call('HDEL', KEYS[2], field) end
  end
end
"""
# Marks an event's state stale: the seeded marker goes (reservations answer "not seeded" and seed it
# again from the database) and the generation moves (a seeding under way fails its WATCH).
STALE = """
local function stale(marker, gen)
  redis.call('DEL', marker)
  redis.call('INCR', gen)
  if redis.call('TTL', gen) < 0 then redis.call('EXPIRE', gen, 172800) end
end
"""
# The note check after a settlement's commit (RETURN_SCRIPT): the note is taken off; true when it was
# there, in the current generation, on a seeded state; else the state is marked stale and false.
NOTED = (
    STALE
    + """
local function noted_here(marker, gen_key, notes, field)
  local noted = redis.call('HGET', notes, field)
  redis.call('HDEL', notes, field)
  local gen = redis.call('GET', gen_key) or '0'
  if not noted or string.match(noted, '^[^|]*') ~= gen or redis.call('EXISTS', marker) == 0 then
    stale(marker, gen_key)
    return false
  end
  return true
end
"""
)
# Before a write the gate must follow commits (a settlement of holds, new employees or invitations):
# KEYS generation, notes hash; ARGV field (base#token). The field holds the generation it was noted in
# and when, in seconds by Redis's clock (``TIME``: one clock for every process, whatever its own says;
# the sweep's cutoff is taken from it too).
NOTE_SCRIPT = """
local now = redis.call('TIME')[1]
redis.call('HSET', KEYS[2], ARGV[1], (redis.call('GET', KEYS[1]) or '0') .. '|' .. now)
return 1
"""
# Before a settlement that gives units back updates its rows (``gate_claims.try_note_return``): KEYS
# generation, notes hash, seeding lock, the event's pending give-backs, the settlement's claim on the
# event, the event's deferral mark, the namespace's set of deferred events; ARGV field, the deferral
# mark's seconds, the event's key prefix. Noted as ``NOTE_SCRIPT`` does, and kept in the pending set
# until its give-back, only while no seeding holds the event's lock: 1 noted (the claim and the
# deferral mark go), 0 a seeding is under way: the event is left for the settlement's next turn and
# marked deferred (the mark also listed in the set, so that a turn with nothing left to settle of the
# event ends it: ``gate_claims.end_deferrals``), so that turn claims it first (``CLAIM_SCRIPT``); a claim of
# this one goes (an older process's seeding, which ignores claims, outlasted the wait, or the turn's
# wait ran out). So a seeding never overlaps a give-back's note and its give-back (``LOCK_SCRIPT``).
RETURN_NOTE_SCRIPT = """
if redis.call('EXISTS', KEYS[3]) == 1 then
  redis.call('SET', KEYS[6], '1', 'EX', tonumber(ARGV[2]))
  redis.call('SADD', KEYS[7], ARGV[3])
  redis.call('EXPIRE', KEYS[7], tonumber(ARGV[2]))
  redis.call('DEL', KEYS[5])
  return 0
end
local now = redis.call('TIME')[1]
redis.call('HSET', KEYS[2], ARGV[1], (redis.call('GET', KEYS[1]) or '0') .. '|' .. now)
redis.call('SADD', KEYS[4], ARGV[1])
redis.call('EXPIRE', KEYS[4], 172800)
redis.call('DEL', KEYS[5], KEYS[6])
redis.call('SREM', KEYS[7], ARGV[3])
return 1
"""
# A settlement's claim on an event it left out before (``gate_claims.claim_returns``): KEYS the event's
# deferral mark, the claim, the seeding lock; ARGV the claim's seconds. Taken only while a seeding holds
# the event's lock (an event nobody is seeding needs no claim: its seedings go on while the settlement
# waits for other events), renewed while it stands. While the claim stands no seeding takes the
# event's lock (``LOCK_SCRIPT`` answers "a give-back is coming"): the seeding under way ends, the
# settlement notes its give-back (which drops the claim). 1 claimed, 0 the event was not deferred, or
# neither claimed nor being seeded.
CLAIM_SCRIPT = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('EXISTS', KEYS[2]) == 0 and redis.call('EXISTS', KEYS[3]) == 0 then return 0 end
redis.call('SET', KEYS[2], '1', 'EX', tonumber(ARGV[1]))
return 1
"""
# A settlement's last look before its notes (``gate_claims.claim_left_out``): KEYS the event's deferral mark,
# the claim, the seeding lock; ARGV the claim's seconds. An event left out before is claimed whether or
# not it is being seeded, in the look itself: no seeding takes its lock between this look and the note
# (``LOCK_SCRIPT``), so an idle one is noted, and one whose seeding started since the settlement's
# previous look is the settlement's to wait for (its last seeding). 0 not deferred, 1 claimed and idle,
# 2 claimed and being seeded.
LAST_CLAIM_SCRIPT = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('SET', KEYS[2], '1', 'EX', tonumber(ARGV[1]))
if redis.call('EXISTS', KEYS[3]) == 1 then return 2 end
return 1
"""
# A seeding's lock, with its token: KEYS seeding lock, seeded marker, the event's pending give-backs,
# notes hash, a settlement's claim (``CLAIM_SCRIPT``); ARGV token, the lock's seconds, the age in seconds past which a pending give-back is left
# behind, the seconds a note may be dated ahead of Redis's clock. Returns 2 seeded already, 0 another
# seeding holds the lock, -1 a settlement's give-back is pending (noted, its commit and give-back under
# way, or claimed: wait for it), 1 taken. A give-back pending longer (its process died, or its commit is very slow)
# is left behind: taken out of the pending set only, its note kept, so that its give-back (the note's
# generation is no longer the state's) or, if none comes, the sweep marks the state stale: this seeding
# may read the database before the settlement commits. A note dated ahead of the clock by more than the
# slack was timed before Redis's clock stepped back: it counts as old, not as pending for that long.
LOCK_SCRIPT = """
if redis.call('EXISTS', KEYS[2]) == 1 then return 2 end
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
if redis.call('EXISTS', KEYS[5]) == 1 then return -1 end
local now = tonumber(redis.call('TIME')[1])
for _, field in ipairs(redis.call('SMEMBERS', KEYS[3])) do
  local noted = redis.call('HGET', KEYS[4], field)
  local at = noted and tonumber(string.match(noted, '[^|]*$'))
  if at and at > now - tonumber(ARGV[3]) and at <= now + tonumber(ARGV[4]) then return -1 end
  redis.call('SREM', KEYS[3], field)
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', tonumber(ARGV[2]))
return 1
"""
# A seeding's lock released, only by the seeding that holds it: KEYS lock; ARGV token.
UNLOCK_SCRIPT = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
# After the settlement committed: KEYS stock, customers, seeded marker, generation, notes hash, seeding
# lock, the event's pending give-backs; ARGV field, then (sku, customer, units) triples.
# An unseeded event with the note still there and no seeding under way: nothing to give back, the note
# is taken off (returns 2). No seeding took the lock since the note (``LOCK_SCRIPT`` waits for a
# pending give-back, ``RETURN_NOTE_SCRIPT`` for a seeding), so the next one reads the database after
# this commit. A lock held all the same is a seeding that does not wait (an older process's): marked
# stale, as below.
# Else the units are given back only when the note is there, in the generation it was noted in, and
# the event seeded; else the state may or may not hold the settlement (seeded again by a seeding that
# left the give-back behind, or its note swept) and is marked stale. Returns 1 given back, 0 marked stale.
RETURN_SCRIPT = (
    APPLY
    + NOTED
    + """
redis.call('SREM', KEYS[7], ARGV[1])
if redis.call('EXISTS', KEYS[3]) == 0 and redis.call('EXISTS', KEYS[6]) == 0
    and redis.call('HDEL', KEYS[5], ARGV[1]) == 1 then
  return 2
end
if not noted_here(KEYS[3], KEYS[4], KEYS[5], ARGV[1]) then return 0 end
apply(2)
return 1
"""
)
# After new employees or invitation codes committed: KEYS seeded marker, generation, notes hash, the
# employees or the invitations hash, the event's pending additions of that kind; ARGV field, mode
# ("e" employees, "i" codes), then the employee numbers or codes.
# An unseeded event: they are kept in the pending set, which the next seeding merges into the state it
# writes (``MERGE_SCRIPT``, in the seeding's MULTI): a seeding under way, which may have read the
# database before this commit, still holds them, and none fails for them. Returns 2.
# A seeded event with the note there: added, whatever generation the note was taken in. An addition only
# adds (a number or a code kept unbound unless the state bound it) and is committed now, so adding it
# to a state seeded since the note is right both when that seeding read the database before the
# commit (it lacked them) and after (it holds them already): a console paste in chunks marks no state
# stale, and no seeding that completes during a chunk is undone by it. Returns 1.
# The note gone (swept: the state was marked stale then): marked stale again, returns 0.
ADD_SCRIPT = (
    STALE
    + """
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HDEL', KEYS[3], ARGV[1])
  for i = 3, #ARGV do redis.call('SADD', KEYS[5], ARGV[i]) end
  redis.call('EXPIRE', KEYS[5], 172800)
  return 2
end
if redis.call('HDEL', KEYS[3], ARGV[1]) == 0 then
  stale(KEYS[1], KEYS[2])
  return 0
end
for i = 3, #ARGV do redis.call('HSETNX', KEYS[4], ARGV[i], '') end
return 1
"""
)
# A note left behind (the process died after the commit, Redis failed the call after it, or the commit
# failed): KEYS seeded marker, generation, notes hash, the event's pending give-backs; ARGV field.
# Stale, unless handled meanwhile.
SWEEP_SCRIPT = (
    STALE
    + """
redis.call('SREM', KEYS[4], ARGV[1])
if redis.call('HDEL', KEYS[3], ARGV[1]) == 1 then stale(KEYS[1], KEYS[2]) return 1 end
return 0
"""
)
# A reservation the writer could not store (its request id was taken by another, ``writer``): KEYS
# stock, customers, seeded marker, given-back set, requests hash; ARGV stream id, request id, what the
# stored reservation answers (``Prior.held``), then the (sku, customer, units) triple. Once per stream
# id (a batch is delivered again until acknowledged); nothing in an event being seeded (the seeding
# waits for the stream, so it reads the database after this entry left it).
DROPPED_SCRIPT = (
    APPLY
    + """
if redis.call('EXISTS', KEYS[3]) == 0 then return 0 end
if redis.call('SADD', KEYS[4], ARGV[1]) == 0 then return 0 end
local ttl = redis.call('PTTL', KEYS[3])
if ttl > 0 then redis.call('PEXPIRE', KEYS[4], ttl) end
redis.call('HSET', KEYS[5], ARGV[2], ARGV[3])
apply(4)
return 1
"""
)
# In a seeding's MULTI, after the state from the database is written: KEYS employees hash, invitations
# hash, pending employees, pending invitation codes (``ADD_SCRIPT``). Merged (a number or a code the
# database read bound keeps its binding) and the pending sets dropped.
MERGE_SCRIPT = """
for _, no in ipairs(redis.call('SMEMBERS', KEYS[3])) do redis.call('HSETNX', KEYS[1], no, '') end
for _, code in ipairs(redis.call('SMEMBERS', KEYS[4])) do redis.call('HSETNX', KEYS[2], code, '') end
redis.call('DEL', KEYS[3], KEYS[4])
return 1
"""
# After a full refund committed (``refunds``): KEYS stock, customers, seeded marker, generation, notes
# hash, seeding lock, seeded-at (Redis's clock when the state was written), given-back set, the
# seeding's generation (``SEEDED_SCRIPT``); ARGV field (the note taken after the commit), the seconds a
# state must have been seeded before now, then (reservation id, sku, customer, units) quadruples. The
# note is taken off. An unseeded state with no seeding under way: nothing to do, its next seeding reads
# the database after the commit (returns 2). Marked stale instead, seeded again from the database
# (returns 0): a seeding under way, the note gone (swept) or taken in another generation (a seeding or a
# mark since), a state not written by ``SEEDED_SCRIPT`` in the current generation (by an older version,
# whose seeding leaves seeded-at and the given-back set as they were), or seeded in the last seconds
# (a margin, by Redis's clock). Else each reservation's units are given back once: only if its id joins
# the given-back set, which every seeding fills with the reservations a refund released that its read
# of the database already left out (``seeds.seed_state``), so a seeding that ran after the commit,
# before the note, gives nothing back twice, however late this script runs; taken from the sku's and
# the shopper's counters, never below 0, so the gate never offers more than the event's stock
# (returns 1).
REFUND_SCRIPT = (
    STALE
    + """
local noted = redis.call('HGET', KEYS[5], ARGV[1])
redis.call('HDEL', KEYS[5], ARGV[1])
local seeding = redis.call('EXISTS', KEYS[6]) == 1
if redis.call('EXISTS', KEYS[3]) == 0 and not seeding then return 2 end
local gen = redis.call('GET', KEYS[4]) or '0'
local at = tonumber(redis.call('GET', KEYS[7]) or '')
local now = tonumber(redis.call('TIME')[1])
if seeding or not noted or not at or at > now - tonumber(ARGV[2])
    or string.match(noted, '^[^|]*') ~= gen or redis.call('GET', KEYS[9]) ~= gen then
  stale(KEYS[3], KEYS[4])
  return 0
end
for i = 3, #ARGV, 4 do
  if redis.call('SADD', KEYS[8], ARGV[i]) == 1 then
    local q = tonumber(ARGV[i + 3])
    if redis.call('HINCRBY', KEYS[1], ARGV[i + 1], -q) < 0 then redis.call('HSET', KEYS[1], ARGV[i + 1], 0) end
    local field = ARGV[i + 1] .. '|' .. ARGV[i + 2]
    if redis.call('HINCRBY', KEYS[2], field, -q) <= 0 then redis.call('HDEL', KEYS[2], field) end
  end
end
local ttl = redis.call('PTTL', KEYS[3])
if ttl > 0 then redis.call('PEXPIRE', KEYS[8], ttl) end
return 1
"""
)
# In a seeding's MULTI, after the state is written: KEYS generation, seeded-at, the seeding's
# generation, given-back set; ARGV the expiry (unix seconds), then the ids of the reservations a refund
# released whose units the seeding's counters, read in the same snapshot, left out (``Seed.released``).
# The generation moves (a seeding under way elsewhere fails its WATCH) and the seeding records it,
# with Redis's clock, and replaces the given-back set: a refund's give-back (``REFUND_SCRIPT``) applies
# only to the state of the seeding that wrote them, in the current generation.
SEEDED_SCRIPT = """
local gen = redis.call('INCR', KEYS[1])
local at = tonumber(ARGV[1])
redis.call('SET', KEYS[2], redis.call('TIME')[1], 'EXAT', at)
redis.call('SET', KEYS[3], gen, 'EXAT', at)
redis.call('DEL', KEYS[4])
for i = 2, #ARGV do redis.call('SADD', KEYS[4], ARGV[i]) end
if #ARGV > 1 then redis.call('EXPIREAT', KEYS[4], at) end
return gen
"""
