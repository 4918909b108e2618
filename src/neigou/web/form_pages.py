"""What every console form does on submit: read the posted fields, and turn a refusal into messages
shown beside the fields they concern (``_form_errors.html``: a summary on top, ``field_error`` in place).

A refused form is rendered again with the reader's values and status 422 (or the refusal's own 4xx);
nothing of it is committed, because the request's transaction is rolled back first. A form's write goes
through :func:`attempt`::

    done = attempt(session, lambda: service.update_program(session, program=program, data=data, ...))
    if isinstance(done, FormRefused):
        return _form(request, ..., values=values, errors=done.errors, status_code=done.status)
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, TypeVar

from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from neigou.kit.errors import ProblemError
from neigou.offers.forms import FieldError

T = TypeVar("T")


@dataclass(frozen=True)
class FormRefused:
    """A write the domain refused: its messages by field, and the status the form is shown again with."""

    errors: list[FieldError]
    status: int


async def _read_form(request: Request) -> AsyncIterator[FormData]:
    """The posted form; its uploaded files are closed once the handler is done with them."""
    async with request.form() as form:
        yield form


FormDep = Annotated[FormData, Depends(_read_form)]


def default_timezone(request: Request) -> str:
    """The deployment's time zone, in which a console form's dates and times are read."""
    timezone: str = request.app.state.settings.default_timezone
    return timezone


def fields(form: FormData) -> dict[str, str]:
    """The text fields of a posted form (files left out)."""
    return {key: value for key, value in form.multi_items() if isinstance(value, str)}


def refusal(session: Session, exc: ProblemError) -> list[FieldError]:
    """The field errors of a refused write (a validation problem lists one per field), after rolling
    back whatever the request wrote before it was refused."""
    session.rollback()
    rows = exc.extra.get("errors")
    if isinstance(rows, list) and rows and isinstance(rows[0], dict) and "code" in rows[0]:
        return [FieldError(_field(r.get("field")), r["code"], r.get("message", "")) for r in rows]
    return [FieldError(None, exc.code, exc.detail)]


def attempt(
    session: Session, write: Callable[[], T], *, placed: Mapping[str, str] | None = None
) -> T | FormRefused:
    """Run one form's write in a savepoint: what it returns, or, when the domain refuses it
    (``ProblemError``), nothing written and the refusal's field errors with its status. ``placed``
    puts a refusal that names no field beside the field its code is about (``{"self_invite": "inviter_id"}``)."""
    try:
        with session.begin_nested():
            return write()
    except ProblemError as exc:
        return FormRefused(place(refusal(session, exc), placed or {}), exc.status)


def place(errors: list[FieldError], placed: Mapping[str, str]) -> list[FieldError]:
    """The errors, each that names no field put beside the field its code is about (``placed``)."""
    return [FieldError(placed.get(e.code), e.code, e.message) if e.field is None else e for e in errors]


def _field(value: object) -> str | None:
    if isinstance(value, list):  # pydantic's location: ("body", "name") → "name"
        names = [str(part) for part in value if part != "body"]
        return names[-1] if names else None
    return value if isinstance(value, str) else None
