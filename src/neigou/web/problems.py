"""One renderer for every error: RFC 9457 problem+json with a stable ``code``."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from neigou.kit.errors import ProblemError, Unauthorized

log = structlog.get_logger(__name__)
PROBLEM_TYPE = "https://neigou.dev/problems/"
_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 401: "unauthenticated", 403: "forbidden"}
# A value its column cannot hold: PostgreSQL's numeric_value_out_of_range, string_data_right_truncation,
# datetime_field_overflow; SQLite's driver refuses an int past 64 bits before the query is sent.
_OUT_OF_RANGE_SQLSTATES = frozenset({"22003", "22001", "22008"})
_SQLITE_OVERFLOW = "too large to convert to SQLite INTEGER"
_NUL = "cannot contain NUL"  # psycopg refuses a text parameter holding "\x00"
_UNSTORABLE = {
    "value_out_of_range": "A number or text in the request is too large to store; ids and amounts stop at "
    "9223372036854775807. 请求中的数字或文字超出可保存的范围。",
    "nul_character": "Text in the request contains a NUL character (\\u0000), which cannot be stored. "
    "请求中的文字含有空字符（\\u0000），无法保存。",
}


def unstorable(exc: BaseException) -> str | None:
    """The problem code when the database refused a value it cannot hold, None for anything else."""
    if isinstance(exc, DataError):
        if getattr(exc.orig, "sqlstate", None) in _OUT_OF_RANGE_SQLSTATES:
            return "value_out_of_range"
        return "nul_character" if _NUL in str(exc.orig) else None
    if isinstance(exc, OverflowError) and _SQLITE_OVERFLOW in str(exc):
        return "value_out_of_range"
    return None


def problem(status: int, code: str, title: str, detail: str, **extra: Any) -> JSONResponse:
    """A problem+json response."""
    body = {
        "type": PROBLEM_TYPE + code,
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


def _is_page(request: Request) -> bool:
    return request.url.path.startswith(("/console", "/m/"))


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""

    @app.exception_handler(ProblemError)
    async def _problem(request: Request, exc: ProblemError) -> Response:
        if isinstance(exc, Unauthorized) and request.url.path.startswith("/console"):
            return RedirectResponse("/console/login?next=" + request.url.path, status_code=303)
        if isinstance(exc, Unauthorized) and request.url.path.startswith("/m/"):
            return RedirectResponse("/m/expired", status_code=303)
        return problem(exc.status, exc.code, type(exc).__name__, exc.detail, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> Response:
        errors = [
            {
                "field": ".".join(str(p) for p in err.get("loc", ()) if p != "body"),
                "message": err.get("msg", ""),
                "type": err.get("type", ""),
            }
            for err in exc.errors()
        ]
        fields = ", ".join(e["field"] or "body" for e in errors)
        return problem(
            422,
            "validation_error",
            "Invalid request",
            f"Some fields are missing or malformed: {fields}. 请求字段缺失或格式错误。",
            errors=errors,
        )

    @app.exception_handler(DataError)
    @app.exception_handler(OverflowError)
    async def _unstorable(request: Request, exc: Exception) -> Response:
        # The transaction is already rolled back (kit.deps); any other DataError or OverflowError is a bug.
        code = unstorable(exc)
        if code is None:
            raise exc
        log.warning("request.unstorable_value", path=request.url.path, code=code, error=repr(exc)[:500])
        return problem(422, code, "Value cannot be stored", _UNSTORABLE[code])

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> Response:
        code = _HTTP_CODES.get(exc.status_code, f"http_{exc.status_code}")
        return problem(exc.status_code, code, str(exc.detail), str(exc.detail))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("request.failed", path=request.url.path, error=repr(exc))
        return problem(
            500,
            "internal_error",
            "Internal error",
            "Something went wrong on our side; nothing was saved. 服务器内部错误，本次操作未保存。",
        )
