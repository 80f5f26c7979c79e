"""What happened to one configuration, kept as ``outcome.json`` in its directory.

A configuration whose outcome says ``ok`` is done: ``--resume`` skips it. Anything else — failed to
start, exited before ready, crashed or timed out during the load, interrupted — is run again.
"""

from __future__ import annotations

import json
import os
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

OUTCOME_FILE = "outcome.json"
SERVER_LOG = "server.log"
SERVER_PID = "server.pid"  # the process group id, while it runs and after


class Status(StrEnum):
    OK = "ok"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


class ConfigOutcome(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str
    label: str
    params: dict[str, Any]
    status: Status
    cause: str | None = None  # start_failed, exited, ready_timeout, crashed, bench_error, node_lost
    message: str | None = None
    node: str | None = None
    gpus: list[int] = []
    ready_s: float | None = None  # launch → first 200 from the readiness probe
    stop_s: float | None = None  # SIGTERM → group gone
    points: list[str] = []  # run directories, relative to the configuration's directory
    server_exit_code: int | None = None

    @property
    def done(self) -> bool:
        return self.status is Status.OK

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def write_outcome(config_dir: Path, outcome: ConfigOutcome) -> None:
    """Atomically (temp file + rename): a crash never leaves a half-written outcome."""
    config_dir.mkdir(parents=True, exist_ok=True)
    temporary = config_dir / f".{OUTCOME_FILE}.tmp"
    temporary.write_text(json.dumps(outcome.to_dict(), indent=2))
    os.replace(temporary, config_dir / OUTCOME_FILE)


def read_outcome(config_dir: Path) -> ConfigOutcome | None:
    """The recorded outcome, or None when there is none (or it is unreadable: run it again)."""
    try:
        return ConfigOutcome.model_validate_json((config_dir / OUTCOME_FILE).read_text())
    except (OSError, ValueError, ValidationError):
        return None
