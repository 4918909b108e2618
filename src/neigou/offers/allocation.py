"""Largest-remainder allocation: split an integer total over weights so the parts add up exactly."""

from __future__ import annotations

from collections.abc import Sequence


def _require_count(name: str, value: object) -> int:
    # bool is an int subclass and a float would silently break exactness, so both are refused.
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an int, got {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{name} must not be negative, got {value}")
    return value


def allocate(total: int, weights: Sequence[int]) -> list[int]:
    """Split ``total`` in proportion to ``weights`` by largest remainder; ties go to the earlier weight."""
    _require_count("total", total)
    for position, weight in enumerate(weights):
        _require_count(f"weights[{position}]", weight)
    weight_sum = sum(weights)
    if weight_sum == 0:
        if total != 0:
            raise ValueError(f"cannot allocate {total} over weights that are all zero")
        return [0] * len(weights)
    shares = [total * weight // weight_sum for weight in weights]
    remainders = [total * weight % weight_sum for weight in weights]
    leftover = total - sum(shares)
    # leftover * weight_sum == sum(remainders) and every remainder is below weight_sum, so more
    # than `leftover` parts have a positive remainder: a zero-weight part never receives a unit,
    # and a part only rounds up when its exact share was a fraction below its weight.
    ranked = sorted(range(len(weights)), key=lambda position: (-remainders[position], position))
    for position in ranked[:leftover]:
        shares[position] += 1
    return shares
