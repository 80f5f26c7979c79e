"""File-descriptor limits: raised at start, a concurrency the limit cannot hold is refused, and
running out anyway is the client's failure (``client_fd_limit``), not the server's."""

from __future__ import annotations

import resource
import subprocess
import sys
import textwrap

import pytest

from tokenergy.errors import ConfigError
from tokenergy.load.fdlimit import FD_RESERVE, check_fd_limit


def python(code: str, soft: int, hard: int) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter whose fd limits start at (soft, hard)."""

    def limits() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))

    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        check=False,
        preexec_fn=limits,
        timeout=120,
    )


def test_soft_limit_is_raised_to_the_hard_limit() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    ceiling = min(hard, 4096)
    done = python(
        "from tokenergy.load.fdlimit import raise_fd_limit; print(raise_fd_limit())", 256, ceiling
    )
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) == ceiling


def test_a_concurrency_the_limit_cannot_hold_is_refused() -> None:
    check_fd_limit(1024 - FD_RESERVE, 1024)
    check_fd_limit(None, 1024)  # an uncapped open loop: nothing to check up front
    with pytest.raises(ConfigError, match="limit is 1024") as error:
        check_fd_limit(5000, 1024)
    assert error.value.field == "concurrency"


def test_running_out_of_descriptors_is_classified_as_the_clients() -> None:
    code = """
        import asyncio, os, resource
        import aiohttp
        from tokenergy.load.client import Api, RequestOptions, RequestRecord, stream_request

        async def main():
            async def answer(reader, writer):
                await asyncio.sleep(5)
                writer.close()
            server = await asyncio.start_server(answer, "127.0.0.1", 0)
            port = server.sockets[0].getsockname()[1]
            url = f"http://127.0.0.1:{port}/v1/completions"
            connector = aiohttp.TCPConnector(limit=0)
            async with aiohttp.ClientSession(connector=connector) as session:
                # room for a few sockets only (each connection also costs the server one)
                used = len(os.listdir("/proc/self/fd"))
                resource.setrlimit(resource.RLIMIT_NOFILE, (used + 6, 4096))
                records = [RequestRecord(i, False, 1, 1, None) for i in range(20)]
                body = RequestOptions("m").body([1], 1)
                await asyncio.gather(*(
                    stream_request(session, url, Api.COMPLETIONS, body, r, 0, 1.0)
                    for r in records
                ))
            server.close()
            print(sorted({r.outcome for r in records}))

        asyncio.run(main())
    """
    done = python(code, 1024, 4096)
    assert done.returncode == 0, done.stderr
    assert "client_fd_limit" in done.stdout and "connect_error" not in done.stdout
