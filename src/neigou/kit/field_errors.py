"""The product's own field errors: the validation error types its validators raise (``kit.names``,
``kit.employee_numbers``, ``kit.refs`` through ``kit.hidden_marks``, a chat group's platform id in
``groups.schemas``), which are the refusals' codes,
each with its message in the reader's language, which never quotes the value.

One mapping for every place a validation error is shown: a JSON request's 422 (``web.problems``), where
the type is also the refusal's code when it is the only one, and an import file's row error
(``kit.columns.invalid_fields``), whose code it is. Pure: no I/O (and no pydantic: the validators that
raise these errors import them from here)."""

from __future__ import annotations

from collections.abc import Mapping

from neigou.kit.hidden_marks import HIDDEN_MARK_MESSAGE, INVALID_CUSTOMER_REF
from neigou.kit.i18n import Message

# A name (or title) with nothing visible in it, once white space and invisible marks are dropped.
BLANK_NAME = "blank_name"
BLANK_NAME_MESSAGE = Message("A name is required: white space and invisible characters alone are none.")
# A label about a customer (a tag, a job) that reads as a phone number.
CONTACT_LABEL = "phone_label"
CONTACT_LABEL_MESSAGE = Message("A tag or label about a customer may not be a phone number.")
# An employee number with nothing left once normalised.
BLANK_EMPLOYEE_NO = "blank_employee_no"
BLANK_EMPLOYEE_NO_MESSAGE = Message(
    "An employee number is required: white space and invisible characters alone are none."
)
# An employee number holding a character the rule refuses.
INVALID_EMPLOYEE_NO = "invalid_employee_no"
INVALID_EMPLOYEE_NO_MESSAGE = Message(
    "An employee number is written in plain letters and digits: circled, styled or superscript "
    "characters, roman numeral signs, ligatures and letters without a one-to-one capital (such as ß "
    "or dotless ı) are not accepted."
)

# A platform's id for something of ours (a chat group's ``external_id``) with nothing visible in it.
BLANK_EXTERNAL_ID = "blank_external_id"
BLANK_EXTERNAL_ID_MESSAGE = Message(
    "An external id is required: white space and invisible characters alone are none."
)
# A platform's id holding an invisible mark inside it (it would be another id than the same text without it).
INVALID_EXTERNAL_ID = "invalid_external_id"
INVALID_EXTERNAL_ID_MESSAGE = Message(
    "An external id may not hold invisible characters (zero-width spaces, soft hyphens, variation "
    "selectors and the like): they would make it another id. Send it without them."
)

OWN_FIELD_ERRORS: Mapping[str, Message] = {
    BLANK_NAME: BLANK_NAME_MESSAGE,
    CONTACT_LABEL: CONTACT_LABEL_MESSAGE,
    BLANK_EMPLOYEE_NO: BLANK_EMPLOYEE_NO_MESSAGE,
    INVALID_EMPLOYEE_NO: INVALID_EMPLOYEE_NO_MESSAGE,
    BLANK_EXTERNAL_ID: BLANK_EXTERNAL_ID_MESSAGE,
    INVALID_EXTERNAL_ID: INVALID_EXTERNAL_ID_MESSAGE,
    # A customer reference holding an invisible mark the hashing would keep (another customer).
    INVALID_CUSTOMER_REF: HIDDEN_MARK_MESSAGE,
}
"""The message of each of the product's own validation error types."""
