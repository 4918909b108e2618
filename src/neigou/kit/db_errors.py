"""What a database error says of itself, whichever driver raised it: PostgreSQL's SQLSTATE (psycopg's
``sqlstate``) or SQLite's extended result code (``sqlite3``'s ``sqlite_errorcode`` and its name).

The one reader of those codes: SQLAlchemy wraps the driver's error (``DBAPIError.orig``), a driver's own
error (a COPY's, ``kit.bulk``) comes bare, and either is read here. ``web.admission.transient`` (a refusal
for the moment), ``kit.db.surely_not_committed`` (a COMMIT the database refused) and
``web.problems.key_taken`` (a unique key taken) decide on what it returns.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.exc import DBAPIError


@dataclass(frozen=True)
class DatabaseCode:
    """The database's own code of an error; all None when the database gave none (a lost connection,
    a client's timeout, an error of ours)."""

    sqlstate: str | None = None  # PostgreSQL's five characters ("23505", "40P01")
    sqlite_code: int | None = None  # SQLite's extended result code (2067)
    sqlite_name: str | None = None  # its name ("SQLITE_CONSTRAINT_UNIQUE", "SQLITE_BUSY")

    @property
    def given(self) -> bool:
        """Whether the database answered with a code of its own."""
        return self.sqlstate is not None or self.sqlite_code is not None


def driver_error(exc: BaseException | None) -> BaseException | None:
    """The driver's error: a SQLAlchemy error's ``orig``, else ``exc`` itself."""
    return exc.orig if isinstance(exc, DBAPIError) else exc


def database_code(exc: BaseException | None) -> DatabaseCode:
    """The SQLSTATE or SQLite result code ``exc`` carries, wrapped by SQLAlchemy or not."""
    orig = driver_error(exc)
    sqlstate = getattr(orig, "sqlstate", None)
    sqlite_code = getattr(orig, "sqlite_errorcode", None)
    sqlite_name = getattr(orig, "sqlite_errorname", None)
    return DatabaseCode(
        sqlstate=sqlstate if isinstance(sqlstate, str) else None,
        sqlite_code=sqlite_code
        if isinstance(sqlite_code, int) and not isinstance(sqlite_code, bool)
        else None,
        sqlite_name=sqlite_name if isinstance(sqlite_name, str) else None,
    )
