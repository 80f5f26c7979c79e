"""Malformed Prometheus HTTP API answers are one MeterError naming the meter, never a KeyError
or AttributeError traceback (issue 14 item 12: 4 cases of the red-team run)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tokenergy.errors import MeterError
from tokenergy.meters.prometheus import PrometheusMeter

ANSWERS: list[Any] = [
    [],
    {"status": "success"},
    {"status": "success", "data": {"result": "x"}},
    {"status": "success", "data": {"result": [1, 2]}},
]


@pytest.fixture
def serve() -> Iterator[list[Any]]:
    """A local HTTP server answering every query with the body put in the returned list."""
    body: list[Any] = [None]

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            data = json.dumps(body[0]).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    body.append(f"http://127.0.0.1:{server.server_address[1]}")
    try:
        yield body
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("answer", ANSWERS, ids=["list", "no-data", "result-str", "result-ints"])
def test_malformed_answers_at_open(serve: list[Any], answer: Any) -> None:
    serve[0] = answer
    meter = PrometheusMeter.from_spec(f"prometheus:{serve[1]}", serve[1])
    with pytest.raises(MeterError, match="Prometheus answer") as caught:
        meter.open()
    assert "prometheus" in str(caught.value)


def test_malformed_values_in_a_range(serve: list[Any]) -> None:
    series = {"metric": {"gpu": "0", "UUID": "GPU-1", "Hostname": "h"}}
    serve[0] = {"status": "success", "data": {"result": [{**series, "value": [1, "2"]}]}}
    meter = PrometheusMeter.from_spec(f"prometheus:{serve[1]}", serve[1])
    meter.open()
    serve[0] = {"status": "success", "data": {"result": [{**series, "values": [["a", "b"]]}]}}
    with pytest.raises(MeterError, match="not \\[time, value\\] pairs"):
        meter.series_between(0.0, 1.0)
