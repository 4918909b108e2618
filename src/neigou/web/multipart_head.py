"""The first fields of a multipart form, read from the head of its body and never past its first file.

A page puts the fields the layers in front of the routes need first in every POST form (the CSRF token,
then the form's language: ``web.forms.csrf_field``), so those layers read them from the first few
kilobytes of the body without reading the body for them. Only a part that ends within the head counts:
a field cut short by its end is not read.
"""

from __future__ import annotations

from contextlib import suppress
from typing import TYPE_CHECKING

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

MULTIPART = b"multipart/form-data"


class _Done(Exception):
    pass


class FirstFields:
    """The values of the ``wanted`` fields among the first parts of a multipart body, up to the first
    file. A value stops growing once it is ``longest`` bytes long (what is kept of a longer one is still
    longer than that, so it never passes for a shorter one)."""

    def __init__(self, wanted: frozenset[str], longest: int) -> None:
        self.wanted = {name.encode("latin-1") for name in wanted}
        self.longest = longest
        self.headers: dict[bytes, bytes] = {}
        self.header_name = bytearray()
        self.header_value = bytearray()
        self.part = b""
        self.value = bytearray()
        self.found: dict[str, bytes] = {}

    def on_part_begin(self) -> None:
        self.headers.clear()
        self.value.clear()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_name.extend(data[start:end])

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value.extend(data[start:end])

    def on_header_end(self) -> None:
        self.headers[bytes(self.header_name).lower()] = bytes(self.header_value)
        self.header_name.clear()
        self.header_value.clear()

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self.headers.get(b"content-disposition", b""))
        if b"filename" in options:
            raise _Done  # a file: the fields a page puts first are behind
        self.part = options.get(b"name", b"")

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self.part in self.wanted and len(self.value) < self.longest:
            self.value.extend(data[start:end])

    def on_part_end(self) -> None:
        name = self.part.decode("latin-1")
        if self.part in self.wanted and name not in self.found:
            self.found[name] = bytes(self.value)
            if len(self.found) == len(self.wanted):
                raise _Done

    def read(self, head: bytes, boundary: bytes) -> dict[str, bytes]:
        callbacks: MultipartCallbacks = {
            "on_part_begin": self.on_part_begin,
            "on_header_field": self.on_header_field,
            "on_header_value": self.on_header_value,
            "on_header_end": self.on_header_end,
            "on_headers_finished": self.on_headers_finished,
            "on_part_data": self.on_part_data,
            "on_part_end": self.on_part_end,
        }
        with suppress(_Done, FormParserError):
            MultipartParser(boundary, callbacks).write(head)
        return self.found


def first_fields(
    content_type: str | None, head: bytes, wanted: frozenset[str], longest: int
) -> dict[str, bytes]:
    """The ``wanted`` fields found in ``head``, the start of a body of ``content_type``; nothing when it
    is not multipart or names no boundary."""
    kind, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if kind != MULTIPART or not boundary:
        return {}
    return FirstFields(wanted, longest).read(head, boundary)
