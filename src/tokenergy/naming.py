"""Matching names people type ("llama-3.1-70b") to names in data ("Llama 3.1 70B").

Names match when they agree ignoring case, spaces and punctuation; otherwise the error suggests
the closest known names, so a near miss costs one more try rather than a trip to the docs.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

from tokenergy.errors import ConfigError

_NOT_ALNUM = re.compile(r"[\W_]+")


def normalise(name: str) -> str:
    """Lower case, letters and digits only: 'Llama-3.1 70B' → 'llama3170b'."""
    return _NOT_ALNUM.sub("", name.casefold())


def _tokens(name: str) -> set[str]:
    return {part for part in _NOT_ALNUM.split(name.casefold()) if part}


def suggestions(name: str, known: Iterable[str], limit: int = 3) -> list[str]:
    """Known names close to ``name``: every typed word found in them, or a close spelling."""
    names = list(dict.fromkeys(known))
    words = _tokens(name)
    containing = [k for k in names if words and words <= _tokens(k)]
    by_key = {normalise(k): k for k in names}
    close = difflib.get_close_matches(normalise(name), list(by_key), n=limit, cutoff=0.6)
    ranked = containing + [by_key[key] for key in close]
    return list(dict.fromkeys(ranked))[:limit]


def match_name(name: str, known: Iterable[str], *, what: str, field: str, where: str = "") -> str:
    """The known name equal to ``name`` ignoring case and punctuation, else a ConfigError that
    suggests the nearest ones (and lists all when there is no near one); ``where`` names the
    data searched, e.g. 'in h100x8_fp8_trtllm.csv'."""
    names = list(dict.fromkeys(known))
    wanted = normalise(name)
    hits = [k for k in names if normalise(k) == wanted]
    if len(hits) == 1:
        return hits[0]
    if len(hits) > 1:
        raise ConfigError(f"{name!r} matches several {what}s: {', '.join(hits)}", field=field)
    near = suggestions(name, names)
    if near:
        hint = " or ".join(near)
        raise ConfigError(f"unknown {what} {name!r}{where}; did you mean {hint}?", field=field)
    raise ConfigError(f"unknown {what} {name!r}{where}; known: {', '.join(names)}", field=field)
