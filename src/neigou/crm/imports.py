"""Import of a store's VIP records into a member's customer book, from CSV (UTF-8 or GB18030) or
Excel (``.xlsx``), read by ``kit.tabular``. Every row is checked before anything is written; a file
with a bad row writes nothing and reports each bad row by its number. A customer who opted out is
left out (``skipped``, with row and reason) and the other rows go in. A row names its customer by
the masked reference only: the report never repeats a phone number in clear.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from neigou.audit import service as audit
from neigou.crm import repository as repo
from neigou.crm.models import Consent, ConsentPurpose, Customer, CustomerSource, SpendingPower
from neigou.crm.schemas import CustomerCreate, ImportOut, ImportSkipped
from neigou.crm.service import OPTED_OUT, NewCustomer, check_not_opted_out, customer_exists, program_today
from neigou.kit.actor import Actor
from neigou.kit.columns import (
    Column,
    ErrorReport,
    ImportRefused,
    Layout,
    Row,
    RowError,
    header_key,
    invalid_fields,
)
from neigou.kit.hidden_marks import INVALID_CUSTOMER_REF
from neigou.kit.i18n import Message, translate_tree
from neigou.kit.phones import phone_cell
from neigou.kit.tabular import nul_row, read_upload
from neigou.kit.text_markers import exponent_id, spreadsheet_text, too_long_number
from neigou.programs.models import Member

MAX_ROWS = 20_000
MAX_BYTES = 8 * 1024 * 1024
MAX_REPORTED = 200
# The customer_ref column's headers that say it holds phone numbers: its cells are read as such
# (``kit.phones.phone_cell``). Under the others (a member card's or the shop's own code) a cell is a code.
PHONE_HEADERS = ("手机号", "手机", "会员手机号")
LAYOUT = Layout(
    Column("customer_ref", (*PHONE_HEADERS, "会员卡号", "客户编号")),
    Column("name", ("姓名", "客户姓名", "会员姓名"), required=False),
    Column("job", ("职业",), required=False),
    Column("spending_power", ("消费能力", "消费力"), required=False),
    Column("tags", ("标签", "偏好"), required=False),
    Column("birthday", ("生日", "出生日期"), required=False),
    Column("marketing_consent", ("同意营销", "营销授权"), required=False),
    unknown="ignore",
)
POWER = {
    "low": SpendingPower.LOW,
    "低": SpendingPower.LOW,
    "mid": SpendingPower.MID,
    "中": SpendingPower.MID,
    "high": SpendingPower.HIGH,
    "高": SpendingPower.HIGH,
}
TRUE = {"1", "true", "yes", "y", "是", "同意"}
FALSE = {"0", "false", "no", "n", "否", "不同意"}
TAG_SEPARATORS = re.compile(r"[,，;；、|/]")
IMPORT_SOURCE = "import"


@dataclass(frozen=True)
class _Row:
    line: int
    new: NewCustomer
    consent: bool | None


def error_view(error: RowError) -> dict[str, Any]:
    """A refused row as the API shows it: row, masked customer, field, code, message."""
    return {
        "row": error.row,
        "customer": error.key,
        "field": error.column,
        "code": error.code,
        "message": error.message,
    }


class _CellError(Exception):
    def __init__(self, field: str, code: str, message: Message) -> None:
        super().__init__(code)
        self.field, self.code, self.message = field, code, message


def _birthday(text: str) -> date | None:
    if not text:
        return None
    cleaned = text.replace("/", "-").replace(".", "-").split(" ")[0]
    try:
        return date.fromisoformat("-".join(part.zfill(2) for part in cleaned.split("-")))
    except ValueError:
        # The birthday is personal data: the report names the column, never repeats the value.
        raise _CellError(
            "birthday", "invalid_date", Message("The birthday is not a date (YYYY-MM-DD).")
        ) from None


_PHONE_HEADER_KEYS = frozenset(map(header_key, PHONE_HEADERS))
# A phone number cell holding more than the number; the reference is personal data: never repeated.
PHONE_WITH_TEXT = Message(
    "A phone number cell holds other text besides the number (a note, a name or a second number): "
    "put only the number in it."
)


def _customer_ref(cell: str, phones: bool) -> str:
    """The reference a customer_ref cell names, as written: its Excel text marker is dropped once, where
    every reference's is, when it is hashed (``kit.phones.customer_ref``). In a column of phone numbers
    the cell is read as one without its marker (``kit.phones.phone_cell``), and a mobile of another
    country grouped as a number is its E.164 form. A number in exponent form (a workbook's 19-digit
    member number read roughly) is refused: its digits are not the customer's."""
    if exponent_id(cell):  # read as it is hashed: its marker and invisible edges dropped first
        raise _CellError("customer_ref", INVALID_CUSTOMER_REF, too_long_number("customer_ref"))
    if not phones:
        return cell
    text = spreadsheet_text(cell)
    ref = phone_cell(text)
    if ref is None:
        raise _CellError("customer_ref", INVALID_CUSTOMER_REF, PHONE_WITH_TEXT)
    return cell if ref == text else ref


def _fields(raw: dict[str, str], phones: bool) -> tuple[dict[str, Any], bool | None]:
    values = {k: v.strip() for k, v in raw.items()}
    data: dict[str, Any] = {"customer_ref": _customer_ref(values.get("customer_ref", ""), phones)}
    for name in ("name", "job"):
        if values.get(name):
            data[name] = values[name]
    power = values.get("spending_power", "").lower()
    if power:
        if power not in POWER:
            raise _CellError(
                "spending_power",
                "invalid_spending_power",
                Message("spending_power must be low, mid or high."),
            )
        data["spending_power"] = POWER[power]
    data["tags"] = [t for t in TAG_SEPARATORS.split(values.get("tags", "")) if t.strip()]
    data["birthday"] = _birthday(values.get("birthday", ""))
    consent = values.get("marketing_consent", "").lower()
    if consent and consent not in TRUE | FALSE:
        raise _CellError(
            "marketing_consent",
            "invalid_boolean",
            Message("marketing_consent must be yes or no."),
        )
    return data, (consent in TRUE) if consent else None


def _check_row(
    line: int, raw: dict[str, str], secret_key: str, today: date, phones: bool
) -> _Row | list[RowError]:
    try:
        data, consent = _fields(raw, phones)
        checked = CustomerCreate.model_validate(data)
    except _CellError as exc:
        return [RowError(line, None, exc.code, exc.message, exc.field)]
    except ValidationError as exc:
        return invalid_fields(line, None, exc.errors())
    if checked.birthday is not None and not date(1900, 1, 1) <= checked.birthday <= today:
        message = Message("That birthday is not a plausible date of birth.")  # personal data: never repeated
        return [RowError(line, None, "invalid_birthday", message, "birthday")]
    return _Row(line, NewCustomer.of(secret_key, checked), consent)


def _records(content: bytes) -> tuple[list[Row], bool]:
    """The file's rows, and whether its customer_ref column is headed as phone numbers."""
    table, rows = read_upload(content, LAYOUT, max_bytes=MAX_BYTES, max_rows=MAX_ROWS, bad_header=_refused)
    return rows, header_key(table.header.labels.get("customer_ref", "")) in _PHONE_HEADER_KEYS


def _refused(report: ErrorReport) -> ImportRefused:
    """The whole file refused, listing every bad row (at most MAX_REPORTED)."""
    return ImportRefused.of_rows(report, limit=MAX_REPORTED, render=error_view)


@dataclass(frozen=True)
class Checked:
    """A file's rows to add, and the rows left out because their customer opted out."""

    rows: list[_Row]
    skipped: list[RowError]


def check_file(session: Session, *, member: Member, content: bytes, secret_key: str, at: datetime) -> Checked:
    """Every row checked (cells, repeats in the file, customers the book holds); raises
    ImportRefused listing every bad row. A customer who opted out (of the program or of all) is no
    error to fix: their row is left out and reported with its reason, the others go in."""
    report = ErrorReport()
    good: list[_Row] = []
    today = program_today(session, member.program_id, at)
    records, phones = _records(content)
    for record in records:
        if record.nul:  # a row error like any other: every bad row is reported, nothing is written
            report.add(nul_row(record))
            continue
        checked = _check_row(record.row, record.values, secret_key, today, phones)
        if isinstance(checked, list):
            report.extend(checked)
        else:
            good.append(checked)
    # Every row of a customer who opted out is left out (a repeat of one too), asked once for the file.
    opted_out = check_not_opted_out(session, member.program_id, [r.new.ref_hash for r in good])
    skipped = [
        RowError(r.line, r.new.masked, "customer_opted_out", OPTED_OUT, "customer_ref")
        for r in good
        if r.new.ref_hash in opted_out
    ]
    rows: list[_Row] = []
    first_line: dict[str, int] = {}
    for checked in good:
        if checked.new.ref_hash in opted_out:
            continue
        if checked.new.ref_hash in first_line:
            message = Message(
                "The same customer is already on row {first_row}.", first_row=first_line[checked.new.ref_hash]
            )
            report.add(
                RowError(checked.line, checked.new.masked, "duplicate_customer", message, "customer_ref")
            )
        else:
            first_line[checked.new.ref_hash] = checked.line
            rows.append(checked)
    held = repo.existing_refs(session, member.id, [r.new.ref_hash for r in rows])
    for row in rows:
        if row.new.ref_hash in held:
            message = Message("This customer is already in the member's customer book.")
            report.add(RowError(row.line, row.new.masked, "customer_exists", message, "customer_ref"))
    if len(report):
        raise _refused(report)
    return Checked(rows, skipped)


def import_customers(
    session: Session,
    *,
    member: Member,
    content: bytes,
    secret_key: str,
    actor: Actor,
    at: datetime,
    locale: str,
    dry_run: bool = False,
) -> ImportOut:
    """Check the whole file, then add every customer (and the consent decisions the file carries) but
    those who opted out, which ``skipped`` lists (messages translated into ``locale``)."""
    checked = check_file(session, member=member, content=content, secret_key=secret_key, at=at)
    rows = checked.rows
    skipped = [ImportSkipped.model_validate(translate_tree(error_view(e), locale)) for e in checked.skipped]
    total = len(rows) + len(skipped)
    if dry_run:
        return ImportOut(rows=total, created=len(rows), skipped=skipped, dry_run=True)
    customers = [
        Customer(
            program_id=member.program_id,
            member_id=member.id,
            customer_ref_hash=r.new.ref_hash,
            customer_ref_masked=r.new.masked,
            name=r.new.data.name,
            job=r.new.data.job,
            spending_power=r.new.data.spending_power,
            tags=list(r.new.data.tags),
            birthday=r.new.data.birthday,
            source=CustomerSource.IMPORT,
            preferred_categories=[],
            created_at=at,
            updated_at=at,
        )
        for r in rows
    ]
    try:
        with session.begin_nested():
            session.add_all(customers)
            session.flush()
    except IntegrityError as exc:  # a customer of the file added by another request meanwhile
        raise customer_exists() from exc
    session.add_all(
        Consent(
            program_id=member.program_id,
            customer_id=customer.id,
            purpose=ConsentPurpose.MARKETING,
            granted=row.consent,
            at=at,
            source=IMPORT_SOURCE,
            recorded_at=at,
        )
        for customer, row in zip(customers, rows, strict=True)
        if row.consent is not None
    )
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="customer.import",
        entity="member",
        entity_id=member.id,
        after={"created": len(customers), "skipped": len(skipped)},
        at=at,
    )
    return ImportOut(rows=total, created=len(customers), skipped=skipped, dry_run=False)
