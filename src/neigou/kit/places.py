"""Where in a request a refused entry stands: its index in the list sent. A refusal names the place of
an unknown or repeated entry, never the entry itself (what was typed may be a phone number). Pure."""

from __future__ import annotations

from collections.abc import Collection, Sequence


def first_repeat(values: Sequence[object]) -> int | None:
    """The index of the first entry that repeats one before it; None when every entry is new."""
    seen: set[object] = set()
    for index, value in enumerate(values):
        if value in seen:
            return index
        seen.add(value)
    return None


def repeats(values: Sequence[object]) -> list[int]:
    """The indexes of every entry that repeats one before it, in order (``first_repeat`` is the first)."""
    seen: set[object] = set()
    found: list[int] = []
    for index, value in enumerate(values):
        if value in seen:
            found.append(index)
        seen.add(value)
    return found


def first_among(values: Sequence[object], refused: Collection[object]) -> int:
    """The index of the first entry that is one of ``refused`` (which holds at least one of them)."""
    return next(index for index, value in enumerate(values) if value in refused)
