"""The customer reference an input takes names someone, one way.

Once NFKC, something besides white space and invisible marks is left (``kit.ids.blank``). A reference
of only spaces, zero-width spaces, direction marks or a byte-order mark would hash as the empty
reference, one made-up customer shared by every such input; it is refused as invalid instead. And the
form it is hashed in holds no invisible mark (``kit.hidden_marks``): one would make it another customer
than the same text without it; it is refused as ``invalid_customer_ref``.
"""

from __future__ import annotations

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

from neigou.kit.hidden_marks import INVALID_CUSTOMER_REF, hides_a_mark
from neigou.kit.ids import blank


def _names_someone_stored(value: str | None) -> str | None:
    if value is not None and blank(value):
        raise ValueError("a customer reference of only white space or invisible characters names nobody")
    return value


NamesSomeoneStored = AfterValidator(_names_someone_stored)
"""For a reference that only finds what is stored (an opt-out's erasure): refuses a blank one, but one
hiding an invisible mark is hashed exactly as given, so a shopper stored under such a reference before
marks were refused can still be erased; it writes nothing a new customer could be made of."""


def _names_someone(value: str | None) -> str | None:
    value = _names_someone_stored(value)
    if value is not None and hides_a_mark(value):
        raise PydanticCustomError(INVALID_CUSTOMER_REF, "a customer reference holding an invisible character")
    return value


NamesSomeone = AfterValidator(_names_someone)
"""Refuses a customer reference that names nobody (blank) or hides an invisible mark (``INVALID_CUSTOMER_REF``)."""
