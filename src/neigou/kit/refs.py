"""The customer reference an input takes names someone: once NFKC, something besides white space and
invisible marks is left (``kit.ids.blank``). A reference of only spaces, zero-width
spaces, direction marks or a byte-order mark would hash as the empty reference, one made-up customer
shared by every such input; it is refused as invalid instead."""

from __future__ import annotations

from pydantic import AfterValidator

from neigou.kit.ids import blank


def _names_someone(value: str | None) -> str | None:
    if value is not None and blank(value):
        raise ValueError("a customer reference of only white space or invisible characters names nobody")
    return value


NamesSomeone = AfterValidator(_names_someone)
