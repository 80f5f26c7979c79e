"""The package version: the one place it is written (pyproject.toml reads it through hatch), in
a module of its own so that any layer can import it without the package's public face, and
without the ~30 ms that ``importlib.metadata`` costs at every start."""

__version__ = "0.1.0"
