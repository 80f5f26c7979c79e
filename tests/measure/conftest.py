"""Measured runs reuse the meter tests' hardware fakes (NVML module, DCGM exporter, Prometheus)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "meters"))
