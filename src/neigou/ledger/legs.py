"""Postings as pure values: legs that must balance, and the shapes every movement takes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

PLATFORM = None  # member_id of the platform's accounts


@dataclass(frozen=True)
class Leg:
    """``amount_fen`` on ``account`` of ``member_id`` (None: the platform)."""

    member_id: int | None
    account: str
    amount_fen: int


class UnbalancedPosting(ValueError):
    """A posting whose legs do not sum to zero: a bug, never an expected failure."""


def balanced(legs: Iterable[Leg]) -> tuple[Leg, ...]:
    """The non-zero legs, merged per account; raises when they do not sum to zero."""
    merged: dict[tuple[int | None, str], int] = {}
    for leg in legs:
        if not isinstance(leg.amount_fen, int):
            raise TypeError("amounts are integer fen")
        key = (leg.member_id, leg.account)
        merged[key] = merged.get(key, 0) + leg.amount_fen
    kept = tuple(Leg(m, a, v) for (m, a), v in merged.items() if v != 0)
    total = sum(leg.amount_fen for leg in kept)
    if total != 0:
        raise UnbalancedPosting(f"posting does not balance: {total}")
    return kept


def earned(amounts: Mapping[int, int], *, to: str, expense: str) -> tuple[Leg, ...]:
    """Commission earned: each member's ``to`` account up, the platform's expense down."""
    legs = [Leg(member, to, fen) for member, fen in amounts.items()]
    legs.append(Leg(PLATFORM, expense, -sum(amounts.values())))
    return balanced(legs)


def move(amounts: Mapping[int, int], *, source: str, target: str) -> tuple[Leg, ...]:
    """Each member's money moved from ``source`` to ``target``."""
    return balanced(
        [Leg(member, source, -fen) for member, fen in amounts.items()]
        + [Leg(member, target, fen) for member, fen in amounts.items()]
    )


def reversed_from(amounts: Mapping[int, int], *, source: str, expense: str) -> tuple[Leg, ...]:
    """Commission taken back from each member's ``source`` account to the platform."""
    legs = [Leg(member, source, -fen) for member, fen in amounts.items()]
    legs.append(Leg(PLATFORM, expense, sum(amounts.values())))
    return balanced(legs)
