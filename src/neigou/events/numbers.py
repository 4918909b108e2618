"""Employee numbers as the events' services take them (``kit.employee_numbers``): the one form, or a
422 refusal with its stable code (``blank_employee_no``, ``invalid_employee_no``) and a message that
never quotes the number."""

from __future__ import annotations

from neigou.kit import employee_numbers
from neigou.kit.errors import Invalid


def one_form(given: str) -> str:
    """``given`` in its one form; 422 when the rule refuses it."""
    try:
        return employee_numbers.employee_no(given)
    except employee_numbers.EmployeeNoRefused as refused:
        raise Invalid(refused.message, code=refused.code) from None
