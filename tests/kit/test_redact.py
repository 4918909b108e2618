"""Log redaction reads a query's key as a server does (percent-escapes decoded), knows the phone forms
``kit.phones`` reads as one number where no ordinary text looks the same, and runs in linear time."""

from __future__ import annotations

import re
import subprocess
import sys
import unicodedata

import pytest

from neigou.kit.logging import REDACTED, redact_text, redact_value
from neigou.kit.phones import DASHES, DOTS, customer_ref, mainland_mobile
from tests.phone_forms import grouped_forms, prefixed_forms

pytestmark = pytest.mark.no_database

OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"


@pytest.mark.parametrize(
    "line",
    [
        f"GET /l/k7Qm2xPa?customer%5Fref={OPENID} HTTP/1.1",
        f"GET /l/k7Qm2xPa?customer%5fref={OPENID} HTTP/1.1",
        f"GET /l/k7Qm2xPa?%63ustomer_ref={OPENID} HTTP/1.1",
        f"GET /l/k7Qm2xPa?%63%75%73%74%6F%6D%65%72%5F%72%65%66={OPENID} HTTP/1.1",
        f"GET /l/k7Qm2xPa?from=singlemessage&customer%5Fref={OPENID}&isappinstalled=0 HTTP/1.1",
        f"GET /l/k7Qm2xPa?customer%255Fref={OPENID} HTTP/1.1",  # encoded twice
        f"GET /x?open%69d={OPENID}",
        f"GET /x?%70hone={OPENID}",
        f"GET /x?phone%5Fnumber={OPENID}",
        f"GET /x?phone_number={OPENID}",
        f"GET /x?user.mobile={OPENID}",
        f"GET /m/login?%74oken={OPENID}",
        f"GET /x?access%5Ftoken={OPENID}",
        f"GET /x?a=1;customer%5Fref={OPENID}",
        f"next=https://shop.example/?customer%5Fref={OPENID}",  # a URL inside a kept value
    ],
)
def test_a_percent_encoded_key_is_read_decoded_and_its_value_redacted_as_written(line: str) -> None:
    assert redact_text(line) == line.replace(OPENID, REDACTED)


@pytest.mark.parametrize(
    "line",
    [
        "GET /l/k7Qm2xPa?from=singlemessage&isappinstalled=0 HTTP/1.1",
        "GET /console/orders?page%5Fsize=20&status=paid&lang=zh%2DCN HTTP/1.1",
        "order fen=4990 qty=2 iphone_model=15",
        "GET /x?customer_refs=3 HTTP/1.1",
    ],
)
def test_other_parameters_are_kept(line: str) -> None:
    assert redact_text(line) == line


def test_a_fields_key_is_read_decoded() -> None:
    assert redact_value(None, {"customer%5Fref": OPENID, "%70hone": "x"}) == {
        "customer%5Fref": REDACTED,
        "%70hone": REDACTED,
    }


PHONE_FORMS = [
    "138  1234  5678",  # doubled separators
    "138 - 1234 - 5678",
    "138--1234--5678",
    "+86  138  1234  5678",
    "138.1234.5678",  # a dot or a slash between the groups
    "138/1234/5678",
    "138 / 1234 / 5678",
    "１３８．１２３４．５６７８",
    "١٣٨١٢٣٤٥٦٧٨",  # Arabic-Indic digits
    "١٣٨ ١٢٣٤ ٥٦٧٨",
    "+٨٦ ١٣٨-١٢٣٤-٥٦٧٨",
    "۱۳۸۱۲۳۴۵۶۷۸",  # extended Arabic-Indic (Persian) digits
    "۰۰۸۶ ۱۳۸ ۱۲۳۴ ۵۶۷۸",
    "138−1234−5678",  # a minus sign, and the dashes and dots kit.phones drops
    "138·1234·5678",
    "138・1234・5678",
    "138•1234•5678",
    "138。1234。5678",
    "138〜1234〜5678",
    "138﹣1234﹣5678",
    "138ー1234ー5678",  # the prolonged sound mark a kana keyboard types for "-", and its half-width form
    "138ｰ1234ｰ5678",
    "+86 138 · 1234 · 5678",
    *prefixed_forms("13812345678"),  # tel: or sip:, 086 or +086, an underscore after the country code
    *grouped_forms("13812345678"),  # four-four-three groups
    "1381 - 2345 - 678",
    "1381.2345.678",
    "+086 1381 2345 678",
    "sips:+86-1381-2345-678",
    "1381  2345  678",  # four-four-three groups parted as three-four-four ones may be, alike
    "1381\u200b 2345\u200b 678",
    "1381 \t2345 \t678",
    "1381--2345--678",
    "1381\u200b2345\u200b678",
    "(1381) 2345 678",  # the first group in brackets
    "+86 (1381) 2345 678",
    "（1381）-2345-678",
    "(1381)2345678",  # the bracket the first group's gap, the rest as written
    "（1381）2345678",
    "+86 (1381)2345678",
    "(1381)2345 678",
    "(1381)2345-678",
    "(138)1234-5678",
    "(138) 1234 5678",
]


def test_every_separator_the_log_knows_is_one_kit_phones_drops_and_every_dash_is_one() -> None:
    """The log's separators are ``kit.phones``' own (``DASHES``, ``DOTS``): each one parts a number
    ``kit.phones`` reads whole, and every dash of the running Unicode database is among them."""
    known = re.compile(f"[{DASHES}{DOTS}]")
    separators = [c for c in map(chr, range(sys.maxunicode + 1)) if known.fullmatch(c)]
    assert [c for c in separators if customer_ref(f"138{c}1234{c}5678") != "13812345678"] == []
    dashes = re.compile(f"[{DASHES}]")
    assert all(
        dashes.fullmatch(c) for c in map(chr, range(sys.maxunicode + 1)) if unicodedata.category(c) == "Pd"
    )


@pytest.mark.parametrize("phone", PHONE_FORMS)
def test_more_ways_of_writing_a_phone_are_redacted(phone: str) -> None:
    assert mainland_mobile(phone) is not None  # one number to kit.phones …
    assert redact_text(f"customer {phone} joined") == "customer [phone] joined"  # … and to the log


def test_four_four_three_groups_are_a_phone() -> None:
    assert mainland_mobile("1381 2345 678") is not None
    assert redact_text("customer 1381 2345 678 joined") == "customer [phone] joined"
    assert redact_text("customer 1381-2345-678.") == "customer [phone]."
    assert redact_text("GET /console/members?q=1381+2345+678") == "GET /console/members?q=[phone]"


def test_four_four_three_groups_parted_unlike_or_longer_are_kept() -> None:
    """One separator parts a mobile's gaps; two years and a count parted alike are redacted with it."""
    assert redact_text("years 1998 1999 100") == "years [phone]"
    for text in (
        "years 1949-1978 300",
        "1381 2345 6789",
        "1381 2345-678",
        "v1.1381 2345 678",
        "1381  2345 678",  # parted unlike: two spaces, then one
        "1381 \u200b2345 678",
        "(1381) 2345-678",
        "1381--2345-678",
    ):
        assert redact_text(text) == text


def test_a_bracketed_first_group_with_no_gap_after_it_is_a_phone() -> None:
    assert redact_text("customer (1381)2345678 joined") == "customer [phone] joined"
    assert redact_text("tel (1381)2345678.") == "tel [phone]."
    for text in ("(1381)23456789", "(1381)2345 6789", "(1281)2345678", "(1381)2345.6789"):
        assert redact_text(text) == text


@pytest.mark.parametrize(
    "text",
    [
        "fen 1500  2000  300  450",  # a column of amounts: more than a mobile's eleven digits
        "fen 100  1500  2000  300",
        "order\t1500\t2000\t300\t450",
        "1381  2345  678  100  200",
        "ids 10012345678 12012345678 11012345678",  # eleven digits no mobile begins with
        "ids 100 1234 5678, 1201 2345 678, (1281)2345678",
    ],
)
def test_columns_of_numbers_and_ids_no_mobile_begins_with_are_kept(text: str) -> None:
    assert redact_text(text) == text


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        # three groups alone may be a mobile (kit.phones reads them as one), so they go as before
        ("fen 1500  2000  300", "fen [phone]"),
        ("order 1500\t2000\t300 fen", "order [phone] fen"),
        ("x 138\t1234\t5678\ty", "x [phone]\ty"),
        ("customer 138 1234 5678 3 times", "customer [phone] 3 times"),  # one space parts no column
        ("paid 300  1381 2345 678", "paid 300  [phone]"),  # parted unlike the column's gap
        # a mobile's own three-four-four shape, a prefix or gaps unlike each other: never a column
        ("+86  138  1234  5678  2", "[phone]  2"),
        ("buyer 138  1234  5678  2 pcs", "buyer [phone]  2 pcs"),
        ("qty 2  138  1234  5678", "qty 2  [phone]"),
        ("138 1234\t5678\t2", "[phone]\t2"),
        ("tel:1381  2345  678  9", "[phone]  9"),
        ("(1381)  2345  678  9", "[phone]  9"),
        ("a\t150\t2000\t3000\t12", "a\t[phone]\t12"),
        # the neighbour is a date, a longer number or another phone, not a column's amount
        ("张三  1381  2345  678  2026-03-01", "张三  [phone]  2026-03-01"),
        ("1381  2345  678  13912345678", "[phone]  [phone]"),
        ("2026-03-01  1381  2345  678", "2026-03-01  [phone]"),
        ("12.5  1381  2345  678", "12.5  [phone]"),
        ("1381  2345  678  1234567", "[phone]  1234567"),
    ],
)
def test_a_mobile_shaped_run_outside_a_column_stays_redacted(text: str, redacted: str) -> None:
    assert redact_text(text) == redacted


@pytest.mark.parametrize(
    "text",
    [
        "shipped 2026.12.05, paid 2026/12/05",
        "neigou 1.139.2026.1205 released",
        "139.2026.1205.1",
        "took 139.2026 1205 ms",
        "took 139.2026/1205 ms",
        "years 1949-1978 300",
        "amounts 1380 1234 5678 fen",
        "order JD-2026-1205-0001 paid 4990",
    ],
)
def test_dates_versions_decimals_and_amounts_are_not_phones(text: str) -> None:
    assert redact_text(text) == text


def test_redaction_takes_linear_time_on_long_adversarial_text() -> None:
    """A run of letters and dashes once took the query rule quadratic time (16 KB: 20 s, a long URL in an
    access log line holding the log for hours). 200,000 characters of each shape now take milliseconds.
    Run in a process of its own, so a regression fails on the timeout instead of hanging the suite."""
    script = (
        "from neigou.kit.logging import redact_text\n"
        "n = 100_000\n"
        "shapes = ['a-' * n, 'a_' * n + '=x', '%' * 2 * n + '=x', 'a=' * n, 'token=' * n, '%63' * n + '=x',\n"
        "          '138 ' * n, '1\\u200b' * n, '138.1234.' * n, '+86 ' * n, 'x.phone' * n + '=1',\n"
        "          '\"token\":\"' * n, '1381 \\u200b' * n, '(1381)  ' * n, '1381--2345- ' * n,\n"
        "          '(1381)2345' * n, '1500  2000  ' * n, '1\\t' * n]\n"
        "for text in shapes:\n"
        "    redact_text(text)\n"
        "print(len(shapes))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "18"


TAB_FORMS = [
    "1381\t2345\t678",
    "138\t1234\t5678",
    "+86\t138\t1234\t5678",
    "1381\t\t2345\t\t678",
    "138 \t1234 \t5678",
]


@pytest.mark.parametrize("phone", TAB_FORMS)
def test_a_phone_parted_by_tabs_is_read_as_one_and_redacted_as_one(phone: str) -> None:
    assert mainland_mobile(phone) is not None  # kit.phones drops tabs as it drops spaces
    assert redact_text(f"x {phone} y") == "x [phone] y"


@pytest.mark.parametrize("phone", [*TAB_FORMS, "138 1234 5678", "1381  2345  678"])
@pytest.mark.parametrize("key", ["customer_ref", "phone", "customerRef", "mobile"])
def test_a_keys_phone_value_written_in_groups_goes_whole(key: str, phone: str) -> None:
    """A ``key=value`` value ends at white space; a phone parted by tabs or spaces does not leave its
    later groups behind (``customer_ref=[redacted]\\t2345\\t678`` kept seven of its digits)."""
    assert redact_text(f"lookup {key}={phone} done") == f"lookup {key}={REDACTED} done"
    assert redact_text(f"lookup {key}={phone}\t3") == f"lookup {key}={REDACTED}\t3"


def test_four_four_three_tab_groups_beside_a_count_stay_a_column() -> None:
    """A trailing count makes twelve digits, no number ``kit.phones`` reads; the column stays as it was."""
    assert mainland_mobile("1381\t2345\t678\t3") is None
    assert redact_text("sku\t1381\t2345\t678\t3") == "sku\t1381\t2345\t678\t3"


@pytest.mark.parametrize(
    "line",
    [
        "receiver answered code: 500",
        "code=404 from the robot",
        'reply {"code": 40001, "msg": "invalid receiver"}',
        "reply {'code': '310000', 'msg': 'busy'}",
        "error.code: 9",
        "errorCode=500",
        "code: 123456 from the robot",
        "code: 0044 next",
        "code: 500 1234",
    ],
)
def test_a_short_number_under_a_codes_name_is_kept(line: str) -> None:
    """An HTTP status or an error code after the key ``code`` has fewer digits than any mobile: kept."""
    assert redact_text(line) == line


@pytest.mark.parametrize(
    ("line", "redacted"),
    [
        ("code: 13812345678", f"code: {REDACTED}"),
        ("code=138 1234 5678 next", f"code={REDACTED} next"),
        ("code: 0044 7911 123456", f"code: {REDACTED}"),
        ("code=6831234", f"code={REDACTED}"),  # as many digits as Niue's mobiles with their country code
        ('{"code": "8613812345678"}', f'{{"code": "{REDACTED}"}}'),
        ("code=ngc_k7Qm2xPa9", f"code={REDACTED}"),
        ("phone_code: 500", f"phone_code: {REDACTED}"),
        ("customer_ref: 500", f"customer_ref: {REDACTED}"),
        ("user[code]=500", f"user[code]={REDACTED}"),
        ("sign=500", f"sign={REDACTED}"),
        # An international number with separators after its country code goes whole, any country's and
        # of any kind (a short one, a landline), not only a mobile.
        ("code: +683 1234", f"code: {REDACTED}"),
        ("code=+683-1234&next=1", f"code={REDACTED}&next=1"),
        ("phone: +683 1234 next", f"phone: {REDACTED} next"),
        ("code: +44 20 7946 0958 ok", f"code: {REDACTED} ok"),
        ("code: 0044 20 7946 0958 ok", f"code: {REDACTED} ok"),
        ("customer_ref: %2B683%201234 x", f"customer_ref: {REDACTED} x"),
        ("code: \uff0b683 1234", f"code: {REDACTED}"),
    ],
)
def test_a_phone_or_a_sign_in_code_under_any_key_is_still_redacted(line: str, redacted: str) -> None:
    assert redact_text(line) == redacted


def test_a_log_fields_short_code_is_kept_and_a_phone_under_it_is_not() -> None:
    assert redact_value("code", 500) == 500
    assert redact_value("error_code", "40001") == "40001"  # not a secret's name at all
    assert redact_value("code", "40001") == "40001"
    assert redact_value("code", 13812345678) == REDACTED
    assert redact_value("code", True) == REDACTED
    assert redact_value("code", "ngc_k7Qm2xPa9") == REDACTED
    assert redact_value("phone_code", 500) == REDACTED


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        ("call 1381-234-5678 now", "call [phone] now"),
        ("call 13812 345678 now", "call [phone] now"),
        ("call 0138 1234 5678 now", "call [phone] now"),
        ("call 13 81 23 45 678 now", "call [phone] now"),
        ("buyer 1381-234-5678.", "buyer [phone]."),
        ("customer_ref=13812 345678 next", "customer_ref=[redacted] next"),
    ],
)
def test_a_mobile_in_any_grouping_kit_phones_reads_is_redacted(text: str, redacted: str) -> None:
    assert redact_text(text) == redacted


@pytest.mark.parametrize("phone", ["1381-234-5678", "13812 345678", "0138 1234 5678", "13 81 23 45 678"])
def test_each_grouping_redacted_is_one_kit_phones_reads_as_the_mobile(phone: str) -> None:
    assert customer_ref(phone) == "13812345678"
    assert redact_text(phone) == "[phone]"


@pytest.mark.parametrize(
    "text",
    [
        "code: 500",
        "paid 13800 fen on 2026-03-24 13:45:00",
        "ids 13 14 15 16 17 18",
        "order 1381-2026-0324 paid",
        "amounts 1380 1234 5678 fen",
        "years 1949-1978 300",
        "status: 200, ok",
    ],
)
def test_grouped_numbers_that_are_no_mobile_are_kept(text: str) -> None:
    assert redact_text(text) == text


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        ("webhook-signature: v1,abcdef==", "webhook-signature: [redacted]"),
        ("webhook-signature: v1,abc== v1,def== next", "webhook-signature: [redacted] next"),
        ("webhook-signature=v1,abc== v1,def==&x=1", "webhook-signature=[redacted]&x=1"),
        ("Authorization: Token abc", "Authorization: Token [redacted]"),
        ("authorization=Token abc&y=2", "authorization=Token [redacted]&y=2"),
        ("Authorization: ApiKey abc123 sent", "Authorization: ApiKey [redacted] sent"),
        ("Authorization: Bearer abc", "Authorization: Bearer [redacted]"),
    ],
)
def test_a_signatures_listed_values_and_any_schemes_credential_are_redacted(text: str, redacted: str) -> None:
    assert redact_text(text) == redacted
    assert redact_text(redacted) == redacted
