"""Log redaction takes a grouped mobile whole whatever stands beside it in a list of numbers, and never
reaches across a line: a credential's unclosed quote ends with its header's line, the next header kept."""

from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from neigou.kit.logging import REDACTED, redact_text

pytestmark = pytest.mark.no_database

PHONE = "[phone]"


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        ("1381 234 5678 3", f"{PHONE} 3"),
        ("call 1381-234-5678-3 now", f"call {PHONE}-3 now"),
        ("counts 1381 234 5678 2000", f"counts {PHONE} 2000"),
        ("13 81 23 45 678 9", f"{PHONE} 9"),
        ("phone=1381 234 5678 3", f"phone={REDACTED} 3"),
        ("code: 1381 234 5678 3", f"code: {REDACTED} 3"),
        ("1 3 8 1 2 3 4 5 6 7 8", PHONE),
        # a list a number that is no mobile starts
        ("ids 100 1381 234 5678", f"ids 100 {PHONE}"),
        ("ids 139 1381 234 5678", f"ids 139 {PHONE}"),
        ("42 1381 234 5678 1391 234 5678", f"42 {PHONE} {PHONE}"),
        ("7\t13812\t345678\t2", f"7\t{PHONE}\t2"),
        ("1381 234 5678 1.5", f"{PHONE} 1.5"),
    ],
)
def test_a_grouped_mobile_goes_whole_whatever_stands_beside_it(text: str, redacted: str) -> None:
    assert redact_text(text) == redacted
    assert redact_text(redacted) == redacted


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        (
            'Authorization: Digest username="buyer\nHost: "shop"',
            f'Authorization: Digest {REDACTED}\nHost: "shop"',
        ),
        ('Authorization: Token "abc\nHost: x" y', f'Authorization: Token {REDACTED}\nHost: x" y'),
        ('Authorization: Token "abc def" next', f"Authorization: Token {REDACTED} next"),
        (
            'Authorization: "Digest username=\\"buyer\nHost: \\"shop\\""',
            f'Authorization: "Digest {REDACTED}\nHost: \\"shop\\""',
        ),
        ('Authorization:\n"X-Request-Id: abc"', 'Authorization:\n"X-Request-Id: abc"'),
        ("Authorization: Basic\nHost: shop", "Authorization: Basic\nHost: shop"),
        ('"openid":\n"X-Trace": "t1"', '"openid":\n"X-Trace": "t1"'),
    ],
)
def test_an_unclosed_credential_ends_with_its_line(text: str, redacted: str) -> None:
    assert redact_text(text) == redacted
    assert "buyer" not in redact_text(text)


_SEPARATORS = st.sampled_from([" ", "-", "\t"])
_WORDS = st.text(alphabet="abcxyz :=,;()[]{}_", max_size=12)


@st.composite
def _grouped_mobile(draw: st.DrawFn) -> tuple[str, str]:
    """A mainland mobile's eleven digits and the same digits in any grouping, one separator parting
    every group."""
    number = "1" + str(draw(st.integers(3, 9))) + draw(st.text(alphabet="0123456789", min_size=9, max_size=9))
    cuts = sorted(draw(st.sets(st.integers(1, 10))))
    sep = draw(_SEPARATORS)
    bounds = [0, *cuts, len(number)]
    return number, sep.join(number[a:b] for a, b in itertools.pairwise(bounds))


@settings(max_examples=400, deadline=None)
@given(
    mobile=_grouped_mobile(),
    before=_WORDS,
    after=_WORDS,
    numbers_before=st.lists(st.integers(0, 99999), max_size=2),
    numbers_after=st.lists(st.integers(0, 99999), max_size=2),
)
@example(mobile=("13812345678", "1381 234 5678"), before="", after="", numbers_before=[], numbers_after=[3])
@example(mobile=("13812345678", "1381 234 5678"), before="", after="", numbers_before=[100], numbers_after=[])
def test_no_mobile_in_any_grouping_survives_in_a_line(
    mobile: tuple[str, str],
    before: str,
    after: str,
    numbers_before: list[int],
    numbers_after: list[int],
) -> None:
    number, written = mobile
    sep = next((char for char in written if not char.isdigit()), " ")
    # a column's four, four and three digits parted by tabs beside a further number stay a column
    assume(
        not (
            written.split("\t") != [written]
            and list(map(len, written.split("\t"))) == [4, 4, 3]
            and (numbers_before or numbers_after)
        )
    )
    listed = sep.join([*map(str, numbers_before), written, *map(str, numbers_after)])
    line = f"{before} {listed} {after}"
    assert number not in re.sub(r"[^0-9]", "", redact_text(line))


_FRAGMENTS = st.sampled_from(
    [
        "Authorization: ",
        "authorization=",
        "Digest ",
        "Bearer ",
        "Basic ",
        "Token ",
        "username=",
        "token: ",
        "cookie=",
        "phone=",
        "code: ",
        '"openid": ',
        "x-hub-signature-256: ",
        "v1,abc",
        '"',
        "'",
        '\\"',
        " ",
        "\t",
        "-",
        ",",
        ":",
        "=",
        "138",
        "1381",
        "1234",
        "234",
        "5678",
        "+86 ",
        "0086",
        "+852 ",
        "6123",
        "4567",
        "(",
        ")",
        "x",
    ]
)
_LINE = st.lists(_FRAGMENTS, max_size=10).map("".join)


@settings(max_examples=600, deadline=None)
@given(first=_LINE, second=_LINE)
@example(first='Authorization: Digest username="x', second='Host: "shop"')
@example(first="Authorization: Basic", second="Host: shop")
@example(first="Authorization:", second='"X-Request-Id: abc"')
def test_redaction_never_reaches_across_a_line(first: str, second: str) -> None:
    assert redact_text(f"{first}\n{second}") == f"{redact_text(first)}\n{redact_text(second)}"
