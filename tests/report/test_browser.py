"""The default report opened from disk in headless Chromium, driven over the DevTools protocol:
the headline comes first, the page body never overflows sideways at 1400 or 800 px, tables sort
and filter, chart points show their values on hover, and the console stays silent (no message, no
exception). Screenshots at both widths are kept in test-artifacts/.
"""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

CHROMIUM = Path("/usr/bin/chromium")
TOKENERGY = str(Path(sys.executable).parent / "tokenergy")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium (Debian chromium)"),
]


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report")
    done = subprocess.run(
        [TOKENERGY, "report", "--out", str(out), "--quiet"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return out


def _flags(profile: Path) -> list[str]:
    return [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
        "--enable-logging=stderr",
        "--v=0",
        "--window-size=1400,1000",
    ]


def test_report_renders_without_console_messages(report_dir: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        [*_flags(tmp_path / "profile"), "--dump-dom", (report_dir / "index.html").as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    assert console == []
    dom = done.stdout
    tables = dom.count('<table class="data"')
    assert tables >= 8
    assert f'data-tables-ready="{tables}"' in dom  # the script ran to its end
    assert dom.count('class="chart"') >= 8 and dom.count('<svg class="plot"') >= 40
    for needle in ('src="http', "src='http", 'href="http', "<link", "@import", "url(http"):
        assert needle not in dom  # nothing to fetch: the report works offline


Call = Callable[..., Awaitable[Any]]


async def _session(port: int, job: Callable[[Call, list[dict[str, Any]]], Awaitable[Any]]) -> Any:
    """Run ``job(call, events)`` on the first page; events collects console and exception events."""
    async with aiohttp.ClientSession() as session:
        for _ in range(100):
            async with session.get(f"http://127.0.0.1:{port}/json/list") as response:
                pages = [t for t in await response.json() if t["type"] == "page"]
            if pages:
                break
            await asyncio.sleep(0.1)
        async with session.ws_connect(pages[0]["webSocketDebuggerUrl"], max_msg_size=0) as ws:
            ids = iter(range(1, 100_000))
            events: list[dict[str, Any]] = []

            async def call(method: str, **params: Any) -> Any:
                message_id = next(ids)
                await ws.send_json({"id": message_id, "method": method, "params": params})
                async for message in ws:
                    data = json.loads(message.data)
                    if data.get("id") == message_id:
                        assert "error" not in data, data
                        return data["result"]
                    if data.get("method") in (
                        "Runtime.consoleAPICalled",
                        "Runtime.exceptionThrown",
                        "Log.entryAdded",
                    ):
                        events.append(data)
                raise AssertionError("DevTools connection closed")

            return await job(call, events)


_READY = (
    "document.readyState === 'complete' && document.body !== null && "
    "document.body.hasAttribute('data-tables-ready')"
)
_LAYOUT = """
(() => ({
  overflow: document.documentElement.scrollWidth - window.innerWidth,
  bodyOverflow: document.body.scrollWidth - document.body.clientWidth,
  firstSection: document.querySelector("section").id,
  headlineCards: document.querySelectorAll("#energy-per-query .card").length,
  charts: Number(document.body.getAttribute("data-charts-ready")),
  scrolled: Array.from(document.querySelectorAll(".tablewrap"))
      .filter(w => w.scrollWidth > w.clientWidth)
      .map(w => w.querySelector("table").id),
}))()
"""
_INTERACT = """
(() => {
  const table = document.querySelector("table.data[id$='-all']");
  const header = Array.from(table.tHead.rows[0].cells)
      .find(c => c.textContent === "J/output token");
  const column = header.cellIndex;
  const values = () => Array.from(table.tBodies[0].rows)
      .filter(r => r.style.display !== "none")
      .map(r => parseFloat(r.cells[column].getAttribute("data-sort")))
      .filter(v => !Number.isNaN(v));
  header.click();
  const ascending = values();
  header.click();
  const descending = values();
  const input = document.querySelector(`input[data-filter-for='${table.id}']`);
  input.value = "B200";
  input.dispatchEvent(new Event("input"));
  const shown = Array.from(table.tBodies[0].rows).filter(r => r.style.display !== "none");
  return {
    ascending, descending,
    total: table.tBodies[0].rows.length,
    shown: shown.length,
    allB200: shown.every(r => r.textContent.includes("B200")),
    count: document.querySelector(`[data-count-for='${table.id}']`).textContent,
  };
})()
"""
_POINT = """
(() => {
  const point = document.querySelector("figure.chart svg.plot circle[data-tip]:not([fill-opacity])")
      || document.querySelector("svg.plot circle[data-tip]");
  point.scrollIntoView({block: "center"});
  const box = point.getBoundingClientRect();
  return {x: box.x + box.width / 2, y: box.y + box.height / 2, tip: point.getAttribute("data-tip")};
})()
"""
_TIP = """
(() => {
  const tip = document.getElementById("chart-tip");
  return {hidden: tip.hidden, text: tip.textContent};
})()
"""


async def _value(call: Call, expression: str) -> Any:
    result = await call("Runtime.evaluate", expression=expression, returnByValue=True)
    assert "exceptionDetails" not in result, result["exceptionDetails"]
    return result["result"]["value"]


async def _open(call: Call, url: str, width: int) -> None:
    await call("Runtime.enable")
    await call("Log.enable")
    await call(
        "Emulation.setDeviceMetricsOverride",
        width=width,
        height=1000,
        deviceScaleFactor=1,
        mobile=False,
    )
    await call("Page.navigate", url=url)
    for _ in range(300):
        if await _value(call, _READY):
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the report never finished loading")


def _browse(profile: Path, job: Callable[[Call, list[dict[str, Any]]], Awaitable[Any]]) -> Any:
    browser = subprocess.Popen(
        [*_flags(profile), "--remote-debugging-port=0", "about:blank"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not port_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        port = int(port_file.read_text().splitlines()[0])
        return asyncio.run(_session(port, job))
    finally:
        browser.terminate()
        browser.wait(timeout=30)


@pytest.mark.parametrize("width", [1400, 800])
def test_layout_fits_and_headline_comes_first(report_dir: Path, tmp_path: Path, width: int) -> None:
    shot = ARTIFACTS / f"report-{width}.png"

    async def job(call: Call, events: list[dict[str, Any]]) -> Any:
        await _open(call, (report_dir / "index.html").as_uri(), width)
        layout = await _value(call, _LAYOUT)
        picture = await call(
            "Page.captureScreenshot",
            format="png",
            clip={"x": 0, "y": 0, "width": width, "height": 2400, "scale": 1},
            captureBeyondViewport=True,
        )
        ARTIFACTS.mkdir(exist_ok=True)
        shot.write_bytes(base64.b64decode(picture["data"]))
        return layout, events

    layout, events = _browse(tmp_path / "profile", job)
    assert events == []  # no console message, no uncaught exception
    assert layout["overflow"] <= 0 and layout["bodyOverflow"] <= 0, layout
    assert layout["firstSection"] == "energy-per-query" and layout["headlineCards"] >= 4
    assert layout["charts"] >= 40
    if width >= 1400:  # every column of every table visible without scrolling sideways
        assert layout["scrolled"] == [], layout["scrolled"]
    assert shot.read_bytes()[:4] == b"\x89PNG" and shot.stat().st_size > 10_000


def test_tables_sort_filter_and_points_show_values(report_dir: Path, tmp_path: Path) -> None:
    async def job(call: Call, events: list[dict[str, Any]]) -> Any:
        await _open(call, (report_dir / "index.html").as_uri(), 1400)
        tables = await _value(call, _INTERACT)
        point = await _value(call, _POINT)
        await call("Input.dispatchMouseEvent", type="mouseMoved", x=point["x"], y=point["y"])
        shown = await _value(call, _TIP)
        await call("Input.dispatchMouseEvent", type="mouseMoved", x=2, y=2)
        hidden = await _value(call, _TIP)
        return tables, point, shown, hidden, events

    result, point, shown, hidden, events = _browse(tmp_path / "profile", job)
    assert events == []
    assert result["ascending"] == sorted(result["ascending"]) and len(result["ascending"]) > 100
    assert result["descending"] == sorted(result["descending"], reverse=True)
    assert 0 < result["shown"] < result["total"] and result["allB200"]
    assert result["count"] == f"{result['shown']} of {result['total']} rows"
    assert not shown["hidden"] and shown["text"] == point["tip"].replace(" · ", "\n")
    assert "J/output token" in shown["text"] and " ms" in shown["text"]
    assert hidden["hidden"]
