"""Database: declarative base, engines and sessions for SQLite and PostgreSQL."""

from __future__ import annotations

import enum
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Connection,
    DateTime,
    Engine,
    Enum,
    Integer,
    MetaData,
    String,
    create_engine,
    event,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import RootTransaction, make_url
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from neigou.kit.bulk import insert_ignoring_duplicates
from neigou.kit.clock import as_utc, ensure_aware
from neigou.kit.db_errors import database_code
from neigou.kit.errors import Conflict, NotFound, ProblemError
from neigou.kit.i18n import Text
from neigou.kit.scoping import holds_only_scope
from neigou.kit.settings import Settings

ModelT = TypeVar("ModelT")
RowT = TypeVar("RowT", bound="Base")

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC that always comes back zone-aware, on every backend."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        aware = ensure_aware(value)
        return aware.replace(tzinfo=None) if dialect.name == "sqlite" else aware

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else as_utc(value)


JSONType = JSON().with_variant(JSONB(), "postgresql")

# Ids are 64-bit; on SQLite only a column typed INTEGER PRIMARY KEY numbers itself (the rowid).
BigId = BigInteger().with_variant(Integer, "sqlite")

# Ids, codes and keys of the bulk-written tables are compared byte by byte on PostgreSQL
# (``COLLATE "C"``): they only meet equality, prefixes and ordering for display, where byte order is
# UTF-8's code-point order, the order of a ``C.UTF-8`` database. Their index entries are then compared
# with ``memcmp`` instead of through the database's locale (``strcoll``): about 4% of the server's
# CPU in an order import (migration 0031, docs/benchmarks.md).
BYTEWISE = "C"


def key_string(length: int) -> String:
    """A ``VARCHAR(length)`` compared byte by byte on PostgreSQL (``BYTEWISE``), plain on SQLite."""
    return String(length).with_variant(String(length, collation=BYTEWISE), "postgresql")


class Base(DeclarativeBase):
    """Base of every table; relationships are declared ``lazy="raise"`` (no hidden N+1)."""

    metadata = MetaData(naming_convention=NAMING)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine with the pragmas our SQLite use needs (foreign keys, WAL, busy wait).

    A statement's bound values stay out of its errors' text (``hide_parameters``): a failed statement's
    traceback is logged, and its values can be a customer's name, a token's hash or an address."""
    kwargs.setdefault("hide_parameters", True)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        kwargs.setdefault("connect_args", {"check_same_thread": False, "timeout": 30})
        engine = create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            # With WAL, NORMAL keeps the database consistent on a crash and skips an fsync per commit.
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @event.listens_for(engine, "before_cursor_execute")
        def _sqlite_locking_read_takes_the_write_lock(
            conn: Connection, _cursor: Any, _sql: str, _params: Any, context: Any, _many: bool
        ) -> None:
            # SQLite has no row locks and renders no FOR UPDATE; the driver runs a SELECT outside any
            # transaction. A locking read (``with_for_update``) therefore begins the transaction with
            # the database's write lock (IMMEDIATE, waiting on busy_timeout) before it reads: a second
            # locking read waits until this transaction ends and then reads what it committed. An
            # open transaction already holds the write lock: the driver opens one only right before
            # an INSERT, UPDATE, DELETE or REPLACE (which takes the lock first), and this hook, the
            # savepoint's and ``hold_write_lock`` open theirs with BEGIN IMMEDIATE.
            if getattr(getattr(context, "compiled", None), "statement", None) is None:
                return
            if getattr(context.compiled.statement, "_for_update_arg", None) is None:
                return
            _begin_with_the_write_lock(conn)

        @event.listens_for(engine, "savepoint")
        def _sqlite_savepoint_inside_a_transaction(conn: Connection, _name: str) -> None:
            # The driver begins a transaction only before a write: a SAVEPOINT opened first would
            # begin SQLite's own outermost transaction, and its RELEASE would commit. Begin the
            # transaction the savepoint belongs to first (IMMEDIATE: a savepoint guards a write, and
            # taking the write lock now waits on busy_timeout instead of failing on a stale snapshot).
            _begin_with_the_write_lock(conn)

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def _begin_with_the_write_lock(conn: Connection) -> None:
    """On SQLite, begin the driver's transaction with the database's write lock (BEGIN IMMEDIATE,
    waiting on busy_timeout) unless one is open already, which holds it already: the driver opens one
    only right before an INSERT, UPDATE, DELETE or REPLACE, ``make_engine``'s hooks and
    ``hold_write_lock`` with this."""
    dbapi_conn = conn.connection.dbapi_connection
    if dbapi_conn is not None and not dbapi_conn.in_transaction:
        dbapi_conn.execute("BEGIN IMMEDIATE")


def hold_write_lock(session: Session) -> None:
    """Hold SQLite's write lock from now until the session's transaction ends (nothing on PostgreSQL).

    The driver runs SELECTs outside any transaction and begins one only at the first write, so a check
    read before it (is this customer opted out?) can predate another transaction's commit and still be
    written on: taking the lock before the check makes every other writer wait for this commit (and
    this one for theirs), the serialization PostgreSQL's advisory locks give per customer."""
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        _begin_with_the_write_lock(connection)


def read_snapshot(session: Session) -> None:
    """Begin a transaction on ``session`` whose reads all see one snapshot of the database, whatever
    other connections commit meanwhile, until it ends; the caller ends it (``session.rollback()``) and
    writes nothing in it. A transaction already open is rolled back first (its isolation is set) when it
    only read; a session holding work a rollback would lose is refused (``RuntimeError``, a caller's
    mistake, never rolled back): objects added, changed or deleted and not yet flushed, an open
    savepoint, or a transaction that wrote or holds locks (``_work_held``).

    On PostgreSQL a ``REPEATABLE READ``, ``READ ONLY`` transaction (READ COMMITTED, the default, takes
    a snapshot per statement); the pool resets both when the connection goes back. On SQLite the driver
    runs a SELECT outside any transaction, each statement in a snapshot of its own: a deferred ``BEGIN``
    makes them one read transaction, which in WAL mode takes its snapshot at its first read and keeps it
    while other connections commit (``tests/kit/test_read_snapshots.py``, on both databases)."""
    held = _work_held(session)
    if held is not None:
        raise RuntimeError(
            f"read_snapshot would roll back {held}: end the session's transaction before reading a snapshot"
        )
    session.rollback()
    if session.get_bind().dialect.name == "postgresql":
        options = {"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
        session.connection(execution_options=options)
        return
    connection = session.connection()
    dbapi_conn = connection.connection.dbapi_connection
    if connection.dialect.name == "sqlite" and dbapi_conn is not None and not dbapi_conn.in_transaction:
        dbapi_conn.execute("BEGIN")
        begun = connection.get_transaction()
        if begun is not None:
            _sqlite_snapshots.add(begun)


# The transactions ``read_snapshot`` began on SQLite (the driver's transaction open, yet nothing held).
_sqlite_snapshots: weakref.WeakSet[RootTransaction] = weakref.WeakSet()


def _work_held(session: Session) -> str | None:
    """What a rollback of ``session`` would lose, or None when it only read. The database says whether
    the transaction wrote, however it wrote (a flush, a statement of its own, a COPY through the driver):
    on PostgreSQL a transaction takes an id at its first write or row lock; on SQLite the driver opens
    its transaction only right before a write, and ``make_engine``'s hooks open one with the write lock
    for a locking read or a savepoint. A lock is work too: the caller took it for a write to come."""
    if session.new or session.deleted or any(session.is_modified(row) for row in session.dirty):
        return "changes not yet flushed"
    if not session.in_transaction():
        return None
    if session.in_nested_transaction():
        return "an open savepoint"
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        wrote = connection.scalar(text("SELECT pg_current_xact_id_if_assigned() IS NOT NULL"))
    else:
        dbapi_conn = connection.connection.dbapi_connection
        wrote = bool(getattr(dbapi_conn, "in_transaction", False))
        wrote = wrote and connection.get_transaction() not in _sqlite_snapshots
    return "a transaction that wrote or holds locks" if wrote else None


def engine_for(settings: Settings) -> Engine:
    """A web process's engine: its pool holds a connection for every admitted request plus a reserve,
    and a checkout that still finds none gives up after ``db_pool_timeout_s`` (answered 503)."""
    parsed = make_url(settings.database_url)
    if parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:"):
        return make_engine(settings.database_url)  # one shared connection: nothing to size
    return make_engine(
        settings.database_url,
        pool_size=settings.pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout_s,
    )


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded values after commit (responses are built after it)."""
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)


@contextmanager
def opened_database(url: str) -> Iterator[sessionmaker[Session]]:
    """Sessions for a caller that lives shorter than its process (a CLI command): an engine of its own,
    disposed on the way out however the caller ends, so every connection it opened is closed when it
    returns rather than whenever the garbage collector finds the engine.

    ``with opened_database(settings.database_url) as factory: ...``"""
    engine = make_engine(url)
    try:
        yield make_session_factory(engine)
    finally:
        engine.dispose()


def transaction(factory: sessionmaker[Session]) -> Transaction:
    """One unit of work owned by the caller (a job, a CLI command): commit or roll back.

    ``with transaction(factory) as session: ...``"""
    return Transaction(factory())


class Transaction:
    """The unit of ``transaction``: a class rather than a generator, since a claim refused by the Redis
    gate spends much of its time here and contextlib's generator plumbing cost a third of it."""

    __slots__ = ("session",)

    def __init__(self, session: Session) -> None:
        self.session = session

    def __enter__(self) -> Session:
        return self.session

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        session = self.session
        try:
            if exc_type is not None:
                session.rollback()
                return
            try:
                commit_if_used(session)
            except BaseException:
                session.rollback()
                raise
        finally:
            close_if_used(session)


def close_if_used(session: Session) -> None:
    """Close the session unless it is out of any transaction and holds no instance (a claim answered
    by the Redis gate alone, a unit whose commit gave its connection back and loaded nothing): such a
    session has nothing to give back, and SQLAlchemy's close would still walk its empty identity map."""
    if session.in_transaction() or next(iter(session), None) is not None:
        session.close()


def commit_if_used(session: Session) -> None:
    """Commit the session's transaction; a session that never began one and holds no after-commit work
    (a claim answered by the Redis gate alone) has nothing to commit and skips the round of hooks."""
    if session.in_transaction() or not holds_only_scope(session):
        session.commit()


def surely_not_committed(exc: BaseException | None) -> bool:
    """Whether ``exc``, raised by a commit, says for sure that nothing was committed: the database
    answered the COMMIT with an error (a deferred constraint, SQLite busy, a serialization failure:
    the driver's error carries the database's code) over a connection still up, or a refusal of ours
    (``ProblemError``) came before the COMMIT. A lost connection, or an error the database did not
    give (a client's timeout, an interruption), leaves the outcome unknown: False."""
    if isinstance(exc, ProblemError):
        return True
    if not isinstance(exc, DBAPIError) or exc.connection_invalidated:
        return False
    code = database_code(exc)
    if code.sqlstate is not None:  # psycopg: the server's SQLSTATE
        return not code.sqlstate.startswith(("08", "57P"))  # connection failures, the server going away
    return code.sqlite_code is not None  # SQLite's own result code


def str_enum(enum_cls: type[enum.StrEnum], *, bytewise: bool = False) -> Enum:
    """A portable enum column storing the members' values (``"last_click"``), not their names;
    ``bytewise`` compares them byte by byte on PostgreSQL (``BYTEWISE``), as ``key_string`` does."""

    def make(collation: str | None = None) -> Enum:
        made = Enum(
            enum_cls,
            native_enum=False,
            length=20,
            values_callable=lambda cls: [m.value for m in cls],
            validate_strings=True,
        )
        made.collation = collation  # Enum takes no collation argument; its VARCHAR renders this one
        return made

    return make().with_variant(make(BYTEWISE), "postgresql") if bytewise else make()


def get_or_404(
    session: Session, model: type[ModelT], ident: Any, *, code: str, detail: Text, lock: bool = False
) -> ModelT:
    """The row of ``model`` with primary key ``ident``, or ``NotFound`` with the caller's stable code;
    ``lock`` reads it ``FOR UPDATE`` (a state change follows), and its values as the lock finds them: a
    row already loaded in this session is refreshed (``populate_existing``), or a change committed
    between the first read and the lock would be decided on from the stale copy."""
    row = session.get(model, ident, with_for_update=True if lock else None, populate_existing=lock)
    if row is None:
        raise NotFound(detail, code=code)
    return row


def insert_unique(session: Session, row: object, conflict: Conflict) -> None:
    """Insert ``row`` now, or raise ``conflict`` when a unique key (a code, a sku) is taken. The insert
    runs in a savepoint, so losing a race on the key is a 409 and the caller's other work survives."""
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError as exc:
        raise conflict from exc


def insert_if_free(session: Session, model: type[RowT], values: dict[str, Any]) -> RowT | None:
    """Insert a row of ``model`` (numbered by its ``id``) from ``values`` and return it, or None when one
    of its unique keys is taken, also by a request that took it since the caller checked. One statement
    and no savepoint: a create that is called often (a member, a group) opens no subtransaction."""
    inserted = insert_ignoring_duplicates(session, model, [values], returning=["id"])
    return session.get(model, inserted[0][0]) if inserted else None


def row_to_put(
    session: Session, model: type[RowT], values: dict[str, Any], *, key: Sequence[str]
) -> tuple[RowT, bool]:
    """The row of ``model`` whose unique ``key`` has ``values``'s values, held until commit, and
    whether this call inserted it (from ``values``, when no row had the key): what a PUT of a
    one-per-key row (a program's settings, a member's payee) changes. Two PUTs of the same key at once
    both find the one row, the second once the first has committed, and each applies its change to it
    as it would one after the other: the insert skips a key taken meanwhile instead of failing on it
    (which was a 500), and the read after it locks the row (``FOR UPDATE`` on PostgreSQL; on SQLite
    the insert took the database's write lock). A table numbered by a sequence may skip a number."""
    inserted = insert_ignoring_duplicates(session, model, [values], index_elements=key, returning=key)
    row = session.scalars(
        select(model)
        .filter_by(**{name: values[name] for name in key})
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    return row, bool(inserted)


def contains(text: str) -> str:
    """The ``LIKE`` pattern of a value holding ``text`` anywhere, its wildcards escaped with a
    backslash (use with ``escape="\\"``)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
