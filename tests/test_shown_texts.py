"""What a page, a form or a file's report shows is the product's own text in the reader's language: a
sentence said once in the catalog, and never pydantic's English text of a validation error."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

pytestmark = pytest.mark.no_database

SRC = Path(__file__).resolve().parents[1] / "src" / "neigou"

# A sentence of the catalog said once: the same text again with a field before it (``{fields}: a customer
# reference may not…``) is a second msgid to translate and keep in step. Short labels may repeat in
# another case or with a stop (``Created``, ``created``); a sentence of six words or more may not.
POT = SRC / "locale" / "messages.pot"


def _said(msgid: str) -> str:
    """A msgid's words, without a leading ``{field}:`` and without case or punctuation."""
    return re.sub(r"\W+", " ", re.sub(r"^\{\w+\}\s*:\s*", "", msgid).lower()).strip()


def test_no_sentence_is_in_the_catalog_twice() -> None:
    with POT.open("rb") as catalog:
        ids = [m.id if isinstance(m.id, str) else m.id[0] for m in read_po(catalog) if m.id]
    said: dict[str, list[str]] = {}
    for msgid in ids:
        if len(_said(msgid).split()) >= 6:
            said.setdefault(_said(msgid), []).append(msgid)
    assert [found for found in said.values() if len(found) > 1] == []


# pydantic's English text of a validation error (``err["msg"]``) is shown nowhere: the API's 422, a console
# form, an import's row error or a page shows the type (or code) and message of ``kit.field_errors`` in
# the reader's language (pydantic's text may quote the value sent).


def _reads_pydantic_text(tree: ast.AST) -> list[int]:
    """The lines reading a validation error's ``msg``: ``err["msg"]``, ``e.get("msg")``."""
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Subscript)
            and isinstance(node.slice, ast.Constant)
            and node.slice.value == "msg"
        ):
            found.append(node.lineno)
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and node.args[0].value == "msg"
        ):
            found.append(node.lineno)
    return found


def test_no_answer_form_or_file_shows_pydantics_english_text() -> None:
    found = []
    for path in sorted(SRC.rglob("*.py")):
        found += [
            f"{path.relative_to(SRC)}:{line}"
            for line in _reads_pydantic_text(ast.parse(path.read_text(encoding="utf-8")))
        ]
    assert found == []
