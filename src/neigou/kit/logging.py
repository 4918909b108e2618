"""Structured logs: key=value on a terminal, JSON lines when NEIGOU_LOG_JSON is set.

Every log line goes through one redaction step, whichever library wrote it: bearer tokens, secrets,
passwords, cookies, ``token=``, ``key=`` and ``sign=`` in URLs (a robot's key, a signed robot call) and a
shopper's ``customer_ref=``, ``phone=`` or ``openid=``, their keys read as a server decodes them
(``customer%5Fref=``), API tokens and sign-in codes (``ngt_…``, ``ngc_…``) and mainland phone numbers
however they are written never reach the log (the rules are in ``kit.redact``); a field whose name
names a secret or a shopper's identity by the same rule a query's key is read with
(``kit.redact.names_secret``: ``webhook_secret``, ``api_key``, ``x_token``, ``target_sealed``,
``customerRef``, ``openid``) is redacted whatever it holds, so a field is named for what it holds (a
problem's code is logged as ``problem``, a job's key as ``run``). An error is logged by its class and the
redacted first line of its message (``kit.tracebacks.error_summary``: never a database error's
``DETAIL`` or its statement's bound values), and a traceback as its frames (file, line, function), the
chained causes by class alone (``kit.tracebacks.safe_traceback``): no local variables, no causes'
messages, whichever logger writes it (uvicorn's "Exception in ASGI application", huey's failed task).
A Python warning is a log line as well (``python.warning``, :func:`log_warning`), not raw text on stderr.

Text an outside party sent back (a robot's or webhook receiver's refusal, an HTTP error) is kept on rows
and shown on pages, not only logged: :func:`redact_reply` takes the values of the called URL's query (the
robot's key), the user and password before its host, and the secrets of its path
(``kit.urls.path_secrets``: a Feishu or Slack hook's token, a Telegram bot's, a JWT, a matrix parameter
as it stands in the URL, its value alone only when it is a secret, as written, decoded or encoded) out of it (:func:`redact_url`), then what a log
line loses (a phone number the receiver echoed, a token), before it is stored, and before it is cut to its
column's length.
"""

from __future__ import annotations

import logging
import re
import sys
import warnings
from collections.abc import Mapping, MutableMapping
from typing import Any, TextIO
from urllib.parse import parse_qsl, quote, quote_plus, unquote

import structlog

from neigou.kit.redact import REDACTED, names_secret, redact_text, short_code
from neigou.kit.tracebacks import SUMMARY_LIMIT, error_summary, exception_of, safe_traceback
from neigou.kit.urls import path_secrets

__all__ = [
    "MIN_REDACTED",
    "QUIET_LOGGERS",
    "REDACTED",
    "RedactingFilter",
    "configure_logging",
    "error_summary",
    "format_exception",
    "log_warning",
    "redact_cut",
    "redact_event",
    "redact_reply",
    "redact_text",
    "redact_url",
    "redact_value",
    "uvicorn_log_config",
]

# A query value shorter than this (``msgtype=1``) is not a credential; replacing it would garble text.
MIN_REDACTED = 4
# Libraries whose informational lines carry the URLs they call.
QUIET_LOGGERS = ("httpx", "httpcore")


def redact_cut(text: str, limit: int) -> str:
    """``text`` redacted, then cut to ``limit`` characters: cut first, a phone number or token that
    straddles the cut would lose the part the patterns recognise and leave its other part behind."""
    return redact_text(text)[:limit]


def redact_url(text: str, *urls: str) -> str:
    """``text`` without the values of the query of any of ``urls`` (a robot's key, a signed call's
    ``sign``), the user and password before their host, and the secrets of their paths
    (``kit.urls.path_secrets``: a Feishu or Slack hook's token, a Telegram bot's, a JWT, a matrix
    parameter as it stands, its value alone only when it is a secret), however the text writes them (as
    given, decoded or percent-encoded): what is stored on a row, shown or logged after calling such a URL. Redact first, then cut to length, so that no part of
    a value is left at the cut."""
    values: set[str] = set()
    for url in urls:
        query = url.partition("?")[2].partition("#")[0]  # never refused, however malformed the URL
        values.update(v for part in query.split("&") if (v := part.partition("=")[2]))
        values.update(path_secrets(url))
        # a user and password before the host (``https://user:password@gateway/``): httpx names them
        netloc = re.split(r"[/?#]", url.partition("://")[2], maxsplit=1)[0] if "://" in url else ""
        userinfo = netloc.rpartition("@")[0]
        for value in (userinfo, userinfo.partition(":")[2]):
            values.update({value, unquote(value)})
        for _, value in parse_qsl(query):
            values.update(
                {value, quote(value, safe=""), quote_plus(value), quote(value, safe="/:@!$'()*+,;=")}
            )
    for value in sorted((v for v in values if len(v) >= MIN_REDACTED), key=len, reverse=True):
        text = re.sub(re.escape(value), "***", text, flags=re.IGNORECASE)  # %2f as well as %2F
    return text


def redact_reply(text: str, *urls: str, limit: int) -> str:
    """What a called party answered (``text``), as a row keeps it: without the secrets of the
    ``urls`` called (:func:`redact_url`) nor anything a log line would lose (:func:`redact_text`: a
    shopper's phone number the receiver echoed back), cut to ``limit`` characters last."""
    return redact_cut(redact_url(text, *urls), limit)


def redact_value(key: str | None, value: Any) -> Any:
    """A logged value with its secrets removed (mappings and sequences walked)."""
    if key is not None and names_secret(key) and not short_code(key, value):
        return REDACTED
    if isinstance(value, BaseException):  # ``log.warning("…", error=exc)``, ``logger.error("%s", exc)``
        return error_summary(value)
    if isinstance(value, bytes | bytearray):
        value = value.decode("utf-8", "replace")
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {k: redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(redact_value(None, v) for v in value)
    return value


def format_exception(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: an event's ``exc_info`` becomes its ``exception``, as
    ``kit.tracebacks.safe_traceback`` writes it (frames, the error's class and redacted first line)."""
    exc_info = event.pop("exc_info", None)
    if exc_info is not None and (exc := exception_of(exc_info)) is not None:
        event["exception"] = safe_traceback(exc)
    return event


def redact_event(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: redact every field of the event (the formatted traceback included)."""
    for key in list(event):
        event[key] = redact_value(key, event[key])
    return event


class RedactingFilter(logging.Filter):
    """Standard-library filter (uvicorn's error and access logs, libraries): the same redaction."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact_text(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact_value(None, a) for a in record.args)
        elif isinstance(record.args, Mapping):
            record.args = {k: redact_value(str(k), v) for k, v in record.args.items()}
        if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
            record.exc_text = safe_traceback(record.exc_info[1])
        if record.stack_info:
            record.stack_info = redact_text(record.stack_info)
        return True


def _install_filter(logger: logging.Logger) -> None:
    for handler in logger.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())


class _CurrentStderr:
    """Writes to whatever ``sys.stderr`` is at the time of writing (tests and daemons swap it)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def log_warning(  # noqa: PLR0917 - the signature of warnings.showwarning
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    """``warnings.showwarning`` as :func:`configure_logging` sets it: a Python warning (a library's
    deprecation, a ``ResourceWarning``, the app's own) is the structured log line ``python.warning``
    with its ``category``, its text (``warning``, redacted then cut as an error's summary is) and
    where it was raised (``location``), never the raw text on stderr nor the source line it points at.
    A caller that names a file of its own is answered as the standard library answers it (as
    ``logging.captureWarnings`` does)."""
    if file is not None:
        file.write(warnings.formatwarning(message, category, filename, lineno, line))
        return
    # Looked up at each warning, not once: the logging configuration in force now renders it (a logger
    # cached on first use would keep the configuration of the first warning ever logged).
    structlog.get_logger("py.warnings").warning(
        "python.warning",
        category=category.__name__,
        warning=redact_cut(str(message), SUMMARY_LIMIT),
        location=f"{filename}:{lineno}",
    )


def configure_logging(*, json: bool, level: int = logging.INFO) -> None:
    """Route structlog and the standard library through one structured, redacted renderer."""
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if json
        else structlog.dev.ConsoleRenderer(colors=False, exception_formatter=structlog.dev.plain_traceback)
    )
    # The processor list is replaced in place, never by a new one: a logger cached on first use keeps the
    # list it was built with, so a second configuration's processors (another app in the process, a
    # test's log capture) would otherwise not reach the loggers already used. Its level filter and
    # factory do not reach them either: every caller configures the same level.
    processors = structlog.get_config()["processors"]
    processors[:] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        # The traceback becomes plain text here (frames only: no locals, no causes' messages).
        format_exception,
        redact_event,
        renderer,
    ]
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=_CurrentStderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=True,
    )
    logging.basicConfig(level=level, stream=sys.stderr, format="%(levelname)s %(name)s %(message)s")
    for name in ("", "uvicorn", "uvicorn.error", "uvicorn.access"):
        _install_filter(logging.getLogger(name))
    # httpx logs each request's whole URL at INFO ("HTTP Request: POST …?key=…"); the URL of a robot or
    # a webhook receiver carries its key, under any parameter name or in its path: never logged.
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    # Python's warnings are log lines too, structured and redacted like every other (not the raw text
    # ``warnings`` writes to stderr): a library's warning can quote a URL, a phone number or a token.
    warnings.showwarning = log_warning


def uvicorn_log_config() -> dict[str, Any]:
    """uvicorn's logging set-up with the redacting filter on its handlers (access lines carry URLs)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"redact": {"()": RedactingFilter}},
        "formatters": {
            "default": {"()": "uvicorn.logging.DefaultFormatter", "fmt": "%(levelprefix)s %(message)s"},
            "access": {
                "()": "uvicorn.logging.AccessFormatter",
                "fmt": '%(levelprefix)s %(client_addr)s - "%(request_line)s" %(status_code)s',
            },
        },
        "handlers": {
            "default": {
                "formatter": "default",
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "filters": ["redact"],
            },
            "access": {
                "formatter": "access",
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stdout",
                "filters": ["redact"],
            },
        },
        "loggers": {
            "uvicorn": {"handlers": ["default"], "level": "INFO", "propagate": False},
            "uvicorn.error": {"level": "INFO"},
            "uvicorn.access": {"handlers": ["access"], "level": "INFO", "propagate": False},
        },
    }
