"""Batch import of an order file (CSV, .xlsx or JSON lines), resumable: like a job, it owns one
transaction per batch.

Each batch commits its orders together with the checkpoint (the last file row it consumed), so a
crash loses at most the batch in flight and a rerun of the same file starts after the checkpoint.
Orders are idempotent on (program, external_id) anyway, so even a rerun from the start posts
nothing twice. Rows of one order must be consecutive in a CSV or .xlsx file, which is read by
``kit.tabular`` (UTF-8 or GB18030, streamed: a file of any size costs one batch of memory); a plain CSV
file is read as columns (``orders.import_columns``), with the same orders, errors and checkpoints.
"""

from __future__ import annotations

import hashlib
import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from neigou.audit import service as audit
from neigou.kit.actor import Actor
from neigou.kit.clock import utcnow
from neigou.kit.columns import RowError
from neigou.kit.instants import DEFAULT_SKEW
from neigou.kit.interpreter import bulk_work
from neigou.kit.tabular import read_table, text_lines
from neigou.orders.import_columns import ColumnOrders
from neigou.orders.import_rows import LAYOUT, Parsed, parse_jsonl
from neigou.orders.ingest import Prepared, finish, prepare
from neigou.orders.inputs import OrderIn
from neigou.orders.models import ImportCheckpoint, OrderSource

Progress = Callable[[int, int], None]  # (bytes done, bytes total)
ANALYZE_EVERY = 50
# Net allocations (container objects made minus those freed) between collections of the youngest
# generation during an import. The count rises as a batch is read and prepared and falls as a written
# batch is freed, swinging by about one batch (some 125,000 objects for 5,000 orders); above that swing
# the collector runs when unreachable objects pile up, not each time a batch's live objects pass it,
# which it would only walk and keep.
GC_YOUNG = 200_000
# How long a thread may hold the interpreter before one waiting for it asks for it back, during an
# import (the interpreter's default is 5 ms). The writer thread waits on the server a dozen times per
# batch (staging, COPYs, the write statement, the checkpoint, the commit) and the preparing and
# reading threads are busy in Python meanwhile: at 5 ms each of those answers waited about 0.5–1.5 ms
# for the interpreter (a round trip of 0.06 ms), at 0.5 ms about 0.2 ms.
SWITCH_INTERVAL_S = 0.0005
JSON_LINES = {".jsonl", ".ndjson", ".json"}


@dataclass
class ImportReport:
    """What an import run did."""

    file_digest: str
    checkpoint_key: str = ""  # ``checkpoint_key``: the file's digest for the program it is imported for
    resumed_from: int = 0
    rows_done: int = 0
    imported: int = 0
    duplicates: int = 0
    errors: list[RowError] = field(default_factory=list)
    finished: bool = False
    counted_errors: int = 0
    batches: int = 0


def checkpoint_key(file_digest: str, program_id: int | None) -> str:
    """The key of an import's checkpoint: the file's digest when its rows name their programs, else a
    digest of it with the program it is imported for. One file imported for two programs is two
    imports: the second neither "resumes" past the first's rows nor sends a crashed first's rest to
    another program."""
    if program_id is None:
        return file_digest
    return hashlib.sha256(f"{file_digest}:program:{program_id}".encode()).hexdigest()


def digest(path: Path) -> str:
    """SHA-256 of a file's content: with its program, the checkpoint's key (``checkpoint_key``)."""
    sha = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


def _parsed(path: Path, program_id: int | None, start: int, progress: Progress | None) -> Iterator[Parsed]:
    total = path.stat().st_size
    read = [0]
    jsonl = path.suffix.lower() in JSON_LINES
    if jsonl:
        items = parse_jsonl(text_lines(path, read), program_id=program_id, start=start)
    else:
        # A header that does not match refuses the file here; a row holding a NUL refuses its order only.
        # A plain CSV file is read as columns, anything else row by row, with the same orders.
        table = ColumnOrders(
            read_table(path, LAYOUT, nul_rows="report"), path, program_id=program_id, start=start
        )
        items = iter(table)
    shown = 0  # never backwards: the row reader taking over from the columns counts from the file's top
    for index, item in enumerate(items):
        yield item
        if progress is not None and index % 1000 == 0:
            shown = max(shown, min(read[0] if jsonl else table.bytes_read, total))
            progress(shown, total)
    if progress is not None:
        progress(total, total)


@dataclass
class _Prepared:
    """A batch read and checked on its face, ready for ``ingest``; ``last`` ends the file."""

    orders: list[OrderIn]
    errors: list[RowError]
    last_row: int
    last: bool = False


def _batches(items: Iterator[Parsed], start: int, size: int) -> Iterator[_Prepared]:
    batch = _Prepared([], [], start)
    for item, row in items:
        batch.last_row = row
        if isinstance(item, RowError):
            batch.errors.append(item)
        else:
            batch.orders.append(item)
        if len(batch.orders) >= size:
            yield batch
            batch = _Prepared([], [], row)
    batch.last = True
    yield batch


def _prefetched(batches: Iterator[_Prepared], depth: int = 2) -> Iterator[_Prepared]:
    """The batches, read by a thread of their own: the file is read and parsed for batch N+1 while the
    database writes batch N (the driver releases the GIL while it waits for the server)."""
    ready: queue.Queue[_Prepared | BaseException | None] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def read() -> None:
        try:
            for batch in batches:
                while not stop.is_set():
                    try:
                        ready.put(batch, timeout=0.2)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            ready.put(None)
        except BaseException as exc:  # handed to the consumer, raised there
            ready.put(exc)

    reader = threading.Thread(target=read, name="order-import-reader", daemon=True)
    reader.start()
    try:
        while True:
            item = ready.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        reader.join(timeout=5)


def import_file(
    factory: sessionmaker[Session],
    path: Path,
    *,
    secret_key: str,
    actor: Actor,
    program_id: int | None = None,
    batch_size: int = 2000,
    progress: Progress | None = None,
    now: Callable[[], datetime] = utcnow,
    skew: timedelta = DEFAULT_SKEW,
) -> ImportReport:
    """Import ``path`` (CSV or JSON lines) from its checkpoint on; returns counts and row errors."""
    file_digest = digest(path)
    key = checkpoint_key(file_digest, program_id)
    with factory() as session:
        checkpoint = session.get(ImportCheckpoint, key)
        start = checkpoint.rows_done if checkpoint else 0
    report = ImportReport(file_digest=file_digest, checkpoint_key=key, resumed_from=start, rows_done=start)
    # Everything alive now (modules, mappers, metadata) lives as long as the import: kept out of the
    # collector's generations, each collection scans only the batch's own objects. A batch allocates
    # hundreds of thousands of small objects that live until it is written: with the default
    # threshold (700) the young generations are collected thousands of times per batch and every
    # survivor is walked again, for nothing (the batch holds no reference cycles).
    with bulk_work(young_threshold=GC_YOUNG, switch_interval_s=SWITCH_INTERVAL_S):
        _import_batches(
            factory,
            path,
            report,
            program_id=program_id,
            start=start,
            batch_size=batch_size,
            progress=progress,
            secret_key=secret_key,
            now=now,
            skew=skew,
        )
    with factory() as session:
        audit.record(
            session,
            actor=actor,
            action="orders.import",
            entity="order_import",
            entity_id=key[:16],
            after={
                "file": path.name,
                "imported": report.imported,
                "duplicates": report.duplicates,
                "errors": len(report.errors),
                "resumed_from": report.resumed_from,
            },
            at=now(),
        )
        session.commit()
    return report


def _import_batches(
    factory: sessionmaker[Session],
    path: Path,
    report: ImportReport,
    *,
    program_id: int | None,
    start: int,
    batch_size: int,
    progress: Progress | None,
    secret_key: str,
    now: Callable[[], datetime],
    skew: timedelta,
) -> None:
    """Commit the file's batches one by one. The next batch is read by a thread while the current one
    is prepared; on PostgreSQL a writer thread writes and commits batch N on its own connection while
    batch N+1 is prepared (the driver releases the GIL while it waits for the server)."""
    with factory() as session:
        pipelined = session.get_bind().dialect.name == "postgresql"
    writer = (
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="order-import-writer") if pipelined else None
    )
    in_flight: Future[None] | None = None
    try:
        for item in _prefetched(_batches(_parsed(path, program_id, start, progress), start, batch_size)):
            at = now()
            prepared = None
            if item.orders:
                with factory() as session:
                    prepared = prepare(
                        session,
                        item.orders,
                        secret_key=secret_key,
                        source=OrderSource.IMPORT,
                        now=at,
                        clock=at,
                        skew=skew,
                    )
            if in_flight is not None:
                in_flight.result()  # batch N is committed before batch N+1 is written
            job = partial(_commit, factory, path, item, prepared, report=report, at=at)
            in_flight = writer.submit(job) if writer is not None else None
            if writer is None:
                job()
        if in_flight is not None:
            in_flight.result()
    finally:
        if writer is not None:
            writer.shutdown(wait=True)  # a batch being written is committed (or not) before this returns


def _analyze(session: Session) -> None:
    """Fresh planner statistics as the tables grow, so look-ups stay on their indexes (PostgreSQL)."""
    if session.connection().dialect.name == "postgresql":
        session.execute(text("ANALYZE orders, members, ledger_postings, ledger_entries, commissions"))


def _commit(
    factory: sessionmaker[Session],
    path: Path,
    item: _Prepared,
    prepared: Prepared | None,
    *,
    report: ImportReport,
    at: datetime,
) -> None:
    """Write a prepared batch and the checkpoint past it in one transaction."""
    key = report.checkpoint_key
    report.errors.extend(item.errors)
    with factory() as session:
        if report.batches in {1, 4} or report.batches % ANALYZE_EVERY == ANALYZE_EVERY - 1:
            _analyze(session)
        report.batches += 1
        result = finish(session, prepared) if prepared is not None else None
        if result is not None:
            report.imported += len(result.created)
            report.duplicates += result.duplicates
            report.errors.extend(result.errors)
        checkpoint = session.get(ImportCheckpoint, key)
        if checkpoint is None:
            checkpoint = ImportCheckpoint(
                file_digest=key,
                file_name=path.name[:300],
                rows_done=0,
                imported=0,
                duplicates=0,
                errors=0,
                finished=False,
                updated_at=at,
            )
            session.add(checkpoint)
        checkpoint.rows_done, checkpoint.updated_at, checkpoint.finished = item.last_row, at, item.last
        checkpoint.imported += len(result.created) if result else 0
        checkpoint.duplicates += result.duplicates if result else 0
        checkpoint.errors += len(report.errors) - report.counted_errors
        report.counted_errors = len(report.errors)
        session.commit()
    report.rows_done, report.finished = item.last_row, item.last
