"""A number typed into a form (an id, a count) is read by ``kit.ids.whole_number`` alone: ASCII digits,
bounded, as the API reads its ids. ``str.isdigit`` (or ``isdecimal``/``isnumeric``) then ``int`` is a 500
waiting for ``²`` or ``①``, or accepts digits the API refuses."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from neigou.kit.ids import whole_number

pytestmark = pytest.mark.no_database

SRC = Path(__file__).resolve().parents[2] / "src" / "neigou"
# Where a digit test is not a number's reading: the helper itself; ``kit.phones`` tests single
# characters of a number already ASCII; a header's bytes (``bytes.isdigit`` is ASCII only).
ALLOWED = {"kit/ids.py", "kit/phones.py", "web/body_limit.py"}
DIGIT_TESTS = {"isdigit", "isdecimal", "isnumeric"}


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("12", 12),
        (" 12\n", 12),
        ("007", 7),
        ("9" * 18, int("9" * 18)),
        ("9" * 19, None),
        ("", None),
        ("  ", None),
        ("²", None),
        ("①", None),
        ("１２", None),  # full-width: the API's ids refuse it too
        ("٣", None),  # Arabic-Indic digits, which int() would read
        ("+12", None),
        ("-1", None),
        ("1_2", None),
        ("1 2", None),
        ("1.0", None),
    ],
)
def test_whole_number_reads_ascii_digits_only(text: str, number: int | None) -> None:
    assert whole_number(text) == number


def test_whole_number_bounds_digits() -> None:
    assert whole_number("1000", digits=3) is None
    assert whole_number("999", digits=3) == 999


def test_no_digit_test_outside_the_helper() -> None:
    found = []
    for path in SRC.rglob("*.py"):
        name = path.relative_to(SRC).as_posix()
        if name in ALLOWED:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in DIGIT_TESTS:
                found.append(f"{name}:{node.lineno}")
    assert not found, f"read typed numbers with kit.ids.whole_number: {found}"
