"""Run ``olgraph`` with tracemalloc on, dumping a snapshot on SIGUSR2 (bench only, never shipped).

The soak section (``bench/soak.py --tracemalloc``) starts ``serve``, ``api`` and ``consume``
through this launcher instead of ``python -m olgraph``, sends SIGUSR2 after the warm-up and at
the end, and compares the two snapshots: which source lines hold more memory at the end.

    python bench/_traced.py DUMP_DIR serve --port 0

Each SIGUSR2 writes ``DUMP_DIR/<pid>-<n>.tracemalloc`` (``n`` counts from 1), then
``DUMP_DIR/<pid>-<n>.done`` once the dump is complete, so the caller can wait for it.
``OLGRAPH_BENCH_TRACEMALLOC_FRAMES`` sets the frames kept per allocation (default 8).
"""

from __future__ import annotations

import gc
import json
import os
import signal
import sys
import threading
import tracemalloc
from pathlib import Path
from types import FrameType

DUMP_SIGNAL = signal.SIGUSR2


def _install(dump_dir: Path) -> None:
    count = [0]
    requested = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        requested.set()  # the dump itself runs in a thread: not inside the event loop's handler

    def dumper() -> None:
        while True:
            requested.wait()
            requested.clear()
            count[0] += 1
            stem = dump_dir / f"{os.getpid()}-{count[0]}"
            gc.collect()  # garbage awaiting the collector is not memory the process keeps
            snapshot = tracemalloc.take_snapshot().filter_traces(
                (tracemalloc.Filter(False, tracemalloc.__file__),)
            )
            snapshot.dump(str(stem.with_suffix(".tracemalloc")))
            traced, peak = tracemalloc.get_traced_memory()
            stem.with_suffix(".done").write_text(json.dumps({"traced": traced, "peak": peak}))

    threading.Thread(target=dumper, daemon=True, name="tracemalloc-dumper").start()
    signal.signal(DUMP_SIGNAL, on_signal)


def main() -> None:
    """``_traced.py DUMP_DIR <olgraph arguments>``."""
    dump_dir = Path(sys.argv[1])
    dump_dir.mkdir(parents=True, exist_ok=True)
    tracemalloc.start(int(os.environ.get("OLGRAPH_BENCH_TRACEMALLOC_FRAMES", "8")))
    _install(dump_dir)
    from olgraph.cli import main as olgraph_main  # noqa: PLC0415 (traced from the first import)

    sys.argv = ["olgraph", *sys.argv[2:]]
    olgraph_main(prog_name="olgraph")


if __name__ == "__main__":
    main()
