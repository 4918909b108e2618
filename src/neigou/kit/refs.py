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
record a customer refuse it as ``invalid_customer_ref`` ("write ids as text"): orders from a file and the
customer book's import in their own checks, every JSON body and form by :data:`NamesSomeone` (an order,
a claim, a reservation, a member, a quote, a customer added to the book), and a share link's signed click
ignores it (:func:`names_someone`).
"""

from __future__ import annotations

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

from neigou.kit.hidden_marks import EXPONENT_FORM, INVALID_CUSTOMER_REF, hides_a_mark
from neigou.kit.i18n import Message
from neigou.kit.ids import empty_once_hashed, names_nobody
from neigou.kit.text_markers import exponent_id

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
    if value is None:
        return value
    if names_nobody(value):
        raise ValueError(_NAMES_NOBODY)
    if exponent_id(value):  # marked or not (``'2.34568E+18``), a JSON float read by ``kit.json_ids`` too
        raise PydanticCustomError(
            INVALID_CUSTOMER_REF, "a customer reference in exponent form", {"form": EXPONENT_FORM}
        )
    if hides_a_mark(value):
        raise PydanticCustomError(INVALID_CUSTOMER_REF, "a customer reference holding an invisible character")
    return value


NamesSomeone = AfterValidator(_names_someone)
"""Refuses a customer reference that names nobody (blank, or ``=""``), is in exponent form, marked or not
(``INVALID_CUSTOMER_REF``, "write ids as text": ``kit.hidden_marks.customer_ref_refusal``), or hides an
invisible mark (``INVALID_CUSTOMER_REF``). Every input that records a customer from a JSON body or a
form takes its reference through it: an order, a claim, a reservation, a member, a quote, a customer
added to the book."""


def names_someone(ref: str) -> bool:
    """Whether :data:`NamesSomeone` takes ``ref``: for an input that ignores a reference it would refuse
    (a share link's signed click, ``web.landing.attributed_ref``), by the same rule."""
    try:
        _names_someone(ref)
    except ValueError:  # PydanticCustomError is one too
        return False
    return True
