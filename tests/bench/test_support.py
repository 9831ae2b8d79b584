"""CPU accounting of process trees from ``/proc``, on real processes that burn known CPU.

Each burner spins until its own ``time.process_time()`` says 0.3 s: the figures compared below
are CPU seconds the processes report about themselves, not wall-clock times.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from _support import cpu_seconds, tree_cpu_seconds

BURN = "import time\nwhile time.process_time() < 0.3:\n    pass\n"

# A parent that runs one burner to its end (reaped: its CPU moves to the parent's cutime) and
# keeps a second one alive after it burnt, then waits for its stdin to close.
PARENT = textwrap.dedent(
    f"""
    import subprocess, sys
    burn = {BURN!r}
    subprocess.run([sys.executable, "-c", burn], check=True)
    alive = subprocess.Popen(
        [sys.executable, "-c", burn + "print('burnt', flush=True)\\nimport sys\\nsys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    assert alive.stdout.readline() == "burnt\\n"
    print("ready", flush=True)
    sys.stdin.read()
    alive.stdin.close()
    alive.wait()
    """
)


def test_a_tree_counts_its_live_and_its_exited_children() -> None:
    with subprocess.Popen(
        [sys.executable, "-c", PARENT], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as parent:
        assert parent.stdin is not None
        assert parent.stdout is not None
        try:
            assert parent.stdout.readline() == "ready\n"
            own, tree = cpu_seconds(parent.pid), tree_cpu_seconds(parent.pid)
            assert own < 0.3  # the parent itself only started its children
            assert tree >= own + 0.55  # two burners of 0.3 s each, within the clock tick
        finally:
            parent.stdin.close()
            parent.wait(timeout=30)


def test_a_process_that_is_gone_is_named() -> None:
    with subprocess.Popen([sys.executable, "-c", "pass"]) as gone:
        gone.wait()
    with pytest.raises(ProcessLookupError, match=f"no process {gone.pid}"):
        tree_cpu_seconds(gone.pid)
