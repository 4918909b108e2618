"""The one employee-number rule: what a whitelist stores and every lookup compares.

What a number is typed with but is not part of it goes: invisible marks wherever they stand
(``kit.invisible``: a byte-order mark a spreadsheet left, zero-width spaces and joiners, direction marks, a
soft hyphen a copy from a chat carried), white space at either end. Then only what cannot tell two
numbers apart is folded: width (full-width ``Ｅ００１`` is ``E001``, half-width katakana are katakana,
the ideographic space and the other blanks are a space) and letter case (``e001`` is ``E001``; ``é`` is
``É``), and canonically equivalent sequences are one (NFC: ``e`` and a combining acute are ``é``). So
``E001``, ``Ｅ００１`` and `` e001 `` are one employee, with one guest quota.

Nothing else is folded, because it would merge numbers that look different: a character whose
compatibility form is another (circled ``①``, roman numeral ``Ⅻ``, ligature ``ﬁ``, superscript ``²``,
styled ``𝐀``) and a letter whose case has no one-to-one counterpart (``ß`` is ``SS`` upper-cased,
dotless ``ı`` is ``I``, long ``ſ`` is ``S``, final ``ς`` is ``Σ``) are refused (``INVALID_EMPLOYEE_NO``)
instead of becoming ``E1``, ``XII``, ``SS1`` or ``I1``, another employee's number. A number of nothing
visible is refused too (``BLANK_EMPLOYEE_NO``). Pure: no I/O.

``FORM`` counts the forms stored numbers are in: 1 was migration 0036's rule (NFKC, which froze its own
copy), 2 this rule while rows 0036 rewrote still held the marks it kept (a soft hyphen…), 3 this rule
once migration 0038 rewrote those rows in it. The reservation gate names its seeded marker after it
(``events.gate_keys``), so a state seeded under another form is seeded again.
"""

from __future__ import annotations

import unicodedata

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

from neigou.kit import field_errors
from neigou.kit.i18n import Message
from neigou.kit.invisible import DROP_INVISIBLE

# The version of this rule (see above).
FORM = 3
# The validation error types (and the refusals' codes) of a number with nothing left once normalised and
# of one holding a character the rule refuses; they and their messages, which never quote what was typed,
# are among the product's own field errors (``kit.field_errors``).
BLANK_EMPLOYEE_NO = field_errors.BLANK_EMPLOYEE_NO
INVALID_EMPLOYEE_NO = field_errors.INVALID_EMPLOYEE_NO
# The longest stored number (``event_employees.employee_no``), checked on the normalised form.
MAX_LENGTH = 64
# The longest text read as a number (invisible marks and blanks around it included).
MAX_INPUT = 4 * MAX_LENGTH


class EmployeeNoRefused(ValueError):
    """A number the rule refuses: ``code`` is ``BLANK_EMPLOYEE_NO`` or ``INVALID_EMPLOYEE_NO``."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code

    @property
    def message(self) -> Message:
        """The refusal's message (never quoting the number)."""
        if self.code == BLANK_EMPLOYEE_NO:
            return field_errors.BLANK_EMPLOYEE_NO_MESSAGE
        return field_errors.INVALID_EMPLOYEE_NO_MESSAGE


def width_folded(c: str) -> str:
    """``c`` without its width: a full-width or half-width form is its ordinary character, a blank
    (no-break, em, ideographic… space) is a space; anything else is itself."""
    decomposition = unicodedata.decomposition(c)
    if decomposition.startswith(("<wide> ", "<narrow> ")):
        return chr(int(decomposition.split()[1], 16))
    return " " if c.isspace() and unicodedata.normalize("NFKC", c) == " " else c


def _one_to_one(c: str) -> bool:
    """Whether upper-casing ``c`` merges it with no other character: one character, whose own lower
    case is ``c``'s (not so for ``ß`` → ``SS``, ``ı`` → ``I``, ``ſ`` → ``S``, ``ς`` → ``Σ``)."""
    upper = c.upper()
    return len(upper) == 1 and upper.lower() == c.lower()


def employee_no(value: str) -> str:
    """``value`` in its one stored form; raises ``EmployeeNoRefused`` when nothing visible is left
    (``BLANK_EMPLOYEE_NO``) or a character would have to be merged with another (``INVALID_EMPLOYEE_NO``)."""
    if value.isascii():  # ASCII has no invisible mark and no other width; its case folds one-to-one
        number = value.strip().upper()
    else:
        text = unicodedata.normalize(
            "NFC", "".join(map(width_folded, value.translate(DROP_INVISIBLE))).strip()
        )
        if not all(map(_one_to_one, text)):
            raise EmployeeNoRefused(INVALID_EMPLOYEE_NO)
        number = unicodedata.normalize("NFC", text.upper())
        if not unicodedata.is_normalized("NFKC", number):
            raise EmployeeNoRefused(INVALID_EMPLOYEE_NO)  # a compatibility character: circled, ligature, …
    if not number:
        raise EmployeeNoRefused(BLANK_EMPLOYEE_NO)
    return number


def lookup_forms(value: str) -> tuple[str, ...]:
    """The forms a stored row may hold ``value`` in, the first preferred: ``value`` as given (a row
    stored before a rule, kept as it was), then its one form when the rule takes it (a row renamed)."""
    try:
        number = employee_no(value)
    except EmployeeNoRefused:
        return (value,)
    return (value,) if number == value else (value, number)


def _validated(value: str) -> str:
    try:
        number = employee_no(value)
    except EmployeeNoRefused as refused:
        raise PydanticCustomError(refused.code, "an employee number the rule refuses") from None
    if len(number) > MAX_LENGTH:
        raise PydanticCustomError(
            "string_too_long",
            "String should have at most {max_length} characters",
            {"max_length": MAX_LENGTH},
        )
    return number


EmployeeNumber = AfterValidator(_validated)
"""Validates a request's employee number and gives its normalised form (``BLANK_EMPLOYEE_NO`` when
nothing is left, ``INVALID_EMPLOYEE_NO`` for a character the rule refuses)."""
