"""tokenergy: how much energy does serving an LLM query take, and why."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("tokenergy")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0+unknown"
