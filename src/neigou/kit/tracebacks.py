"""An error as a log line may hold it: its class, the first line of its message redacted, and where it
was raised (file, line, function), never what else its text or its causes' texts carry.

A database error's text is the worst of it: PostgreSQL's ``DETAIL: Key (customer_ref_hash, program_id)=(…)``
and ``Failing row contains (…)`` name a shopper's hash or a member's ids, SQLAlchemy appends the statement
and its bound values (``[SQL: …]``, ``[parameters: (…)]``: a phone's hash, an openid, a token), and a
cause further down the chain may hold the same again. So a logged error keeps its class and the first
line of its own message only (``error_summary``), with a value it quotes after a colon taken out
(``invalid input syntax for type integer: "…"``), a message that is nothing but a quoted value (a
``KeyError``'s missing key) replaced whole, and the rest redacted as every log line is
(``kit.redact``); its traceback (``safe_traceback``) lists frames as ``File "…", line N, in f`` for each
exception of the chain, the chained causes named by class alone: no source lines, no local variables.
"""

from __future__ import annotations

import re
import sys
import traceback
from types import TracebackType

from neigou.kit.redact import redact_text

__all__ = ["MAX_FRAMES", "SUMMARY_LIMIT", "error_name", "error_summary", "exception_of", "safe_traceback"]

# How much of an error's first line is kept, and how many frames of each exception (the innermost).
SUMMARY_LIMIT = 300
MAX_FRAMES = 60
# A quoted value after a colon ending a message's first line (PostgreSQL's ``…: "abc"``, Python's
# ``…: 'abc'``): the value a statement was refused for, not the reason. Read on a bounded line.
_QUOTED_VALUE = re.compile(r":\s*([\"'])[^\n]*\1\s*$")
# A first line that is nothing but a quoted value: a ``KeyError``'s text is the key it missed (an
# openid, a hash, a phone), quoted.
_WHOLLY_QUOTED = re.compile(r"^([\"'])[^\n]*\1$")
_LINE_READ = 1000
VALUE = "[value]"
_CAUSE = "\nThe above exception was the direct cause of the following exception:\n\n"
_CONTEXT = "\nDuring handling of the above exception, another exception occurred:\n\n"


def error_name(exc: BaseException) -> str:
    """The exception's class as a log names it (``sqlalchemy.exc.IntegrityError``, ``KeyError``)."""
    cls = type(exc)
    return cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"


def error_summary(exc: BaseException, limit: int = SUMMARY_LIMIT) -> str:
    """``Class: first line of the message``, the quoted value that ends it taken out, redacted, then
    cut to ``limit`` characters (redacted before the cut: no part of a secret is left at it)."""
    try:
        text = str(exc)
    except Exception:
        text = ""
    first = text.strip().split("\n", 1)[0][:_LINE_READ]
    if isinstance(exc, KeyError) or _WHOLLY_QUOTED.match(first):  # a KeyError's text is its key
        first = VALUE
    else:
        first = _QUOTED_VALUE.sub(": " + VALUE, first)
    return redact_text(f"{error_name(exc)}: {first}" if first else error_name(exc))[:limit]


def exception_of(exc_info: object) -> BaseException | None:
    """The exception a logging call's ``exc_info`` names (``True``: the one being handled)."""
    if isinstance(exc_info, BaseException):
        return exc_info
    if isinstance(exc_info, tuple) and len(exc_info) == 3 and isinstance(exc_info[1], BaseException):
        return exc_info[1]
    if exc_info is True:
        return sys.exc_info()[1]
    return None


def _frames(tb: TracebackType | None) -> list[str]:
    frames = [
        f'  File "{frame.f_code.co_filename}", line {lineno}, in {frame.f_code.co_name}'
        for frame, lineno in traceback.walk_tb(tb)
    ]
    if len(frames) > MAX_FRAMES:
        frames = [f"  … {len(frames) - MAX_FRAMES} outer frames left out", *frames[-MAX_FRAMES:]]
    return frames


def safe_traceback(exc: BaseException) -> str:
    """The traceback of ``exc`` and its chain, oldest first as Python prints it: each exception's frames
    (file, line, function), the causes named by class alone, ``exc`` itself by :func:`error_summary`."""
    chain: list[tuple[BaseException, str]] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    link = ""
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append((current, link))
        if current.__cause__ is not None:
            current, link = current.__cause__, _CAUSE
        elif current.__context__ is not None and not current.__suppress_context__:
            current, link = current.__context__, _CONTEXT
        else:
            current = None
    parts: list[str] = []
    for err, link_to_next in reversed(chain):
        last = error_summary(err) if err is exc else error_name(err)
        frames = _frames(err.__traceback__)
        head = ["Traceback (most recent call last):", *frames] if frames else []
        parts.append("\n".join([*head, last]) + "\n")
        if link_to_next:
            parts.append(link_to_next)
    return "".join(parts).rstrip("\n")
