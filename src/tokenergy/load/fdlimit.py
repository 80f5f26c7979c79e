"""File descriptors: every connection in flight holds one, so the limit caps the concurrency.

A client that runs out fails its connects with EMFILE, which would read as the server refusing
load; the runner raises the soft limit to the hard one first and refuses a concurrency the limit
cannot hold (outcome ``client_fd_limit`` catches whatever still slips through).
"""

from __future__ import annotations

import resource

from tokenergy.errors import ConfigError

FD_RESERVE = 64  # descriptors besides connections: stdio, event loop, logs, meters, imports
_SOFT_CEILING = 1 << 20  # Linux's default fs.nr_open: a soft limit cannot exceed it


def raise_fd_limit() -> int:
    """Raise the soft RLIMIT_NOFILE to the hard limit (or as far as allowed); return it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = _SOFT_CEILING if hard == resource.RLIM_INFINITY else hard
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass  # keep the soft limit; check_fd_limit judges the concurrency against it
    return _SOFT_CEILING if soft == resource.RLIM_INFINITY else int(soft)


def check_fd_limit(connections: int | None, limit: int) -> None:
    """ConfigError when ``connections`` (per process) plus a reserve exceed the fd ``limit``."""
    if connections is None or connections + FD_RESERVE <= limit:
        return
    raise ConfigError(
        f"{connections} connections per process need about {connections + FD_RESERVE} file "
        f"descriptors but the limit is {limit} (ulimit -n); lower it, raise the hard limit, "
        "or spread the load over more `workers`",
        field="concurrency",
    )
