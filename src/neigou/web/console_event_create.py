"""Console forms that set a live event up as ``POST /api/v1/events`` and
``POST /api/v1/events/{id}/employees`` do: the new-event form (times in the program's zone, how long
an order holds stock, the live stream's link, the price list as rows in yuan) and the whitelist pasted
as lines on the event's page. Both build the API's request bodies, so the same validation applies,
and write through the same service calls."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from neigou.auth.dependencies import ConsoleOperator
from neigou.events import service
from neigou.events.runtime import EventsRuntime
from neigou.events.schemas import EmployeeBody, EventBody
from neigou.kit.clock import utcnow
from neigou.kit.deps import SessionDep
from neigou.kit.employee_numbers import BLANK_EMPLOYEE_NO, INVALID_EMPLOYEE_NO
from neigou.kit.field_errors import field_message
from neigou.kit.i18n import Message
from neigou.kit.ids import whole_number
from neigou.offers.amounts import AmountError, local_to_utc, yuan_to_fen
from neigou.offers.forms import FieldError
from neigou.programs import repository as programs
from neigou.web.console_events import render_event
from neigou.web.form_pages import FormDep, FormRefused, attempt, fields
from neigou.web.pages import render

router = APIRouter(include_in_schema=False)
ROWS = 5
MAX_ROWS = service.MAX_ITEMS
ROW_FIELDS = ("sku", "price_yuan", "stock", "per_person_limit")
ITEM_FIELDS = {
    "sku": "sku",
    "price_fen": "price_yuan",
    "stock": "stock",
    "per_person_limit": "per_person_limit",
}
PLACED = {"invalid_window": "ends_at", "duplicate_sku": "items", "program_not_found": "program_id"}


def _form(
    request: Request,
    session: SessionDep,
    principal: ConsoleOperator,
    *,
    values: Mapping[str, str],
    rows: int,
    errors: list[FieldError] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    listed = programs.list_programs(session)
    return render(
        request,
        "console/events/new.html",
        status_code=status_code,
        principal=principal,
        programs=listed,
        values=values,
        rows=rows,
        errors=errors or [],
    )


@router.get("/console/events/new", response_class=HTMLResponse)
def new_event_page(request: Request, session: SessionDep, principal: ConsoleOperator) -> HTMLResponse:
    """The new-event form with a few empty price-list rows."""
    defaults = {
        "guests_per_employee": "0",
        "hold_minutes": str(EventBody.model_fields["hold_minutes"].default),
    }
    return _form(request, session, principal, values=defaults, rows=ROWS)


def _row_count(values: Mapping[str, str]) -> int:
    typed = values.get("rows", "")
    count = whole_number(typed, digits=12)
    return ROWS if count is None else min(max(count, 1), MAX_ROWS)


def _whole(text: str) -> int:
    number = whole_number(text, digits=12, signed=True)  # ASCII digits only, as the API reads them
    if number is None:
        raise AmountError("invalid_integer", Message("Write a whole number."))
    return number


def event_input(
    values: Mapping[str, str], rows: int, timezone: str
) -> tuple[EventBody | None, list[FieldError]]:
    """The form as the API's request body, or every field error (a row's fields are ``sku_3`` …)."""
    errors: list[FieldError] = []
    data: dict[str, Any] = {"program_id": values.get("program_id", ""), "name": values.get("name", "")}

    def read(name: str, parse: Any) -> Any:
        text = values.get(name, "").strip()
        if not text:
            errors.append(FieldError(name, "required", Message("This field is required.")))
            return None
        try:
            return parse(text)
        except AmountError as exc:
            errors.append(FieldError(name, exc.code, exc.message))
            return None

    data["starts_at"] = read("starts_at", lambda t: local_to_utc(t, timezone))
    data["ends_at"] = read("ends_at", lambda t: local_to_utc(t, timezone))
    data["guests_per_employee"] = read("guests_per_employee", _whole)
    if values.get("hold_minutes", "").strip():  # left empty: the API's default
        data["hold_minutes"] = read("hold_minutes", _whole)
    if values.get("stream_url", "").strip():
        data["stream_url"] = values["stream_url"].strip()
    items: list[dict[str, Any]] = []
    where: list[int] = []  # the form row of each item
    for row in range(rows):
        if not any(values.get(f"{f}_{row}", "").strip() for f in ROW_FIELDS):
            continue
        items.append(
            {
                "sku": values.get(f"sku_{row}", ""),
                "price_fen": read(f"price_yuan_{row}", yuan_to_fen),
                "stock": read(f"stock_{row}", _whole),
                "per_person_limit": read(f"per_person_limit_{row}", _whole),
            }
        )
        where.append(row)
    if not items:
        errors.append(FieldError("items", "required", Message("Add at least one sku.")))
    data["items"] = items
    if errors:
        return None, errors
    try:
        return EventBody.model_validate(data), []
    except ValidationError as exc:
        for err in exc.errors():
            loc = err["loc"]
            name = str(loc[0]) if loc else None
            if name == "items" and len(loc) >= 3 and isinstance(loc[1], int):
                name = f"{ITEM_FIELDS.get(str(loc[2]), str(loc[2]))}_{where[loc[1]]}"
            message = field_message(err["type"], name or "", err.get("ctx"))
            errors.append(FieldError(name, "validation_error", message))
        return None, errors


@router.post("/console/events/new", response_model=None)
def create_event(
    request: Request, session: SessionDep, principal: ConsoleOperator, form: FormDep
) -> Response:
    """Create the event typed into the form (``add_row`` only shows one more row); on success its page,
    on a refusal the form again with every error beside its field and the typed values kept."""
    values = fields(form)
    rows = _row_count(values)
    if "add_row" in values:
        return _form(request, session, principal, values=values, rows=min(rows + 1, MAX_ROWS))
    program_id = whole_number(values.get("program_id", ""), digits=12)
    program = None if program_id is None else programs.get_program(session, program_id)
    if program is None:
        missing = FieldError("program_id", "program_not_found", Message("Choose a program."))
        return _form(request, session, principal, values=values, rows=rows, errors=[missing], status_code=422)
    body, errors = event_input(values, rows, program.timezone)
    if body is None:
        return _form(request, session, principal, values=values, rows=rows, errors=errors, status_code=422)
    event = attempt(
        session,
        lambda: service.create_event(
            session,
            program_id=body.program_id,
            name=body.name,
            starts_at=body.starts_at,
            ends_at=body.ends_at,
            guests_per_employee=body.guests_per_employee,
            hold_minutes=body.hold_minutes,
            stream_url=body.stream_url,
            items=[service.ItemIn(i.sku, i.price_fen, i.stock, i.per_person_limit) for i in body.items],
            actor=principal.actor,
            at=utcnow(),
        ),
        placed=PLACED,
    )
    if isinstance(event, FormRefused):
        return _form(
            request,
            session,
            principal,
            values=values,
            rows=rows,
            errors=event.errors,
            status_code=event.status,
        )
    return RedirectResponse(f"/console/events/{event.id}", status_code=303)


def employee_lines(text: str) -> tuple[list[EmployeeBody], list[FieldError]]:
    """Pasted lines ``employee_no,name[,member_id]`` as the API's bodies, or an error for each bad line
    (each beside ``lines``, its message naming the line); blank lines are skipped. Numbers are compared
    in their one form (``kit.employee_numbers``): ``E001`` and ``Ｅ００１`` on two lines are one employee."""
    employees: list[EmployeeBody] = []
    errors: list[FieldError] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = "lines"
        parts = [p.strip() for p in re.split(r"[,，\t]", line)]
        if len(parts) not in (2, 3) or (len(parts) == 3 and whole_number(parts[2] or "0", digits=12) is None):
            message = Message("Line {n}: write employee number, name and an optional member ID.", n=number)
            errors.append(FieldError(where, "invalid_line", message))
            continue
        try:
            entry = EmployeeBody(
                employee_no=parts[0],
                name=parts[1],
                member_id=int(parts[2]) if len(parts) == 3 and parts[2] else None,
            )
        except ValidationError as invalid:
            if any(e["type"] == BLANK_EMPLOYEE_NO for e in invalid.errors()):
                message = Message("Line {n}: the employee number is blank once spaces are removed.", n=number)
                errors.append(FieldError(where, BLANK_EMPLOYEE_NO, message))
                continue
            if any(e["type"] == INVALID_EMPLOYEE_NO for e in invalid.errors()):
                message = Message(
                    "Line {n}: the employee number holds a character that is not accepted; type it in "
                    "plain letters and digits.",
                    n=number,
                )
                errors.append(FieldError(where, INVALID_EMPLOYEE_NO, message))
                continue
            message = Message("Line {n}: an employee number and a name of at most 120 characters.", n=number)
            errors.append(FieldError(where, "invalid_line", message))
            continue
        if entry.employee_no in seen:
            message = Message(
                "Line {n}: this employee number is already on line {first}.",
                n=number,
                first=seen[entry.employee_no],
            )
            errors.append(FieldError(where, "duplicate_employee", message))
            continue
        seen[entry.employee_no] = number
        employees.append(entry)
    if not employees and not errors:
        errors.append(FieldError("lines", "required", Message("Paste at least one line.")))
    return employees, errors


@router.post("/console/events/{event_id}/employees", response_model=None)
def add_employees(
    request: Request, event_id: int, session: SessionDep, principal: ConsoleOperator, form: FormDep
) -> Response:
    """Add the pasted employees to the whitelist; any bad line writes nothing and is reported."""
    service.require_event(session, event_id)
    text = fields(form).get("lines", "")
    employees, errors = employee_lines(text)
    if not errors:
        runtime: EventsRuntime = request.app.state.events
        added = attempt(
            session,
            lambda: service.add_employees(
                session,
                event_id=event_id,
                employees=[service.EmployeeIn(e.employee_no, e.name, e.member_id) for e in employees],
                actor=principal.actor,
                gate=runtime.gate,
            ),
            placed={"member_not_found": "lines", "duplicate_employee": "lines"},
        )
        if not isinstance(added, FormRefused):
            return RedirectResponse(f"/console/events/{event_id}?added={added}", status_code=303)
        errors = added.errors
    return render_event(request, session, principal, event_id, lines=text, errors=errors, status_code=422)
