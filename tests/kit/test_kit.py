"""Money formatting, identifiers, personal-data hashing and time handling."""

from __future__ import annotations

import hashlib
import hmac
import subprocess
import sys
import unicodedata
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from neigou.kit.clock import as_utc, ensure_aware, is_valid_timezone, not_before_now, utcnow
from neigou.kit.errors import Conflict
from neigou.kit.i18n import Message
from neigou.kit.ids import (
    _HASHED_EDGES,
    blank,
    canonical,
    customer_ref_hash,
    customer_ref_mask,
    digest,
    keyed_hash,
    mask,
    new_token,
)
from neigou.kit.money import format_bp, format_fold, format_rate_bp, format_yuan
from neigou.kit.settings import Settings

pytestmark = pytest.mark.no_database


@pytest.mark.parametrize(
    ("fen", "text"),
    [(4990, "¥49.90"), (0, "¥0.00"), (5, "¥0.05"), (-100, "-¥1.00"), (150_000_000, "¥1,500,000.00")],
)
def test_format_yuan(fen: int, text: str) -> None:
    assert format_yuan(fen) == text


@pytest.mark.parametrize(("bp", "text"), [(2000, "20%"), (1250, "12.5%"), (1, "0.01%"), (10_000, "100%")])
def test_format_bp(bp: int, text: str) -> None:
    assert format_bp(bp) == text


@pytest.mark.parametrize(
    ("bp", "text"),
    [
        (3333, "33.3%"),
        (5000, "50.0%"),
        (1250, "12.5%"),
        (1255, "12.6%"),
        (1254, "12.5%"),
        (4, "0.0%"),
        (5, "0.1%"),
        (10_000, "100.0%"),
        (0, "0.0%"),
        (-1255, "-12.6%"),
    ],
)
def test_format_rate_bp(bp: int, text: str) -> None:
    """One decimal always, rounded half up: every percentage on the analytics pages reads alike."""
    assert format_rate_bp(bp) == text


@pytest.mark.parametrize(
    ("bp", "text"), [(1000, "9"), (1500, "8.5"), (1250, "8.75"), (5, "9.995"), (9000, "1")]
)
def test_format_fold(bp: int, text: str) -> None:
    assert format_fold(bp) == text


@given(st.integers(min_value=-(10**12), max_value=10**12))
def test_format_yuan_round_trips(fen: int) -> None:
    text = format_yuan(fen).replace("¥", "").replace(",", "")
    sign = -1 if text.startswith("-") else 1
    yuan, cents = text.lstrip("-").split(".")
    assert sign * (int(yuan) * 100 + int(cents)) == fen


def test_tokens_are_random_and_hashes_keyed() -> None:
    first, second = new_token("ngt"), new_token("ngt")
    assert first != second
    assert first.startswith("ngt_")
    assert len(first) > 40
    assert digest(first) != digest(second)
    assert keyed_hash("k1", "13812345678") == keyed_hash("k1", " 13812345678 ")
    assert keyed_hash("k1", "13812345678") != keyed_hash("k2", "13812345678")


@pytest.mark.parametrize("key", ["k1", "k2", "密钥", "k" * 100])  # a key longer than SHA-256's block too
def test_keyed_hash_is_the_hmac_sha256_of_the_canonical_value(key: str) -> None:
    for value in ("13812345678", "oAbc1234xyz9", "内购"):
        expected = hmac.new(key.encode(), value.encode(), hashlib.sha256).hexdigest()
        assert keyed_hash(key, value) == keyed_hash(key, value) == expected  # the prepared key is reused


@pytest.mark.parametrize("form", ["１３８１２３４５６７８", "\u300013812345678", "13812345678\u3000"])
def test_identifiers_are_hashed_and_masked_in_one_canonical_form(form: str) -> None:
    assert keyed_hash("k1", form) == keyed_hash("k1", "13812345678")
    assert mask(form) == "138****5678"


@pytest.mark.parametrize(
    "form",
    [
        "\ufeffoUpF8uMuAJO_M2px",
        "oUpF8uMuAJO_M2px\u200b",
        "\u202aoUpF8uMuAJO_M2px\u202c",
        " \u2060oUpF8uMuAJO_M2px ",
    ],
)
def test_an_openid_with_invisible_characters_around_it_is_the_same_customer(form: str) -> None:
    """A byte-order mark a spreadsheet left, a zero-width space or direction marks a copy carried."""
    assert customer_ref_hash("k1", form) == customer_ref_hash("k1", "oUpF8uMuAJO_M2px")
    assert customer_ref_mask(form) == customer_ref_mask("oUpF8uMuAJO_M2px")
    assert keyed_hash("k1", "oUpF8u\u200bMuAJO") != keyed_hash("k1", "oUpF8uMuAJO")  # inside: another id


@pytest.mark.parametrize("mark", ["\u00ad", "\u061c", "\u180e", "\u206a", "\ufff9"])
def test_a_reference_hashes_as_it_always_has_with_a_mark_outside_the_hashed_edges(mark: str) -> None:
    """Only a hash of a customer reference is stored: a mark the hashing did not trim before (a soft
    hyphen, the Arabic letter mark…) stays part of the reference, or every stored customer whose
    reference carries it at an edge would be a new one. It is still invisible: such a reference alone
    is blank."""
    for form in (f"VIP-007{mark}", f"{mark}VIP-007"):
        expected = hmac.new(b"k1", form.encode(), hashlib.sha256).hexdigest()
        assert customer_ref_hash("k1", form) == expected != customer_ref_hash("k1", "VIP-007")
    assert blank(f" {mark}\u200b")
    assert not blank(f"{mark}a")


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("13812345678", "138****5678"),
        ("oAbc1234xyz9", "oAb****xyz9"),
        ("+85261234567", "+85****4567"),
        ("12345", "****5"),
        ("A1234", "****4"),
        ("1234567", "****67"),
        ("61234567", "****67"),  # a Hong Kong mobile written without its country code
        ("2112345678", "****678"),
        ("1234", "****"),
        ("abc", "***"),
    ],
)
def test_mask(raw: str, shown: str) -> None:
    assert mask(raw) == shown


@given(
    st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126, exclude_characters="*"), max_size=40)
)
def test_a_mask_shows_at_most_a_third_of_a_short_value(raw: str) -> None:
    """Below a mobile's eleven characters at most a third is shown, the last ones; from eleven on the first
    three and the last four (``138****5678``); past four characters the stars never tell the length."""
    shown = mask(raw)
    kept = len(shown) - shown.count("*")
    if len(raw) < 11:
        assert kept <= len(raw) // 3
        assert shown == "*" * len(raw) if len(raw) <= 4 else shown == "****" + raw[len(raw) - kept :]
    else:
        assert shown == raw[:3] + "****" + raw[-4:]


def test_times_must_carry_a_zone() -> None:
    with pytest.raises(ValueError, match="time zone"):
        ensure_aware(datetime(2026, 3, 24, 12, 0))  # noqa: DTZ001 - the naive value is the point
    shanghai = timezone(timedelta(hours=8))
    assert ensure_aware(datetime(2026, 3, 24, 8, 0, tzinfo=shanghai)) == datetime(
        2026, 3, 24, 0, 0, tzinfo=UTC
    )
    assert as_utc(datetime(2026, 3, 24, 0, 0)).tzinfo is UTC  # noqa: DTZ001 - SQLite hands back naive UTC
    assert is_valid_timezone("Asia/Shanghai")
    assert not is_valid_timezone("Mars/Olympus")
    assert not is_valid_timezone("../etc/passwd")
    assert not is_valid_timezone("x" * 10_000)  # longer than a file name: OSError, not a 500


def test_a_time_in_the_past_means_now() -> None:
    now = datetime(2026, 3, 24, 4, 0, tzinfo=UTC)
    assert not_before_now(now - timedelta(seconds=1), now=now) == now
    assert not_before_now(now + timedelta(seconds=1), now=now) == now + timedelta(seconds=1)
    before = utcnow()
    assert before <= not_before_now(datetime(2000, 1, 1, tzinfo=UTC)) <= utcnow()
    later = before + timedelta(days=1)
    assert not_before_now(later) == later


@pytest.mark.parametrize(
    "name", ["Asia/Shanghai", "UTC", "Europe/London", "America/New_York", "PRC", "US/Pacific"]
)
def test_iana_zone_names_and_links_are_valid(name: str) -> None:
    assert is_valid_timezone(name)


@pytest.mark.parametrize(
    "name",
    ["Factory", "localtime", "posixrules", "posix/Asia/Shanghai", "right/UTC", "right/Asia/Shanghai", ""],
)
def test_zone_files_that_are_no_place_s_zone_are_refused(name: str) -> None:
    """ZoneInfo loads each of these (right/ counts leap seconds into its clock); none may cut a program's days."""
    assert not is_valid_timezone(name)


def test_problem_extras_cannot_override_the_documents_own_fields() -> None:
    with pytest.raises(ValueError, match="status"):
        Conflict(Message("x"), code="x", extra={"status": "rejected"})
    assert Conflict(Message("x"), code="x", extra={"current_status": "rejected"}).extra == {
        "current_status": "rejected"
    }


@pytest.mark.parametrize("zone", ["Asia/Shangai", "posix/Asia/Shanghai", "Factory", ""])
def test_a_default_time_zone_that_is_not_an_iana_name_stops_the_settings(
    zone: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEIGOU_DEFAULT_TIMEZONE", zone)
    with pytest.raises(ValidationError, match="IANA"):
        Settings()


def test_the_default_time_zone_may_be_any_iana_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEIGOU_DEFAULT_TIMEZONE", "Europe/London")
    assert Settings().default_timezone == "Europe/London"


def test_a_long_run_of_digits_sent_as_a_time_is_refused_in_linear_time() -> None:
    """The number check once backtracked quadratically on digits ending in another character (a 1 MiB
    body took hours, holding the interpreter's lock); 200,000 digits now take milliseconds. Run in a
    process of its own, so a regression fails on the timeout instead of hanging the suite."""
    script = (
        "from pydantic import TypeAdapter, ValidationError\n"
        "from neigou.kit.instants import Instant\n"
        "try:\n"
        "    TypeAdapter(Instant).validate_python('1' * 200_000 + 'x')\n"
        "except ValidationError as exc:\n"
        "    print(exc.errors()[0]['type'])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=30, check=True
    )
    kind = done.stdout.strip()
    assert kind
    assert kind != "numeric_datetime"  # not a number: refused as a malformed time


def test_invisible_marks_are_trimmed_but_an_emojis_tag_characters_are_kept() -> None:
    scotland = "u🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f"
    wales = "u🏴\U000e0067\U000e0062\U000e0077\U000e006c\U000e0073\U000e007f"
    assert canonical(scotland) != canonical(wales)
    assert canonical("\ufeff\u200bopenid-1\u202c\u2060") == "openid-1"


def _canonical_by_definition(value: str) -> str:
    """NFKC, then white space and invisible marks trimmed at either end, one character at a time."""
    text = unicodedata.normalize("NFKC", value)
    start, end = 0, len(text)
    while start < end and (text[start].isspace() or text[start] in _HASHED_EDGES):
        start += 1
    while end > start and (text[end - 1].isspace() or text[end - 1] in _HASHED_EDGES):
        end -= 1
    return text[start:end]


@given(
    st.text(st.characters(max_codepoint=127), max_size=20)
    | st.text(st.sampled_from(" \t\x1c\x1f\u3000\u00a0\ufeff\u200b\uff11a１"), max_size=8)
)
def test_the_ascii_shortcut_is_the_canonical_form(value: str) -> None:
    assert canonical(value) == _canonical_by_definition(value)
