"""An exception's text may reach a log line (``kit.tracebacks.error_summary`` logs its first line) or a
problem document: none carries a shopper's openid, phone or customer reference, nor raw text typed into a
field that may hold one."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from string import Formatter

import pytest

from neigou.web import console_links

pytestmark = pytest.mark.no_database

SRC = Path(__file__).resolve().parents[1] / "src" / "neigou"
# A name that reads as a shopper's identity (``openid``, ``phone``, ``customer_ref``, ``ref``, ``mobile``)
# or as the raw text of a field (``text``, ``raw``) a shopper's identity may have been pasted into.
PERSONAL = re.compile(r"(?i)(?:^|_)(?:open_?id|union_?id|phone|mobile|customer_ref|ref|text|raw)(?:$|_)")
OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"


def _interpolated(arg: ast.expr) -> list[str]:
    """The names whose values an exception's argument writes into its text: the argument itself, or
    what an f-string, ``%`` or ``+`` puts in (not what a ``Message`` or a call hands to code)."""
    if isinstance(arg, ast.Name | ast.Attribute):
        return [ast.unparse(arg).rsplit(".", 1)[-1]]
    if isinstance(arg, ast.JoinedStr):
        return [
            name for v in arg.values if isinstance(v, ast.FormattedValue) for name in _interpolated(v.value)
        ]
    if isinstance(arg, ast.BinOp):
        return _interpolated(arg.left) + _interpolated(arg.right)
    if isinstance(arg, ast.Tuple):
        return [name for e in arg.elts for name in _interpolated(e)]
    return []


def test_no_raise_in_src_writes_a_shoppers_identity_into_its_text() -> None:
    found = []
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
                for arg in node.exc.args:
                    found += [
                        f"{path.relative_to(SRC)}:{node.lineno} {name}"
                        for name in _interpolated(arg)
                        if PERSONAL.search(name) and not name.isupper()  # a constant (a code) is no one's
                    ]
    assert found == []


# What a message quotes back (``{name!r}``) read from a field's raw text: by the placeholder's name or by
# a name its value reads (``value=text[:40]``, ``raw=raw``, ``value=power``).
QUOTED_INPUT = re.compile(
    PERSONAL.pattern.replace("|text|raw)", "|text|raw|value|line|label|typed|owner|count|active)")
)


def _quoted_input(path: Path, call: ast.Call) -> list[str]:
    """The ``{name!r}`` placeholders of a ``Message("…", name=…)`` that quote a field's raw text."""
    if not (isinstance(call.func, ast.Name) and call.func.id == "Message" and call.args):
        return []
    template = call.args[0]
    if not isinstance(template, ast.Constant) or not isinstance(template.value, str):
        return []
    quoted = set(re.findall(r"\{(\w+)!r\}", template.value))
    found = []
    for keyword in call.keywords:
        if keyword.arg is None or keyword.arg not in quoted:
            continue
        read = [n.id for n in ast.walk(keyword.value) if isinstance(n, ast.Name)]
        read += [n.attr for n in ast.walk(keyword.value) if isinstance(n, ast.Attribute)]
        if any(QUOTED_INPUT.search(name) for name in [keyword.arg, *read]):
            found.append(f"{path.relative_to(SRC)}:{call.lineno} {keyword.arg}={ast.unparse(keyword.value)}")
    return found


def test_no_message_in_src_quotes_back_what_was_typed_into_a_field() -> None:
    """A refusal names the field (and row) and says what it expects; what was typed there may be a phone
    number or a name and goes on to reports and logs. Ids and codes the system issued may be quoted."""
    found = []
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                found += _quoted_input(path, node)
    assert found == []


# What a message's placeholder (``{name}``, any conversion) reads from typed input: a variable holding a
# request's or a form's body, a file's record or cells, or a field's raw text or value (``value=value``,
# ``sku=data.sku``, ``no=entry.employee_no``), or a field of a parsed file row (``group=row.group``; a
# bare ``row`` or ``line`` is a row's number).
TYPED_INPUT = re.compile(
    PERSONAL.pattern.replace(
        "|text|raw)",
        "|text|raw|body|data|form|request|payload|query|params|record|cells?|values?|typed|entry|header"
        "|employee_no|envelope|start|end)",
    )
)
PARSED_ROW = re.compile(r"(?i)(?:^|_)(?:row|line)$")
# Placeholders that may quote typed input: an id or a code names a record of the product (a sku, a
# program's code, a share link's code), which the refusal's reader needs to find what to fix; a day or
# time a caller gave is typed input (``start=start_on``), and so is a partner's webhook ``envelope``. An id
# or code of a record that does not exist names nothing of the product's: see the test of missing records.
MAY_QUOTE = re.compile(r"(?i)(?:^|_)(?:ids?|codes?|skus?)$")


def _read_from(value: ast.expr) -> list[str]:
    """The variables a value is read from (``data`` in ``data.sku``), not those only counted (``len(x)``)
    or used as a key (``seen[no]`` reads ``seen``); a variable read by attribute is named ``row.`` to
    tell a row's field from its number."""
    counted = {
        id(node)
        for outer in ast.walk(value)
        if (isinstance(outer, ast.Call) and isinstance(outer.func, ast.Name) and outer.func.id == "len")
        or isinstance(outer, ast.Subscript)
        for node in ast.walk(outer.slice if isinstance(outer, ast.Subscript) else outer)
    }
    names = []
    for node in ast.walk(value):
        if id(node) in counted:
            continue
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            names.append(node.value.id + ".")
        elif isinstance(node, ast.Name) and not any(
            isinstance(call, ast.Call) and call.func is node for call in ast.walk(value)
        ):
            names.append(node.id)
    return names


def _typed_input(path: Path, call: ast.Call) -> list[str]:
    """The placeholders of a ``Message("…", name=…)`` whose value is read from typed input."""
    if not (isinstance(call.func, ast.Name) and call.func.id == "Message" and call.args):
        return []
    template = call.args[0]
    if not isinstance(template, ast.Constant) or not isinstance(template.value, str):
        return []
    placed = {re.split(r"[.\[]", f)[0] for _, f, _, _ in Formatter().parse(template.value) if f}
    found = []
    for keyword in call.keywords:
        if keyword.arg is None or keyword.arg not in placed or MAY_QUOTE.search(keyword.arg):
            continue
        read = _read_from(keyword.value)
        typed = [n for n in read if TYPED_INPUT.search(n.rstrip("."))]
        typed += [n for n in read if n.endswith(".") and PARSED_ROW.search(n.rstrip("."))]
        if typed:
            found.append(f"{path.relative_to(SRC)}:{call.lineno} {keyword.arg}={ast.unparse(keyword.value)}")
    return found


def test_no_message_in_src_repeats_typed_input_in_any_placeholder() -> None:
    """Not only ``{name!r}``: a plain ``{name}`` fed from a form's body, a file's row or a field's value
    repeats what was typed just the same. Such a refusal names the field, row or column instead."""
    found = []
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                found += _typed_input(path, node)
    assert found == []


# A refusal of a record the caller named and that is not there (or named twice): its exception is a
# ``NotFound``, its code ``unknown_…``, ``…_not_found`` or ``duplicate_…``, or its text says so. What the
# caller sent for it names no record of the product (it may be a phone number typed in the wrong field),
# so such a refusal names the field, item or row instead; only a record it did find may be named by its
# own ``.id`` (``owner_id=owner.id``). So does the refusal of a key already taken (a code, an external id,
# a request id: ``…_taken``, ``…_reused``, ``ambiguous_…``): the key is what was sent, and the field it was
# sent in is what the caller fixes. So does a refusal of an entry for the state of the record it names
# (``product_inactive``: off sale; ``price_out_of_scope``: outside the promotion's skus): the entry is what
# was sent, and its place is what the caller fixes. Every placeholder counts, whatever its name (``missing=", ".join(…)``
# listed the unknown skus), but one naming a place (an item's index, a row's number, a field or a column) or
# what is expected (the known values).
PLACE = re.compile(
    r"(?i)(?:^|_)(?:rows?|lines?|index|indexes|items?|positions?|n|numbers?|first|last|count|fields?|columns?|letter"
    r"|known|expected)$"
)
# Values a missing-record refusal may tell, with the reason: a platform's status code is told only when it has
# at most three digits (``platforms.rows.MAX_TOLD_STATUS``), so it can hold no phone number or name.
BOUNDED = {("platforms/rows.py", "code")}
# Refusals that still quote what was sent, each to be worded by its field: the opt-out's reused request id.
NOT_YET_BY_FIELD: set[tuple[str, str]] = set()
MISSING_CODE = re.compile(
    r"^unknown_|_not_found$|^duplicate_|_not_in_program$|_not_owned$|_inactive$|_out_of_scope$"
    r"|_taken$|_reused$|^ambiguous_"
)
MISSING_TEXT = re.compile(
    r"(?i)^unknown |does not exist|listed twice|already on row|is not on this|exists already|exists in several"
    r"|reported before|with other terms|used for another"
)


def _refused_as_missing(refusal: ast.Call | None, template: str) -> bool:
    """Whether a message is the text of a refusal of something missing or repeated."""
    if MISSING_TEXT.search(template):
        return True
    if refusal is None:
        return False
    given = [*refusal.args, *(k.value for k in refusal.keywords if k.arg == "code")]
    codes = [a.value for a in given if isinstance(a, ast.Constant)]
    named = ast.unparse(refusal.func).rsplit(".", 1)[-1]
    return named == "NotFound" or any(isinstance(c, str) and MISSING_CODE.search(c) for c in codes)


def _missing_extra(path: Path, refusal: ast.Call) -> list[str]:
    """The members of a missing-record refusal's ``extra`` that carry what was sent (``{"skus": missing}``)
    rather than its place (``{"field": "items", "indexes": [1]}``)."""
    messages = [a for a in refusal.args if isinstance(a, ast.Call) and ast.unparse(a.func) == "Message"]
    template = messages[0].args[0] if messages and messages[0].args else None
    text = template.value if isinstance(template, ast.Constant) and isinstance(template.value, str) else ""
    if not _refused_as_missing(refusal, text):
        return []
    extra = next((k.value for k in refusal.keywords if k.arg == "extra"), None)
    if not isinstance(extra, ast.Dict):
        return []
    return [
        f"{path.relative_to(SRC)}:{refusal.lineno} extra {key.value}={ast.unparse(value)}"
        for key, value in zip(extra.keys, extra.values, strict=True)
        if isinstance(key, ast.Constant)
        and isinstance(key.value, str)
        and not (PLACE.search(key.value) or key.value == "indexes")
    ]


def _missing_quoted(path: Path, tree: ast.AST) -> list[str]:
    """The placeholders of refusals of missing records that quote what the caller sent."""
    refusal_of = {
        id(arg): node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        for arg in [*node.args, *(k.value for k in node.keywords)]
    }
    found = []
    for call in ast.walk(tree):
        if isinstance(call, ast.Call) and call in refusal_of.values():
            found += _missing_extra(path, call)
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "Message"):
            continue
        if (
            not call.args
            or not isinstance(call.args[0], ast.Constant)
            or not isinstance(call.args[0].value, str)
        ):
            continue
        template = call.args[0].value
        if not _refused_as_missing(refusal_of.get(id(call)), template):
            continue
        placed = {re.split(r"[.\[]", f)[0] for _, f, _, _ in Formatter().parse(template) if f}
        for keyword in call.keywords:
            if keyword.arg is None or keyword.arg not in placed:
                continue
            value = keyword.value
            where = (path.relative_to(SRC).as_posix(), keyword.arg)
            if PLACE.search(keyword.arg) or where in BOUNDED or where in NOT_YET_BY_FIELD:
                continue  # an item's index, a row's number, a field; a value bounded before it is told
            if isinstance(value, ast.Attribute) and value.attr == "id":
                continue  # a record found, by its own id
            found.append(f"{path.relative_to(SRC)}:{call.lineno} {keyword.arg}={ast.unparse(value)}")
    return found


def test_no_refusal_of_a_missing_record_quotes_what_was_sent_for_it() -> None:
    """``Unknown sku 13812345678.``: an unknown sku, link code or id is only what was typed. The refusal
    names where it was (the field, the item's index, the row) and keeps its code."""
    found = []
    for path in sorted(SRC.rglob("*.py")):
        found += _missing_quoted(path, ast.parse(path.read_text(encoding="utf-8")))
    assert found == []


@pytest.mark.parametrize(
    ("source", "flagged"),
    [
        ('raise Invalid(Message("Unknown sku {sku}.", sku=data.sku), code="unknown_sku")', ["sku=data.sku"]),
        (
            'raise NotFound(Message("Member {member_id} is gone.", member_id=member_id))',
            ["member_id=member_id"],
        ),
        ('raise Invalid(Message("Bad link {code!r}.", code=code), code="unknown_link")', ["code=code"]),
        (
            'raise Invalid(Message("Sku {skus} is listed twice.", skus=", ".join(d)), code="x")',
            ["skus=', '.join(d)"],
        ),
        ('raise RowError(row, Message("Unknown brand {code!r}.", code=p.brand_code))', ["code=p.brand_code"]),
        ('problem(detail=Message("Integration {i_id} does not exist.", i_id=i_id))', ["i_id=i_id"]),
        ('raise RowError(row, Message("Member {owner_id} has no group.", owner_id=owner.id))', []),
        ('raise Invalid(Message("Item {index} names no product.", index=i), code="unknown_sku")', []),
        ('raise Invalid(Message("The product does not exist."), code="unknown_sku")', []),
        (
            'raise Invalid(Message("{field}[{index}] names no product.", field="skus", index=i), code="unknown_sku", '
            'extra={"skus": missing})',
            ["extra skus=missing"],
        ),
        (
            'raise Invalid(Message("No product."), code="unknown_sku", extra={"field": "items", "indexes": m})',
            [],
        ),
        ('raise Conflict(Message("Coupon {coupon_id} has ended.", coupon_id=coupon_id), code="ended")', []),
        (
            'RowError(row.n, key, "unknown_sku", Message("No {missing}.", missing=", ".join(m)))',
            ["missing=', '.join(m)"],
        ),
        (
            'raise Invalid(Message("Coupon {coupon} twice.", coupon=r[0]), code="duplicate_coupon")',
            ["coupon=r[0]"],
        ),
        (
            'raise Invalid(Message("Row {row}, item {item}: no such sku.", row=n, item=i), code="unknown_sku")',
            [],
        ),
        (
            'raise Invalid(Message("Sku {skus} is not on sale.", skus=", ".join(s)), code="product_inactive", '
            'extra={"skus": s})',
            ["extra skus=s", "skus=', '.join(s)"],
        ),
        (
            'raise Invalid(Message("Sku {sku} is not on sale.", sku=data.sku), code="product_inactive")',
            ["sku=data.sku"],
        ),
        (
            'raise Invalid(Message("{field}[{index}] is off sale.", field="items", index=i[0]), '
            'code="product_inactive", extra={"field": "items", "indexes": i})',
            [],
        ),
        (
            'raise Invalid(Message("Prices for {skus} are outside.", skus=", ".join(o)), code="price_out_of_scope")',
            ["skus=', '.join(o)"],
        ),
        (
            'taken = Conflict(Message("Brand {code!r} exists.", code=data.code), code="brand_code_taken")',
            ["code=data.code"],
        ),
        (
            'raise Conflict(Message("Order {e} is in two programs.", e=e), code="ambiguous_external_id")',
            ["e=e"],
        ),
        (
            'RowError(o.row, o.external_id, "external_id_reused", Message("Order {external_id} differs.", '
            "external_id=o.external_id))",
            ["external_id=o.external_id"],
        ),
        ('raise Conflict(Message("Request {r!r} was used for another amount.", r=r), code="x")', ["r=r"]),
        (
            'raise Conflict(Message("{field} names a brand that exists already.", field="code"), '
            'code="brand_code_taken", extra={"field": "code"})',
            [],
        ),
    ],
)
def test_the_missing_record_check_flags_what_was_sent(source: str, flagged: list[str]) -> None:
    found = [f.split(" ", 1)[1] for f in _missing_quoted(SRC / "example.py", ast.parse(source))]
    assert found == flagged


@pytest.mark.parametrize(
    ("source", "flagged"),
    [
        ('Message("Unknown column {name!r}.", name=text)', ["name=text"]),
        (
            'Message("Member {owner_id} has no group {group!r}.", owner_id=owner.id, group=row.group)',
            ["group=row.group"],
        ),
        ('Message("Unknown coupon {value}.", value=value)', ["value=value"]),
        ('Message("Employee {no} is not listed.", no=entry.employee_no)', ["no=entry.employee_no"]),
        ('Message("Row {row} holds a NUL character.", row=row)', []),
        ('Message("Expected {expected} cells, got {got}.", expected=width, got=len(record.cells))', []),
        ('Message("Unknown sku {sku}.", sku=data.sku)', []),
        ('Message("Line {n} repeats line {first}.", n=number, first=seen[entry.employee_no])', []),
        ('Message("Line {n}: at most {limit}.", n=number, limit=LIMIT)', []),
        ('Message("Unknown field {{{field}}}.", field=text)', ["field=text"]),
        ('Message("Use {{name}} in {where}.", name=text, where=field)', []),
    ],
)
def test_the_placeholder_check_flags_typed_input_only(source: str, flagged: list[str]) -> None:
    call = ast.parse(source).body[0]
    assert isinstance(call, ast.Expr)
    assert isinstance(call.value, ast.Call)
    found = _typed_input(SRC / "example.py", call.value)
    assert [f.split(" ", 1)[1] for f in found] == flagged


@pytest.mark.parametrize("typed", [OPENID, "138 1234 5678", "#" + OPENID])
def test_a_console_field_that_is_no_number_is_refused_without_its_text(typed: str) -> None:
    with pytest.raises(ValueError, match="not a whole number") as refused:
        console_links._number(typed, required=True)
    assert typed.lstrip("#") not in str(refused.value)
    assert "1234" not in str(refused.value)
