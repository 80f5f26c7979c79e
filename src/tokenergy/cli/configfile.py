"""``--config FILE.toml``: every flag of a command written down once, and the resolved flags of a
run saved next to its results, so a run can be repeated exactly.

Keys are the flag names without dashes (``num-prompts`` or ``num_prompts``; aliases too), the
positional argument by its name (``url``). Flags given on the command line win over the file.
"""

from __future__ import annotations

import json
import math
import tomllib
from enum import Enum
from pathlib import Path
from typing import Any

import typer

from tokenergy.errors import ConfigError

CONFIG_FILE = "bench.toml"
_SKIP = {"config", "help"}


def _key(name: str) -> str:
    return name.lstrip("-").replace("_", "-")


def _keys(ctx: typer.Context) -> dict[str, Any]:
    """Every accepted key → its click parameter."""
    keys: dict[str, Any] = {}
    for param in ctx.command.params:
        if param.name is None or param.name in _SKIP:
            continue
        for name in (param.name, *param.opts):
            keys[_key(name)] = param
    return keys


def _default_value(param: Any, value: Any, key: str, path: Path) -> Any:
    """A TOML value as the flag's text would give it: lists join for single-valued flags."""
    if getattr(param, "multiple", False):
        values = value if isinstance(value, list) else [value]
        return [str(item) for item in values]
    if isinstance(value, list):
        return ",".join(str(item) for item in value)
    if isinstance(value, dict):
        raise ConfigError("a table is not a flag value", file=str(path), field=key)
    if isinstance(value, bool):
        return value
    return value if isinstance(value, int | float) else str(value)


def load_config(ctx: typer.Context, path: Path | None) -> Path | None:
    """Eager callback of ``--config``: the file's values become the command's defaults."""
    if path is None or ctx.resilient_parsing:
        return path
    try:
        document = tomllib.loads(path.read_text())
    except OSError as error:
        raise ConfigError(f"cannot read: {error.strerror or error}", file=str(path)) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"not valid TOML: {error}", file=str(path), field="--config") from None
    except RecursionError:
        raise ConfigError("TOML nested too deeply", file=str(path), field="--config") from None
    keys = _keys(ctx)
    defaults: dict[str, Any] = dict(ctx.default_map or {})
    for key, value in document.items():
        param = keys.get(_key(key))
        if param is None:
            known = ", ".join(sorted({_key(p.name) for p in keys.values()}))
            raise ConfigError(f"unknown key {key!r}; use one of {known}", file=str(path))
        defaults[param.name] = _default_value(param, value, key, path)
    ctx.default_map = defaults
    return path


def _toml_value(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else None
    if isinstance(value, list | tuple):
        items = [_toml_value(item) for item in value]
        return "[" + ", ".join(item for item in items if item is not None) + "]"
    return json.dumps(str(value), ensure_ascii=False)  # JSON string escapes are TOML's


def resolved_config(ctx: typer.Context, leave_out: set[str]) -> str:
    """The command's resolved flags as TOML that ``--config`` reads back."""
    lines = [
        f"# tokenergy {ctx.command_path.split()[-1]}: the flags of this run (--config reads it)"
    ]
    for param in ctx.command.params:
        name = param.name
        if name is None or name in _SKIP or name in leave_out or name not in ctx.params:
            continue
        text = _toml_value(ctx.params[name])
        if text is not None and text != "[]":
            lines.append(f"{_key(param.opts[0] if param.opts else name)} = {text}")
    return "\n".join(lines) + "\n"


def save_config(ctx: typer.Context, directory: Path, leave_out: set[str]) -> Path:
    path = directory / CONFIG_FILE
    path.write_text(resolved_config(ctx, leave_out))
    return path


def parse_metadata(pairs: list[str], option: str = "--metadata") -> dict[str, str]:
    """'key=value' pairs → a dict; a pair without '=' or with an empty key is refused."""
    metadata: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"expected KEY=VALUE, got {pair!r}", field=option)
        metadata[key.strip()] = value.strip()
    return metadata
