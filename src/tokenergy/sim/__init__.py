"""A simulated OpenAI-compatible LLM server with a calibrated timing and power model.

It is a test and demo tool: every response is labelled simulated (``owned_by: tokenergy-sim``,
header ``x-tokenergy-simulated: 1``) and its energy counter is exposed in DCGM-exporter format so
the real Prometheus meter path can be exercised end to end without a GPU.
"""
