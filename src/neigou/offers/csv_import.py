"""Catalog import from CSV or Excel (``.xlsx``, read by ``kit.tabular``): every row is checked
before anything is written, then all rows are written together in the caller's transaction with
set-based statements. A file with a bad row writes nothing and reports each bad row by its number.

Re-importing a sku that exists updates it: the file is the truth for the columns it has. A column
the file leaves out keeps its stored value; a column present with an empty cell clears an optional
field (image_url, shop_url, brand_code, category_code).
"""

from __future__ import annotations

import hashlib
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
from neigou.kit.columns import (
    Column,
    ErrorReport,
    ImportRefused,
    Layout,
    Row,
    RowError,
    invalid_fields,
)
from neigou.kit.errors import Conflict
from neigou.kit.i18n import Message
from neigou.kit.ids import whole_number
from neigou.kit.tabular import nul_row, read_upload
from neigou.offers import repository as repo
from neigou.offers.amounts import AmountError, yuan_to_fen
from neigou.offers.models import Product
from neigou.offers.schemas import ImportResult, ProductCreate
from neigou.programs.scope import organization_for_write

MAX_ROWS = 20_000
MAX_BYTES = 8 * 1024 * 1024
LAYOUT = Layout(
    Column("sku", ("商品编码", "货号")),
    Column("title", ("商品名称", "商品标题", "标题")),
    Column("price_fen", ("价格(分)", "售价(分)"), required=False),
    Column("price_yuan", ("价格(元)", "售价(元)", "价格", "售价"), required=False),
    Column("commission_rate_bp", ("佣金比例(bp)", "佣金率(bp)", "佣金比例(基点)")),
    Column("image_url", ("图片", "图片链接", "主图"), required=False),
    Column("shop_url", ("商品链接", "店铺链接"), required=False),
    Column("brand_code", ("品牌编码",), required=False),
    Column("category_code", ("类目编码",), required=False),
    Column("active", ("上架", "是否上架"), required=False),
    either=[("price_fen", "price_yuan")],
)
TRUE = {"1", "true", "yes", "y", "是", "上架"}
FALSE = {"0", "false", "no", "n", "否", "下架"}
MAX_REPORTED = 200
# Plans of one import: a sku created meanwhile by another import makes it plan again (and update it).
WRITE_TRIES = 3

Progress = Callable[[str, int, int], None]
"""Called as (phase, done, total) while validating ("check") and writing ("write")."""


@dataclass(frozen=True)
class _Row:
    line: int
    product: ProductCreate


def error_view(error: RowError) -> dict[str, Any]:
    """A refused row as the API, the console and the CLI show it (its message translated where shown)."""
    return {
        "row": error.row,
        "sku": error.key,
        "field": error.column,
        "code": error.code,
        "message": error.message,
    }


def _refused(report: ErrorReport) -> ImportRefused:
    """The whole file refused, listing every bad row (at most MAX_REPORTED)."""
    return ImportRefused.of_rows(report, limit=MAX_REPORTED, render=error_view)


def _integer(text: str, field: str) -> int:
    number = whole_number(text)
    if number is None:  # also past 18 digits: ``int()`` raises past 4300
        raise AmountError(
            "invalid_integer",
            Message("{field} must be a whole number.", field=field),
        )
    return number


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
                raise AmountError("invalid_boolean", Message("active must be true or false."))
            data["active"] = active in TRUE
    except AmountError as exc:
        exc.field = field
        raise
    for name in ("image_url", "shop_url", "brand_code", "category_code"):
        value = raw.get(name, "").strip()
        data[name] = value or None
    return data


def _check_row(line: int, raw: dict[str, str]) -> _Row | list[RowError]:
    sku = (raw.get("sku") or "").strip() or None
    try:
        return _Row(line=line, product=ProductCreate.model_validate(_fields(raw)))
    except AmountError as exc:
        return [RowError(line, sku, exc.code, exc.message, exc.field)]
    except ValidationError as exc:
        return invalid_fields(line, sku, exc.errors())


def _rows(content: bytes) -> tuple[frozenset[str], int, list[Row]]:
    """The columns the file carries, its header's width, and its rows; header problems refuse it."""
    table, rows = read_upload(content, LAYOUT, max_bytes=MAX_BYTES, max_rows=MAX_ROWS, bad_header=_refused)
    return table.header.names, table.header.width, rows


def check_file(
    session: Session, organization_id: int, content: bytes, progress: Progress | None = None
) -> tuple[frozenset[str], list[_Row]]:
    """Parse and check every row (CSV or .xlsx) for the organization's catalog (its brand and category
    codes); raises ImportRefused listing every bad row, else the columns the file carries and its rows."""
    columns, width, records = _rows(content)
    report = ErrorReport()
    rows: list[_Row] = []
    first_line: dict[str, int] = {}
    for done, record in enumerate(records, start=1):
        line = record.row
        if record.nul:  # a row error like any other: every bad row is reported, nothing is written
            report.add(nul_row(record))
            continue
        if len(record.cells) != width:
            report.add(
                RowError(
                    line,
                    None,
                    "wrong_column_count",
                    Message("Expected {expected} cells, got {got}.", expected=width, got=len(record.cells)),
                )
            )
            continue
        checked = _check_row(line, record.values)
        if isinstance(checked, list):
            report.extend(checked)
        elif checked.product.sku in first_line:
            sku = checked.product.sku
            report.add(
                RowError(
                    line,
                    sku,
                    "duplicate_sku",
                    Message("The sku is already on row {first_row}.", first_row=first_line[sku]),
                    "sku",
                )
            )
        else:
            first_line[checked.product.sku] = line
            rows.append(checked)
        if progress is not None:
            progress("check", done, len(records))
    report.extend(_reference_errors(session, organization_id, rows))
    if len(report):
        raise _refused(report)
    return columns, rows


def _references(
    session: Session, organization_id: int, rows: list[_Row]
) -> tuple[dict[str, int], dict[str, int]]:
    """Ids of the organization's brands and categories the rows name, by code (one query per chunk)."""
    brands = repo.brand_ids_by_code(
        session, organization_id, [r.product.brand_code for r in rows if r.product.brand_code]
    )
    categories = repo.category_ids_by_code(
        session, organization_id, [r.product.category_code for r in rows if r.product.category_code]
    )
    return brands, categories


def _reference_errors(session: Session, organization_id: int, rows: list[_Row]) -> list[RowError]:
    brands, categories = _references(session, organization_id, rows)
    errors: list[RowError] = []
    for row in rows:
        p = row.product
        if p.brand_code and p.brand_code not in brands:
            errors.append(
                RowError(
                    row.line,
                    p.sku,
                    "unknown_brand",
                    Message("{field} names no brand.", field="brand_code"),
                    "brand_code",
                )
            )
        if p.category_code and p.category_code not in categories:
            errors.append(
                RowError(
                    row.line,
                    p.sku,
                    "unknown_category",
                    Message("{field} names no category.", field="category_code"),
                    "category_code",
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
    """Check the whole file, then create new skus and update existing ones in one go (or, dry, count them).

    An import that finds some of its new skus created meanwhile (another import of the same file at
    the same moment) plans again with them as existing ones, as if it had come after: it updates them."""
    organization_id = organization_for_write(session)
    columns, rows = check_file(session, organization_id, content, progress)
    now = at or utcnow()
    for attempt in range(WRITE_TRIES):
        existing = repo.existing_skus(session, organization_id, [r.product.sku for r in rows])
        created, updated = _plan(
            session, organization_id, columns=columns, rows=rows, existing=existing, now=now
        )
        result = ImportResult(rows=len(rows), created=len(created), updated=len(updated), dry_run=dry_run)
        if dry_run:
            return result
        try:
            _write(session, created, updated, progress)
        except Conflict:
            if attempt + 1 == WRITE_TRIES:
                raise
            continue
        break
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


def _plan(
    session: Session,
    organization_id: int,
    *,
    columns: frozenset[str],
    rows: list[_Row],
    existing: dict[str, int],
    now: datetime,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The rows to insert (new skus of the organization) and the updates by id (its ``existing`` skus)."""
    brands, categories = _references(session, organization_id, rows)
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
            kept = {"image_url", "shop_url", "active"} - columns
            kept |= {f"{name}_id" for name in ("brand", "category") if f"{name}_code" not in columns}
            updated.append({"id": existing[p.sku], **{k: v for k, v in values.items() if k not in kept}})
        else:
            created.append({"sku": p.sku, "organization_id": organization_id, "created_at": now, **values})
    return created, updated


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
