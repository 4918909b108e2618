"""Catalog import from CSV: every row is checked before anything is written, then all rows are
written together in the caller's transaction with set-based statements. A file with a bad row
writes nothing and reports each bad row by its line number.

Re-importing a sku that exists updates it: the file is the truth for the columns it has. A column
the file leaves out keeps its stored value; a column present with an empty cell clears an optional
field (image_url, shop_url, brand_code, category_code).
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import insert, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from neigou.audit import service as audit
from neigou.kit.actor import Actor
from neigou.kit.bulk import chunks
from neigou.kit.clock import utcnow
from neigou.kit.errors import Conflict, Invalid, ProblemError
from neigou.kit.i18n import N_, Message
from neigou.offers import repository as repo
from neigou.offers.amounts import AmountError, yuan_to_fen
from neigou.offers.models import Product
from neigou.offers.schemas import ImportResult, ImportRowError, ProductCreate

MAX_ROWS = 20_000
MAX_BYTES = 8 * 1024 * 1024
REQUIRED = ("sku", "title", "commission_rate_bp")
PRICE_COLUMNS = ("price_fen", "price_yuan")
OPTIONAL = ("image_url", "shop_url", "brand_code", "category_code", "active")
KNOWN = (*REQUIRED, *PRICE_COLUMNS, *OPTIONAL)
TRUE = {"1", "true", "yes", "y", "是", "上架"}
FALSE = {"0", "false", "no", "n", "否", "下架"}
MAX_REPORTED = 200

Progress = Callable[[str, int, int], None]
"""Called as (phase, done, total) while validating ("check") and writing ("write")."""


class ImportRefused(ProblemError):
    """The file was refused whole; ``errors`` lists every bad row (at most MAX_REPORTED)."""

    status = 422
    code = "import_invalid"
    title = N_("ImportRefused")

    def __init__(self, errors: list[ImportRowError], *, total: int) -> None:
        shown = errors[:MAX_REPORTED]
        super().__init__(
            Message("{total} row error(s); nothing was imported.", total=total),
            extra={"errors": [e.model_dump() for e in shown], "error_count": total},
        )
        self.errors = shown


@dataclass(frozen=True)
class _Row:
    line: int
    product: ProductCreate


def decode(content: bytes) -> str:
    """UTF-8 (with or without the BOM Excel writes), else GB18030 as saved by Chinese Excel."""
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return content.decode("gb18030")
        except UnicodeDecodeError as exc:
            raise Invalid(Message("The file is neither UTF-8 nor GBK text."), code="bad_encoding") from exc


def _header_errors(header: list[str]) -> list[ImportRowError]:
    errors = [
        ImportRowError(
            row=1,
            sku=None,
            field=name,
            code="unknown_column",
            message=Message("Unknown column {name!r}.", name=name),
        )
        for name in header
        if name not in KNOWN
    ]
    for name in REQUIRED:
        if name not in header:
            errors.append(
                ImportRowError(
                    row=1,
                    sku=None,
                    field=name,
                    code="missing_column",
                    message=Message("Column {name!r} is required.", name=name),
                )
            )
    if not any(name in header for name in PRICE_COLUMNS):
        errors.append(
            ImportRowError(
                row=1,
                sku=None,
                field="price_fen",
                code="missing_column",
                message=Message("Column price_fen or price_yuan is required."),
            )
        )
    seen: set[str] = set()
    for name in header:
        if name in seen:
            errors.append(
                ImportRowError(
                    row=1,
                    sku=None,
                    field=name,
                    code="duplicate_column",
                    message=Message("Column {name!r} appears twice.", name=name),
                )
            )
        seen.add(name)
    return errors


def _integer(text: str, field: str) -> int:
    cleaned = text.strip()
    if not cleaned.isascii() or not cleaned.isdigit():
        raise AmountError(
            "invalid_integer",
            Message("{field} must be a whole number, got {text!r}.", field=field, text=text),
        )
    return int(cleaned)


def _fields(raw: dict[str, str]) -> dict[str, Any]:
    """A CSV row as ProductCreate input; raises AmountError (with the field name) on a bad cell."""
    data: dict[str, Any] = {"sku": raw.get("sku", "").strip(), "title": raw.get("title", "").strip()}
    field = "price_fen"
    try:
        if raw.get("price_fen", "").strip():
            data["price_fen"] = _integer(raw["price_fen"], "price_fen")
        elif raw.get("price_yuan", "").strip():
            field = "price_yuan"
            data["price_fen"] = yuan_to_fen(raw["price_yuan"])
        else:
            raise AmountError("required", Message("A price (price_fen or price_yuan) is required."))
        field = "commission_rate_bp"
        data["commission_rate_bp"] = _integer(raw.get("commission_rate_bp", ""), field)
        field = "active"
        active = raw.get("active", "").strip().lower()
        if active:
            if active not in TRUE | FALSE:
                raise AmountError(
                    "invalid_boolean", Message("active must be true or false, got {active!r}.", active=active)
                )
            data["active"] = active in TRUE
    except AmountError as exc:
        exc.field = field
        raise
    for name in ("image_url", "shop_url", "brand_code", "category_code"):
        value = raw.get(name, "").strip()
        data[name] = value or None
    return data


def _check_row(line: int, raw: dict[str, str]) -> _Row | list[ImportRowError]:
    sku = (raw.get("sku") or "").strip() or None
    try:
        return _Row(line=line, product=ProductCreate.model_validate(_fields(raw)))
    except AmountError as exc:
        return [ImportRowError(row=line, sku=sku, field=exc.field, code=exc.code, message=exc.message)]
    except ValidationError as exc:
        return [
            ImportRowError(
                row=line,
                sku=sku,
                field=".".join(str(p) for p in err["loc"]) or None,
                code="required" if err["type"] == "string_too_short" else "invalid_value",
                message=err["msg"],
            )
            for err in exc.errors()
        ]


def check_file(
    session: Session, content: bytes, progress: Progress | None = None
) -> tuple[list[str], list[_Row]]:
    """Parse and check every row; raises ImportRefused listing every bad row, else the header and rows."""
    if len(content) > MAX_BYTES:
        raise Invalid(
            Message("The file is larger than {megabytes} MB.", megabytes=MAX_BYTES // 1024 // 1024),
            code="file_too_large",
        )
    reader = csv.reader(io.StringIO(decode(content), newline=""))
    header = [name.strip().lower() for name in next(reader, [])]
    if not header:
        raise Invalid(Message("The file is empty."), code="empty_file")
    errors = _header_errors(header)
    if errors:
        raise ImportRefused(errors, total=len(errors))
    records = [(reader.line_num, cells) for cells in reader if any(cell.strip() for cell in cells)]
    if len(records) > MAX_ROWS:
        raise Invalid(Message("At most {max_rows} rows per file.", max_rows=MAX_ROWS), code="too_many_rows")
    rows: list[_Row] = []
    first_line: dict[str, int] = {}
    for done, (line, cells) in enumerate(records, start=1):
        if len(cells) != len(header):
            errors.append(
                ImportRowError(
                    row=line,
                    sku=None,
                    field=None,
                    code="wrong_column_count",
                    message=Message(
                        "Expected {expected} cells, got {got}.", expected=len(header), got=len(cells)
                    ),
                )
            )
            continue
        checked = _check_row(line, dict(zip(header, cells, strict=True)))
        if isinstance(checked, list):
            errors.extend(checked)
        elif checked.product.sku in first_line:
            sku = checked.product.sku
            errors.append(
                ImportRowError(
                    row=line,
                    sku=sku,
                    field="sku",
                    code="duplicate_sku",
                    message=Message(
                        "Sku {sku!r} is already on row {first_row}.", sku=sku, first_row=first_line[sku]
                    ),
                )
            )
        else:
            first_line[checked.product.sku] = line
            rows.append(checked)
        if progress is not None:
            progress("check", done, len(records))
    errors.extend(_reference_errors(session, rows))
    if errors:
        raise ImportRefused(sorted(errors, key=lambda e: e.row), total=len(errors))
    return header, rows


def _reference_errors(session: Session, rows: list[_Row]) -> list[ImportRowError]:
    brands = repo.brand_ids_by_code(session, [r.product.brand_code for r in rows if r.product.brand_code])
    categories = repo.category_ids_by_code(
        session, [r.product.category_code for r in rows if r.product.category_code]
    )
    errors: list[ImportRowError] = []
    for row in rows:
        p = row.product
        if p.brand_code and p.brand_code not in brands:
            errors.append(
                ImportRowError(
                    row=row.line,
                    sku=p.sku,
                    field="brand_code",
                    code="unknown_brand",
                    message=Message("Unknown brand {brand_code!r}.", brand_code=p.brand_code),
                )
            )
        if p.category_code and p.category_code not in categories:
            errors.append(
                ImportRowError(
                    row=row.line,
                    sku=p.sku,
                    field="category_code",
                    code="unknown_category",
                    message=Message("Unknown category {category_code!r}.", category_code=p.category_code),
                )
            )
    return errors


def import_products(
    session: Session,
    *,
    content: bytes,
    actor: Actor,
    dry_run: bool = False,
    at: datetime | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Check the whole file, then create new skus and update existing ones in one go (or, dry, count them)."""
    header, rows = check_file(session, content, progress)
    now = at or utcnow()
    existing = repo.existing_skus(session, [r.product.sku for r in rows])
    brands = repo.brand_ids_by_code(session, [r.product.brand_code for r in rows if r.product.brand_code])
    categories = repo.category_ids_by_code(
        session, [r.product.category_code for r in rows if r.product.category_code]
    )
    created: list[dict[str, Any]] = []
    updated: list[dict[str, Any]] = []
    for row in rows:
        p = row.product
        values: dict[str, Any] = {
            "title": p.title,
            "price_fen": p.price_fen,
            "commission_rate_bp": p.commission_rate_bp,
            "image_url": p.image_url,
            "shop_url": p.shop_url,
            "brand_id": brands.get(p.brand_code) if p.brand_code else None,
            "category_id": categories.get(p.category_code) if p.category_code else None,
            "active": p.active,
            "updated_at": now,
        }
        if p.sku in existing:
            # Only the columns the file carries overwrite what is stored.
            kept = {"image_url", "shop_url", "active"} - set(header)
            kept |= {f"{name}_id" for name in ("brand", "category") if f"{name}_code" not in header}
            updated.append({"id": existing[p.sku], **{k: v for k, v in values.items() if k not in kept}})
        else:
            created.append({"sku": p.sku, "created_at": now, **values})
    result = ImportResult(rows=len(rows), created=len(created), updated=len(updated), dry_run=dry_run)
    if dry_run:
        return result
    _write(session, created, updated, progress)
    audit.record(
        session,
        actor=actor,
        action="product.import",
        entity="product_import",
        entity_id=hashlib.sha256(content).hexdigest(),
        after={
            "rows": len(rows),
            "created": sorted(r["sku"] for r in created),
            "updated": sorted(r.product.sku for r in rows if r.product.sku in existing),
        },
        at=now,
    )
    return result


def _write(
    session: Session, created: list[dict[str, Any]], updated: list[dict[str, Any]], progress: Progress | None
) -> None:
    total, done = len(created) + len(updated), 0
    try:
        with session.begin_nested():
            for part in chunks(created):
                session.execute(insert(Product), part)
                done += len(part)
                if progress is not None:
                    progress("write", done, total)
            # Updates with their primary key form one executemany per chunk (ORM bulk UPDATE by id).
            for part in chunks(updated):
                session.execute(update(Product), part)
                done += len(part)
                if progress is not None:
                    progress("write", done, total)
    except IntegrityError as exc:
        raise Conflict(
            Message(
                "Another import or edit created some of these skus meanwhile; nothing was imported, try again."
            ),
            code="sku_taken",
        ) from exc
