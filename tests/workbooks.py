"""Workbooks crafted byte by byte: a few KB of .xlsx whose sheet claims to be far larger than it is."""

from __future__ import annotations

import io
import re
import zipfile
from typing import Any

import openpyxl

SHEET = "xl/worksheets/sheet1.xml"


def workbook(rows: list[list[Any]]) -> bytes:
    """An ordinary .xlsx holding ``rows`` from A1."""
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for values in rows:
        sheet.append(values)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _edited(content: bytes, edit: Any) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(content))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            target.writestr(item, edit(data) if item.filename == SHEET else data)
    return out.getvalue()


def claiming(content: bytes, dimension: str) -> bytes:
    """``content`` with its sheet declaring ``<dimension ref=dimension>`` whatever it holds."""

    def edit(xml: bytes) -> bytes:
        edited, count = re.subn(
            rb'<dimension ref="[^"]*"\s*/>', b'<dimension ref="%s"/>' % dimension.encode(), xml
        )
        assert count == 1
        return edited

    return _edited(content, edit)


def moved(content: bytes, moves: dict[int, int]) -> bytes:
    """``content`` with each row ``old`` (and its cells) renumbered ``new``."""

    def edit(xml: bytes) -> bytes:
        for old, new in moves.items():
            xml, rows = re.subn(rb'<row r="%d">' % old, b'<row r="%d">' % new, xml)
            assert rows == 1
            xml = re.sub(rb'r="([A-Z]+)%d"' % old, rb'r="\g<1>%d"' % new, xml)
        return xml

    return _edited(content, edit)


def widened(content: bytes, row: int, text: str, column: str = "XFD") -> bytes:
    """``content`` with a text cell added to row ``row`` in ``column`` (``XFD``: Excel's last)."""

    def edit(xml: bytes) -> bytes:
        start = xml.index(b'<row r="%d">' % row)
        end = xml.index(b"</row>", start)
        cell = b'<c r="%s%d" t="inlineStr"><is><t>%s</t></is></c>' % (column.encode(), row, text.encode())
        return xml[:end] + cell + xml[end:]

    return _edited(content, edit)


def repeated_rows(content: bytes, count: int, cells: int = 8) -> bytes:
    """``content`` with ``count`` rows of ``cells`` real text cells appended to its sheet, alike and
    unnumbered (each row and cell comes next), so the sheet compresses a thousandfold."""
    cell = b'<c t="inlineStr"><is><t>x</t></is></c>'
    row = b"<row>" + cell * cells + b"</row>"

    def edit(xml: bytes) -> bytes:
        end = xml.index(b"</sheetData>")
        return xml[:end] + row * count + xml[end:]

    return _edited(content, edit)


def with_shared_strings(content: bytes, size: int) -> bytes:
    """``content`` with a shared strings part of about ``size`` bytes (one long string)."""
    source = zipfile.ZipFile(io.BytesIO(content))
    out = io.BytesIO()
    text = b"a" * size
    strings = (
        b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1">'
    )
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            if item.filename != "xl/sharedStrings.xml":
                target.writestr(item, source.read(item.filename))
        target.writestr("xl/sharedStrings.xml", strings + b"<si><t>" + text + b"</t></si></sst>")
    return out.getvalue()


def declaring(content: bytes, member: str, size: int) -> bytes:
    """``content`` with ``member``'s size in the central directory said to be ``size`` bytes."""
    data = bytearray(content)
    start = 0
    while (start := data.find(b"PK\x01\x02", start)) >= 0:
        name_length = int.from_bytes(data[start + 28 : start + 30], "little")
        if data[start + 46 : start + 46 + name_length] == member.encode():
            data[start + 24 : start + 28] = size.to_bytes(4, "little")
            return bytes(data)
        start += 4
    raise AssertionError(f"{member} not found")
