"""The customer reference an input takes names someone, one way.

Once NFKC, and an Excel text marker round it dropped (``="…"``, a leading ``'``), something besides
white space and marks that show nothing is left (``kit.ids.names_nobody``). A
reference of only spaces, zero-width spaces, direction marks, a byte-order mark, Hangul fillers or
variation selectors names nobody (most of them would hash as the empty reference, one made-up customer
shared by every such input); it is refused as invalid where a customer is recorded. And the form it is
hashed in holds no invisible mark (``kit.hidden_marks``): one would make it another customer than the
same text without it; it is refused as ``invalid_customer_ref``.

An opt-out only finds what is stored, so it takes any reference that is not the empty one once hashed
(``kit.ids.empty_once_hashed``), and hashes it exactly as given: a shopper recorded under a reference of
Hangul fillers or variation selectors, or hiding a mark, before such references were refused, can still
be erased.

Nor is it a number in exponent form once read as it is hashed (``kit.text_markers.exponent_id``: bare,
or wrapped in a text marker, ``'2.34568E+18``): a 19-digit member number a spreadsheet held roughly, whose
digits are not the customer's, so two customers whose numbers round alike would be one. The inputs that
record a customer refuse it as ``invalid_customer_ref`` ("write ids as text"): orders from any source and
the customer book's import in their own checks, a claim and a reservation by :func:`require_exact_ref`.
"""

from __future__ import annotations

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

from neigou.kit.errors import Invalid
from neigou.kit.hidden_marks import INVALID_CUSTOMER_REF, hides_a_mark
from neigou.kit.i18n import Message
from neigou.kit.ids import empty_once_hashed, names_nobody
from neigou.kit.text_markers import exponent_id, too_long_number

_NAMES_NOBODY = Message("A customer reference of only white space or invisible characters names nobody.")


def _names_someone_stored(value: str | None) -> str | None:
    if value is not None and empty_once_hashed(value):
        raise ValueError(_NAMES_NOBODY)
    return value


NamesSomeoneStored = AfterValidator(_names_someone_stored)
"""For a reference that only finds what is stored (an opt-out's erasure): refuses one that hashes as the
empty reference (white space and the marks hashing trims, ``kit.ids._HASHED_EDGES``), but takes one that
is blank only by today's rule (Hangul fillers, variation selectors) or hides an invisible mark, hashed
exactly as given, so a shopper stored under it before such references were refused can still be erased;
it writes nothing a new customer could be made of."""


def _names_someone(value: str | None) -> str | None:
    if value is not None and names_nobody(value):
        raise ValueError(_NAMES_NOBODY)
    if value is not None and hides_a_mark(value):
        raise PydanticCustomError(INVALID_CUSTOMER_REF, "a customer reference holding an invisible character")
    return value


NamesSomeone = AfterValidator(_names_someone)
"""Refuses a customer reference that names nobody (blank, or ``=""``) or hides an invisible mark (``INVALID_CUSTOMER_REF``)."""


def require_exact_ref(ref: str, field: str = "customer_ref") -> None:
    """Refuses (422 ``invalid_customer_ref``, naming ``field``, never the value) a customer reference in
    exponent form, marked or not (``kit.text_markers.exponent_id``): its digits are not the customer's."""
    if exponent_id(ref):
        raise Invalid(too_long_number(field), code=INVALID_CUSTOMER_REF)
