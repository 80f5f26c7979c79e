"""Load generation: exact-length workloads, arrival schedules, a streaming client, the runner.

The pieces are separate on purpose: a schedule is computed before the run (seeded, reproducible),
the client only sends and times, the runner wires them and logs, metrics.py holds the definitions.
"""
