"""An exception's text may reach a log line (``kit.tracebacks.error_summary`` logs its first line) or a
problem document: none carries a shopper's openid, phone or customer reference, nor raw text typed into a
field that may hold one."""

from __future__ import annotations

import ast
import re
from pathlib import Path

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
                        if PERSONAL.search(name)
                    ]
    assert found == []


# What a message quotes back (``{name!r}``) read from a field's raw text: by the placeholder's name or by
# a name its value reads (``value=text[:40]``, ``raw=raw``, ``value=power``).
QUOTED_INPUT = re.compile(
    PERSONAL.pattern.replace("|text|raw)", "|text|raw|value|line|label|typed|owner|count|active)")
)
# Quoted on purpose: a file's header cell names the column the file's author must fix.
QUOTED_ON_PURPOSE = {("kit/columns.py", "Unknown column {name!r}.")}


def _quoted_input(path: Path, call: ast.Call) -> list[str]:
    """The ``{name!r}`` placeholders of a ``Message("…", name=…)`` that quote a field's raw text."""
    if not (isinstance(call.func, ast.Name) and call.func.id == "Message" and call.args):
        return []
    template = call.args[0]
    if not isinstance(template, ast.Constant) or not isinstance(template.value, str):
        return []
    if (str(path.relative_to(SRC)), template.value) in QUOTED_ON_PURPOSE:
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


@pytest.mark.parametrize("typed", [OPENID, "138 1234 5678", "#" + OPENID])
def test_a_console_field_that_is_no_number_is_refused_without_its_text(typed: str) -> None:
    with pytest.raises(ValueError, match="not a whole number") as refused:
        console_links._number(typed, required=True)
    assert typed.lstrip("#") not in str(refused.value)
    assert "1234" not in str(refused.value)
