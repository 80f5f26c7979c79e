"""PromQL-style label selectors (``{Hostname="node1",gpu=~"0|1"}``) shared by dcgm and prometheus.

The same text selects GPUs on a DCGM exporter (matched here) and on a Prometheus server (sent as
is), so a deployment is described once whichever path measures it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from tokenergy.errors import MeterError

_MATCHER = re.compile(r'\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*')


@dataclass(frozen=True)
class LabelMatcher:
    label: str
    op: str
    value: str

    def matches(self, labels: Mapping[str, str]) -> bool:
        actual = labels.get(self.label, "")
        if self.op == "=":
            return actual == self.value
        if self.op == "!=":
            return actual != self.value
        found = re.fullmatch(self.value, actual) is not None
        return found if self.op == "=~" else not found


@dataclass(frozen=True)
class Selector:
    """A conjunction of label matchers; ``text`` is the canonical PromQL form."""

    matchers: tuple[LabelMatcher, ...] = ()

    @property
    def text(self) -> str:
        inner = ",".join(f'{m.label}{m.op}"{_quote(m.value)}"' for m in self.matchers)
        return "{" + inner + "}" if inner else ""

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(m.matches(labels) for m in self.matchers)


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def parse_selector(text: str, where: str) -> Selector:
    """Parse ``{label="v",label=~"re",...}`` (braces optional); errors name ``where``."""
    body = text.strip()
    if body.startswith("{") and body.endswith("}"):
        body = body[1:-1]
    matchers = []
    position = 0
    while position < len(body):
        found = _MATCHER.match(body, position)
        if found is None:
            raise MeterError(
                f"cannot parse label selector {text!r} at {body[position:]!r} "
                '(expected e.g. {Hostname="node1",gpu=~"0|1"})',
                field=where,
            )
        label, op, quoted = found.groups()
        value = re.sub(r"\\(.)", r"\1", quoted)  # PromQL string escapes: \" and \\
        if op in ("=~", "!~"):
            try:
                re.compile(value)
            except re.error as error:
                raise MeterError(f"bad regex {value!r} in selector: {error}", field=where) from None
        matchers.append(LabelMatcher(label, op, value))
        position = found.end()
        if position < len(body):
            if body[position] != ",":
                raise MeterError(f"expected ',' in selector {text!r}", field=where)
            position += 1
    return Selector(tuple(matchers))
