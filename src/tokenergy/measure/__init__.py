"""Measuring a server: the load generator (``load/``) with energy meters (``meters/``) attached.

This layer sits above both, so neither imports the other: the meters see the load only through
the runner's observer hook.
"""
