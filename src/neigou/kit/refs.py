"""The customer reference an input takes names someone: once canonical (``kit.ids.canonical``: NFKC,
trimmed of white space and invisible marks) something is left. A reference of only spaces, zero-width
spaces, direction marks or a byte-order mark would hash as the empty reference, one made-up customer
shared by every such input; it is refused as invalid instead."""

from __future__ import annotations

from pydantic import AfterValidator

from neigou.kit.ids import canonical


def _names_someone(value: str | None) -> str | None:
    if value is not None and not canonical(value):
        raise ValueError("a customer reference of only white space or invisible characters names nobody")
    return value


NamesSomeone = AfterValidator(_names_someone)
