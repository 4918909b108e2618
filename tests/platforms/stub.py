"""A platform's open API on 127.0.0.1 for the pollers' tests: prepared answers, or a function of the
call; JD's router reads the business parameters where every JD SDK sends them (``360buy_param_json``)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest

from tests.platforms.builders import jd_numbers

JD_METHOD = "jd.union.open.order.row.query"


class Stub:
    """A platform API on 127.0.0.1 answering each call from a list of prepared answers."""

    def __init__(self) -> None:
        self.calls: list[dict[str, str]] = []
        self.answers: list[tuple[int, Any]] = []
        self.raw = False  # answers written as they are, not as JSON
        self.headers: dict[str, str] = {}  # more headers of every answer
        self.answer: Callable[[dict[str, str]], tuple[int, Any]] = lambda _call: (200, {})  # past answers
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers["content-length"])).decode()
                call = {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}
                outer.calls.append(call)
                status, body = outer.answers.pop(0) if outer.answers else outer.answer(call)
                if call.get("method") == JD_METHOD and "360buy_param_json" not in call:
                    # JD's router reads the business parameters from 360buy_param_json only
                    status, body = 200, {"error_response": {"code": "41", "zh_desc": "缺少参数"}}
                self.send_response(status)
                self.send_header("content-type", "application/json")
                for name, value in outer.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(str(body).encode() if outer.raw else json.dumps(body).encode())

            def log_message(self, *_args: Any) -> None:
                return None

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/router"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def stub() -> Iterator[Stub]:
    s = Stub()
    yield s
    s.server.shutdown()
    s.server.server_close()


def _jd(rows: list[dict[str, Any]], more: bool = False) -> dict[str, Any]:
    result = {"code": 200, "message": "success", "data": [jd_numbers(r) for r in rows], "hasMore": more}
    return {"jd_union_open_order_row_query_responce": {"code": "0", "queryResult": json.dumps(result)}}
