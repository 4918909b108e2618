"""The settlement's side of the reservation gate (``gate.ReservationGate`` takes these methods from
``SettlementClaims``): a settlement notes each give-back before its commit, only while no seeding of the
event is under way (``try_note_return``), or leaves the event out and marks it deferred; its next turn
claims the events left out before any seeding takes their lock again (``claim_returns``,
``claim_left_out``), lets go of claims it did not use (``drop_claims``) and ends the deferral of events
with nothing left to settle (``end_deferrals``). The scripts are ``gate_scripts``' ``RETURN_NOTE_SCRIPT``,
``CLAIM_SCRIPT`` and ``LAST_CLAIM_SCRIPT``."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

import redis

from neigou.events.gate_scripts import CLAIM_SCRIPT, LAST_CLAIM_SCRIPT, RETURN_NOTE_SCRIPT

# How long a seeding holds an event's lock (``gate.ReservationGate.seed``).
SEED_LOCK_SECONDS = 30
# An event a settlement left out (a seeding held its lock) is marked so for this long: the next
# settlement claims it first (``claim_returns``), well within it.
DEFERRED_SECONDS = 600
# A settlement's claim on a deferred event outlives the longest seeding it waits for (the lock's life)
# by a little; it is dropped when the give-back is noted, and a settlement that died leaves it to run out.
RETURN_CLAIM_SECONDS = SEED_LOCK_SECONDS + 5


class SettlementClaims:
    """Give-back notes, deferrals and claims of settlements on a namespace's events."""

    def __init__(self, client: redis.Redis, namespace: str) -> None:
        self.client = client
        # Notes of committed writes not yet in the gate (``note``): settlements' give-backs and new
        # employees or invitations. The key keeps the name it had when it held only give-backs.
        self.notes = f"{namespace}:event-returns"
        # The events a settlement left out, whose deferral mark stands (``try_note_return``).
        self.deferrals = f"{namespace}:event-deferrals"
        self._note_return = client.register_script(RETURN_NOTE_SCRIPT)
        self._claim = client.register_script(CLAIM_SCRIPT)
        self._last_claim = client.register_script(LAST_CLAIM_SCRIPT)

    def try_note_return(self, base: str) -> str | None:
        """``note`` for a settlement's give-back, pending until it, taken only while no seeding of the
        event is under way (``RETURN_NOTE_SCRIPT``): None while one is, and the event is marked
        deferred (``holds`` settles it at its next turn, which claims it first: ``claim_returns``)."""
        note = f"{base}#{uuid.uuid4().hex}"
        keys = [
            f"{base}:gen",
            self.notes,
            f"{base}:seeding",
            f"{base}:returns",
            f"{base}:settle-claim",
            f"{base}:settle-deferred",
            self.deferrals,
        ]
        return note if self._note_return(keys=keys, args=[note, DEFERRED_SECONDS, base]) else None

    def claim_returns(self, bases: Iterable[str]) -> set[str]:
        """Claim, for a settlement, each of these events that an earlier one left out and that a seeding
        holds the lock of, or renew the claim it holds (``CLAIM_SCRIPT``): no seeding takes the event's
        lock until the give-back is noted, so the seeding under way is the last one the settlement waits
        for. An event nobody is seeding is not claimed: its seedings go on while the settlement waits for
        others. Returns the events claimed (one round trip)."""
        return {base for base, taken in self._each(self._claim, bases) if taken}

    def claim_left_out(self, bases: Iterable[str]) -> tuple[set[str], set[str]]:
        """At a settlement's last look before its notes, claim each of these events an earlier one left
        out, idle or not (``LAST_CLAIM_SCRIPT``): no seeding starts between this look and the note.
        Returns (claimed idle, claimed while a seeding holds the lock), one round trip."""
        answers = self._each(self._last_claim, bases)
        return {b for b, n in answers if n == 1}, {b for b, n in answers if n == 2}

    def drop_claims(self, bases: Iterable[str]) -> None:
        """Take back a settlement's claims on these events (no note taken on them yet)."""
        if keys := [f"{base}:settle-claim" for base in bases]:
            self.client.delete(*keys)

    def _each(self, script: Any, bases: Iterable[str]) -> list[tuple[str, int]]:
        ordered = list(bases)
        pipe = self.client.pipeline(transaction=False)
        for base in ordered:
            keys = [f"{base}:settle-deferred", f"{base}:settle-claim", f"{base}:seeding"]
            script(keys=keys, args=[RETURN_CLAIM_SECONDS], client=pipe)
        return [(base, int(answer)) for base, answer in zip(ordered, pipe.execute(), strict=True)]

    def end_deferrals(self, settling: Iterable[str]) -> list[str]:
        """End the deferral of every event left out before that has nothing left to settle (not among
        ``settling``): its mark goes, so a later turn does not claim it. Returns their key prefixes."""
        marked = {m.decode() for m in self.client.smembers(self.deferrals)} - set(settling)  # type: ignore[union-attr]
        if marked:
            pipe = self.client.pipeline(transaction=True)
            pipe.delete(*(f"{base}:settle-deferred" for base in marked))
            pipe.srem(self.deferrals, *marked)
            pipe.execute()
        return sorted(marked)

    def seedings_under_way(self, bases: Iterable[str]) -> set[str]:
        """Which of these events a seeding holds the lock of (one round trip)."""
        ordered = list(bases)
        pipe = self.client.pipeline(transaction=False)
        for base in ordered:
            pipe.exists(f"{base}:seeding")
        return {base for base, held in zip(ordered, pipe.execute(), strict=True) if held}

    def drop_return_note(self, note: str) -> None:
        """Take back a give-back's note (``try_note_return``) whose settlement rolled back."""
        pipe = self.client.pipeline(transaction=True)
        pipe.srem(f"{note.partition('#')[0]}:returns", note)
        pipe.hdel(self.notes, note)
        pipe.execute()
