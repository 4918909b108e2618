"""The bounds a binary COPY checks before it begins (``kit.copy_bounds``); the COPY itself is tested in
``tests/kit/test_bulk.py``."""

from __future__ import annotations

import pytest

from neigou.kit import copy_bounds

pytestmark = pytest.mark.no_database


@pytest.mark.parametrize(
    ("types", "bad"),
    [
        (("text", "int2"), ("x", 2**15)),
        (("text", "int2"), ("x", -(2**15) - 1)),
        (("text", "int4"), ("x", 13_812_345_678)),
        (("text", "int8"), ("x", 2**63)),
        (("text", "int8"), ("x", -(2**63) - 1)),
    ],
)
@pytest.mark.parametrize("nulls", [False, True])
def test_copy_bounds_refuse_an_integer_outside_its_type(
    types: tuple[str, str], bad: tuple[str, int], nulls: bool
) -> None:
    low, high = copy_bounds.RANGES[types[1]]
    inside = [("a", low), ("b", high), *([("c", None)] if nulls else [])]
    assert copy_bounds.checked("t", ("c", "d"), types, iter(inside)) == inside  # the bounds themselves
    with pytest.raises(
        copy_bounds.IntegerOutOfRange, match=rf"^t\.d: a value outside the range of {types[1]}$"
    ):
        copy_bounds.checked("t", ("c", "d"), types, [*inside, bad])


def test_copy_bounds_check_nothing_without_an_integer_column() -> None:
    rows = iter([("a", True)])
    assert copy_bounds.checked("t", ("c", "d"), ("text", "bool"), rows) is rows
    assert copy_bounds.checked("t", ("c", "d"), ("text", "int4"), []) == []
    assert copy_bounds.checked("t", ("c", "d"), ("text", "int4"), [("a", None)]) == [("a", None)]
