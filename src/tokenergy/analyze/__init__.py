"""Analysis of ServingResults: uniform rows, time–energy frontiers, best under an SLO, comparisons.

Every function here is pure (rows in, rows out) so the CLI and the report share one implementation
and property tests can pin the selection rules.
"""
