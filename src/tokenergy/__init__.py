"""tokenergy: how much energy does serving an LLM query take, and why."""

from tokenergy._version import __version__

__all__ = ["__version__"]
