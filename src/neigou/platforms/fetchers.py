"""Where a platform's order rows come from, behind one interface: a file exported from the platform
(``files.FileFetcher``), or an HTTP poller over the platform's incremental order query.

A fetcher yields ``Batch``es: rows and, for a poller, the end of the modification-time window they
cover. ``sync`` applies each batch in its own transaction and then moves the stored watermark to the
window's end, so a crash repeats at most one window (and repeating rows changes nothing). Batches end
only between orders (``batches.Grouped``): an order whose rows lie on two pages of a window goes in
whole, never without its later lines.

The pollers sign their calls the way the three platforms' open APIs do (MD5 of the secret, the sorted
parameters and the secret), page through each window as the pages come (holding back only the rows of
orders that may go on), retry a failed call with backoff, and halve a window the platform refuses as
too long.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

import httpx
import structlog

from neigou.kit.bounded_http import AddressNotAllowed
from neigou.kit.json_input import TooDeep
from neigou.kit.logging import MIN_REDACTED, redact_cut, redact_url
from neigou.platforms.answers import PARSERS, PDD_PAGE_SIZE, PlatformError, read_answer, refused
from neigou.platforms.batches import Batch, Grouped
from neigou.platforms.order_keys import holds_nul
from neigou.platforms.rows import BEIJING, Platform

__all__ = ["PARSERS", "Batch", "Credentials", "Fetcher", "PlatformError", "Poller", "WindowRefused"]

log = structlog.get_logger(__name__)


class Fetcher(Protocol):
    """A source of a platform's order rows."""

    platform: Platform

    def batches(self) -> Iterator[Batch]:
        """The rows, batch by batch."""
        ...


def top_sign(secret: str, params: Mapping[str, str]) -> str:
    """The open platforms' MD5 signature: secret, then each parameter's name and value sorted by name,
    then the secret again, hashed and upper-cased."""
    joined = "".join(f"{k}{params[k]}" for k in sorted(params) if k != "sign")
    return hashlib.md5(f"{secret}{joined}{secret}".encode(), usedforsecurity=False).hexdigest().upper()


# The longest window each platform's incremental query accepts on an ordinary day. 淘宝联盟 accepts
# only 20 minutes during its big promotions (618, 双11, 年货节) and refuses a longer one: a refused
# window is halved (``Poller.batches``), down to ``MIN_WINDOW``.
WINDOWS = {
    Platform.JD_UNION: timedelta(hours=1),
    Platform.PDD: timedelta(hours=24),
    Platform.TAOBAO: timedelta(hours=3),
}
MIN_WINDOW = timedelta(minutes=5)
# 淘宝联盟's ``order_scene``: 1 常规订单, 2 渠道订单 (they carry ``relation_id``), 3 会员运营订单 (they carry
# ``special_id``); a query without it reads scene 1 only. Each window is read once per scene.
TAOBAO_SCENES = ("1", "2", "3")
WINDOW_BATCH = 500  # rows of a window applied in one transaction, or a little more (to an order's end)


@dataclass(frozen=True)
class Credentials:
    """An app's key and secret on the platform's open API, and where that API answers."""

    url: str
    app_key: str
    app_secret: str


@dataclass
class Poller:
    """Incremental order queries by modification-time window, from ``since`` up to ``until``."""

    platform: Platform
    credentials: Credentials
    since: datetime
    until: datetime
    client: httpx.Client
    retries: int = 4
    backoff: float = 0.5
    sleep: Callable[[float], None] = time.sleep
    window: timedelta | None = None  # the first window's length; None: the platform's longest
    calls: int = field(default=0, init=False)

    def batches(self) -> Iterator[Batch]:
        """Each window's rows in batches that end only between orders, the last one carrying the
        window's end. A window the platform refuses as too long (``WindowRefused``) is read again from
        its start, half as long, for the rest of the poll (down to ``MIN_WINDOW``; then the refusal
        stands); rows of it already applied go in again unchanged."""
        span = min(self.window or WINDOWS[self.platform], WINDOWS[self.platform])
        start = self.since
        while start < self.until:
            end = min(start + span, self.until)
            try:
                yield from self._window_batches(start, end)
            except WindowRefused:
                if min(span, end - start) / 2 < MIN_WINDOW:
                    raise
                span = min(span, end - start) / 2
                log.info(
                    "platforms.window_shrunk",
                    platform=self.platform.value,
                    minutes=span / timedelta(minutes=1),
                )
                continue
            start = end

    def _window_batches(self, start: datetime, end: datetime) -> Iterator[Batch]:
        """A window's rows as its pages come, held back only while an order may go on (its rows on the
        next page: ``batches.Grouped``), the last batch carrying ``until``."""
        grouped = Grouped(self.platform, WINDOW_BATCH)
        for page in self._window(start, end):
            for row in page:
                yield from grouped.add(row, nul=isinstance(row, Mapping) and holds_nul(row))
        last = Batch([])
        for batch in grouped.finish():
            if last.rows:
                yield last
            last = batch
        yield replace(last, until=end)

    def _window(self, start: datetime, end: datetime) -> Iterator[list[dict[str, Any]]]:
        """A window's pages: 淘宝联盟's once per ``order_scene``, each scene paged on its own."""
        for scene in TAOBAO_SCENES if self.platform is Platform.TAOBAO else ("",):
            page, cursor, more = 1, "", True
            while more:
                params = self._params(start, end, page, cursor, scene)
                rows, more, cursor = self._parse(self._call(params), params)
                yield rows
                page += 1

    def _params(self, start: datetime, end: datetime, page: int, cursor: str, scene: str) -> dict[str, str]:
        def wall(at: datetime) -> str:
            return at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")

        now = wall(datetime.now(BEIJING))
        if self.platform is Platform.JD_UNION:
            request = {
                "pageIndex": page,
                "pageSize": 200,
                "type": 3,
                "startTime": wall(start),
                "endTime": wall(end),
            }
            params = {"method": "jd.union.open.order.row.query", "app_key": self.credentials.app_key,
                      "timestamp": now, "format": "json", "v": "1.0", "sign_method": "md5",
                      "360buy_param_json": json.dumps({"orderReq": request}, separators=(",", ":"))}  # fmt: skip
        elif self.platform is Platform.PDD:
            params = {"type": "pdd.ddk.order.list.increment.get", "client_id": self.credentials.app_key,
                      "timestamp": str(int(time.time())), "data_type": "JSON",
                      "start_update_time": str(int(start.timestamp())), "end_update_time": str(int(end.timestamp())),
                      "page": str(page), "page_size": str(PDD_PAGE_SIZE), "return_count": "false"}  # fmt: skip
        else:
            params = {"method": "taobao.tbk.order.details.get", "app_key": self.credentials.app_key,
                      "timestamp": now, "format": "json", "v": "2.0", "sign_method": "md5", "query_type": "4",
                      "start_time": wall(start), "end_time": wall(end), "page_size": "100",
                      "page_no": str(page), "position_index": cursor, "jump_type": "1", "order_scene": scene}  # fmt: skip
        params["sign"] = top_sign(self.credentials.app_secret, params)
        return params

    def _call(self, params: dict[str, str]) -> dict[str, Any]:
        """One API call, retried with exponential backoff on a network error, 429 or 5xx."""
        for attempt in range(self.retries + 1):
            self.calls += 1
            failure: PlatformError | None = None
            try:
                response = self.client.post(self.credentials.url, data=params)
                if response.status_code == 429 or response.status_code >= 500:
                    raise httpx.HTTPStatusError(
                        f"HTTP {response.status_code}", request=response.request, response=response
                    )
                response.raise_for_status()
                body = read_answer(response.content)
            except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError, httpx.CookieConflict) as exc:
                if attempt < self.retries and _retried(exc):
                    self.sleep(self.backoff * 2**attempt)
                    continue
                failure = self._failure(f"{type(exc).__name__}: {exc}", params)
            except ValueError:  # not JSON, or nested past the parser's depth (kit.json_input)
                failure = self._failure("the answer is not JSON", params)
            # raised outside the handler: httpx's error names the URL it called (a gateway's URL may
            # carry its key), so it must not ride along as the failure's context in a traceback
            if failure is not None:
                raise failure
            if not isinstance(body, dict):
                raise self._failure("the answer is not an object", params)
            if "error_response" in body:
                failed = self._failure(refused(body["error_response"]), params)
                if _span_refused(body["error_response"]):
                    raise WindowRefused(str(failed))
                raise failed
            return body
        raise PlatformError("no answer")  # pragma: no cover - the loop returns or raises

    def _parse(
        self, body: dict[str, Any], params: Mapping[str, str]
    ) -> tuple[list[dict[str, Any]], bool, str]:
        """The page's rows, whether more follow and the next cursor; an answer of another shape fails.
        One shaped oddly enough to trip the parser itself (a key missing, a list where an object was
        expected: ``KeyError``, ``TypeError``, ``AttributeError``, ``IndexError``) fails alike, told and
        logged by the error's class only (its text may quote the answer's values, as a ``KeyError``
        quotes the key looked up); the failure is raised outside the handler, so the parser's error is
        not its context either, and the watermark does not move."""
        try:
            return PARSERS[self.platform](body)
        except TooDeep:  # JD's queryResult nested past the parser's depth
            told = "queryResult is not JSON"
        except (PlatformError, ValueError) as exc:  # ValueError: JD's queryResult is not JSON
            told = str(exc)
        except (KeyError, TypeError, AttributeError, IndexError) as exc:
            told = f"the answer is not of the expected shape ({type(exc).__name__})"
            log.warning("platforms.answer_unexpected", platform=self.platform.value, error=type(exc).__name__)
        raise self._failure(told, params)

    def _failure(self, text: str, params: Mapping[str, str]) -> PlatformError:
        """A failure told without the app's key and secret, the call's signature or the values in the
        URL's query, however the platform or httpx echoed them (the error is printed and may be logged)."""
        secrets = [self.credentials.app_secret, self.credentials.app_key, params.get("sign", "")]
        for value in sorted((v for v in secrets if len(v) >= MIN_REDACTED), key=len, reverse=True):
            text = re.sub(re.escape(value), "***", text, flags=re.IGNORECASE)
        return PlatformError(redact_cut(redact_url(text, self.credentials.url), 300))


def _retried(exc: Exception) -> bool:
    """Whether a failed call is worth repeating: a network error, 429 or a 5xx (not an answer that
    cannot be decoded, a redirect loop, a malformed URL or a host that is no public address, which would
    fail alike)."""
    if isinstance(exc, httpx.HTTPStatusError):
        return exc.response.status_code >= 500 or exc.response.status_code == 429
    return isinstance(exc, httpx.TransportError) and not isinstance(exc, AddressNotAllowed)


class WindowRefused(PlatformError):
    """The platform refused the call's parameters (a TOP ``isv.*`` sub code): the window may be longer
    than the platform accepts now (淘宝联盟 during a promotion), so the poller tries a shorter one."""


def _span_refused(answer: object) -> bool:
    """Whether a refusal is one a shorter window may cure: an open platform's ``isv.*`` sub code (the
    caller's parameters refused), not a refused signature, key or rate (``isp.*``, codes only)."""
    sub_code = answer.get("sub_code") if isinstance(answer, dict) else None
    return isinstance(sub_code, str) and sub_code.startswith("isv.")
