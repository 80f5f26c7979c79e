"""The installed package version, in a module of its own so that any layer can import it
without importing the package's public face (``tokenergy/__init__.py``)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("tokenergy")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0+unknown"
