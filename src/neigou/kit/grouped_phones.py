"""Mainland mobiles written in groups of digits a list parts alike (``1381 234 5678``, ``13 81 23 45
678``, ``1 3 8 1 2 3 4 5 6 7 8``): what :mod:`neigou.kit.redact` finds in a list of numbers, each mobile
of it whatever stands beside it."""

from __future__ import annotations

import re

from neigou.kit.intl_phones import PHONE
from neigou.kit.phones import DASHES

# Four, four and three plain digits parted twice by the same tab or wider space (a column's shape).
COLUMN_443 = re.compile(r"[0-9]{4}(\t|  +)[0-9]{4}\1[0-9]{3}")
# A column's further number beside the run: at most six plain digits.
COLUMN_NUMBER = 6

# A mainland mobile in any other grouping ``kit.phones`` reads whole (``1381-234-5678``, ``13812 345678``,
# ``0138 1234 5678`` with the trunk prefix, ``13 81 23 45 678``): ASCII digits from ``1[3-9]`` (a ``0``
# before it) in two to twelve groups, the same one space, tab or dash parting every gap. The run is the
# whole list parted that way, and every mobile its groups make goes, whatever stands before or after it
# in the list (``ids 100 1381 234 5678``, ``1381 234 5678 3``,
# ``1381 234 5678 1391 234 5678``: :func:`grouped_spans`); a list that makes none (a longer list of
# amounts, ids) stays whole. Possessive: each start scans its list once, and the substitution goes on
# after it.
_GROUPED_GAP = rf"[ \t\u3000{DASHES}]"
GROUPED = re.compile(
    rf"(?<![0-9.])[0-9]++(?P<sep>{_GROUPED_GAP})[0-9]++(?:(?P=sep)[0-9]++)*+(?P<decimal>\.[0-9])?"
)
_MOBILE_DIGITS = re.compile(r"0?1[3-9][0-9]{9}")
_MOBILE_LENGTH = 11


def grouped_spans(found: re.Match[str]) -> list[tuple[int, int]]:
    """Where the run ``found`` (:data:`GROUPED`) writes a mobile: whole groups in a row (one digit
    each at least: ``1 3 8 1 2 3 4 5 6 7 8``) whose digits make one's eleven (twelve after a trunk
    ``0``), read from each group that does not end a mobile already found. A group a decimal's point
    ends (``5678.5``) is part of no mobile. Each group starts a scan of at most twelve groups: linear
    in the run."""
    sep, pos = found.group("sep"), found.start()
    groups: list[tuple[int, int]] = []
    for group in found.group()[: found.start("decimal") - pos if found.group("decimal") else None].split(sep):
        groups.append((pos, pos + len(group)))
        pos += len(group) + len(sep)
    if found.group("decimal"):
        groups.pop()
    spans: list[tuple[int, int]] = []
    first = 0
    while first < len(groups):
        digits, last = "", first
        for last in range(first, len(groups)):
            digits += found.string[slice(*groups[last])]
            if len(digits) >= _MOBILE_LENGTH + digits.startswith("0"):
                break
        if _MOBILE_DIGITS.fullmatch(digits) is not None and not _in_column(found.string, groups, first, last):
            spans.append((groups[first][0], groups[last][1]))
            first = last + 1
        else:
            first += 1
    return spans


def _in_column(text: str, groups: list[tuple[int, int]], first: int, last: int) -> bool:
    """Whether the groups ``first`` to ``last`` of a run are a column's four, four and three plain digits
    parted by tabs, a further number of at most six digits beside them in the run (``kit.redact``'s
    rule: ``order\\t1500\t2000\t300\t450``)."""
    if COLUMN_443.fullmatch(text, groups[first][0], groups[last][1]) is None:
        return False
    beside = [groups[index] for index in (first - 1, last + 1) if 0 <= index < len(groups)]
    return any(end - start <= COLUMN_NUMBER for start, end in beside)


def redact_grouped(found: re.Match[str]) -> str:
    """The run ``found`` (:data:`GROUPED`) with each mobile it writes replaced by the marker."""
    text, kept = found.string, found.start()
    pieces: list[str] = []
    for start, end in grouped_spans(found):
        pieces += (text[kept:start], PHONE)
        kept = end
    return "".join((*pieces, text[kept : found.end()]))
