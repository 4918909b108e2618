"""The seeded marker of an event's gate state, named for the employee-number form its whitelist holds.

The state's members set holds the stored employee numbers, and a reservation asks it in the one form
``kit.employee_numbers`` gives (``Shopper``). A state seeded while numbers were kept in another form (as
typed, before migration 0036; under migration 0036's rule) would refuse an employee whose number was
renamed ``not_invited``. So the marker's name carries the rule's version (``employee_numbers.FORM``): a
state seeded under another version has no marker under this name, counts as unseeded, as a state marked
stale does, and the next reservation seeds it again from the database, waiting for the stream as every
seeding does (``gate.ReservationGate.seed``). A change of the rule, or a migration rewriting the stored
numbers (0038), bumps ``FORM``; nothing else has to be done to the live events' states. The old marker
is left to expire with the event's other keys.
"""

from __future__ import annotations

from neigou.kit.employee_numbers import FORM


def seeded_key(base: str) -> str:
    """The seeded marker of the event state under ``base`` (``<base>:seeded:<form>``)."""
    return f"{base}:seeded:{FORM}"
