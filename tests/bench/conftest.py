"""Put ``bench/`` on ``sys.path`` so its scripts import as top-level modules (``import workloads``)."""

from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))
