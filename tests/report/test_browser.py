"""The default report opened from disk in headless Chromium: tables and charts render, sorting and
filtering work, and the console stays silent. A screenshot is kept in test-artifacts/.

Console output is read from Chromium's stderr (``--enable-logging=stderr``: every console message
and uncaught exception is a ``CONSOLE`` line); interaction goes through the DevTools protocol.
"""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
import sys
import time
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
        [TOKENERGY, "report", "--out", str(out)], capture_output=True, text=True, check=False
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
        "--window-size=1280,2000",
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
    assert dom.count("<svg") >= 8 and dom.count('class="chart"') >= 8
    for needle in ('src="http', "src='http", 'href="http', "<link", "@import", "url(http"):
        assert needle not in dom  # nothing to fetch: the report works offline


async def _cdp(port: int, script: str, shot: Path) -> Any:
    async with aiohttp.ClientSession() as session:
        for _ in range(100):
            async with session.get(f"http://127.0.0.1:{port}/json/list") as response:
                pages = [t for t in await response.json() if t["type"] == "page"]
            if pages:
                break
            await asyncio.sleep(0.1)
        async with session.ws_connect(pages[0]["webSocketDebuggerUrl"], max_msg_size=0) as ws:
            ids = iter(range(1, 1000))

            async def call(method: str, **params: Any) -> Any:
                message_id = next(ids)
                await ws.send_json({"id": message_id, "method": method, "params": params})
                async for message in ws:
                    data = json.loads(message.data)
                    if data.get("id") == message_id:
                        assert "error" not in data, data
                        return data["result"]
                raise AssertionError("DevTools connection closed")

            for _ in range(100):
                state = await call("Runtime.evaluate", expression=_READY, returnByValue=True)
                if state["result"].get("value"):
                    break
                await asyncio.sleep(0.1)
            result = await call("Runtime.evaluate", expression=script, returnByValue=True)
            picture = await call("Page.captureScreenshot", format="png")
            shot.write_bytes(base64.b64decode(picture["data"]))
            assert "exceptionDetails" not in result, result["exceptionDetails"]
            return result["result"]["value"]


_READY = "document.readyState === 'complete' && document.body.hasAttribute('data-tables-ready')"
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


def test_tables_sort_and_filter_in_the_browser(report_dir: Path, tmp_path: Path) -> None:
    profile = tmp_path / "profile"
    browser = subprocess.Popen(
        [*_flags(profile), "--remote-debugging-port=0", (report_dir / "index.html").as_uri()],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not port_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        port = int(port_file.read_text().splitlines()[0])
        ARTIFACTS.mkdir(exist_ok=True)
        shot = ARTIFACTS / "report.png"
        result = asyncio.run(_cdp(port, _INTERACT, shot))
    finally:
        browser.terminate()
        browser.wait(timeout=30)
    assert result["ascending"] == sorted(result["ascending"]) and len(result["ascending"]) > 100
    assert result["descending"] == sorted(result["descending"], reverse=True)
    assert 0 < result["shown"] < result["total"] and result["allB200"]
    assert result["count"] == f"{result['shown']} of {result['total']} rows"
    assert shot.read_bytes()[:4] == b"\x89PNG" and shot.stat().st_size > 10_000
