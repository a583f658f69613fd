"""One measured process, as the cluster benchmarks run them, and the machine's load."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Run:
    """One process: wall and CPU seconds, peak RSS in MB, what it printed."""

    wall: float
    cpu: float
    rss: int
    code: int
    out: str
    err: str


def run(argv: list[str], env: dict[str, str] | None = None, cwd: str | Path | None = None) -> Run:
    """*argv* to its end: its own CPU and peak memory (wait4), its output read as it comes."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=cwd)
    streams: dict[str, bytes] = {}
    readers = [threading.Thread(target=lambda n=n, s=s: streams.__setitem__(n, s.read()))
               for n, s in (("out", proc.stdout), ("err", proc.stderr))]  # fmt: skip
    for reader in readers:
        reader.start()
    _, status, usage = os.wait4(proc.pid, 0)  # this process's own CPU and peak memory (KiB)
    code = os.waitstatus_to_exitcode(status)
    for reader in readers:
        reader.join()
    return Run(time.perf_counter() - started, usage.ru_utime + usage.ru_stime, usage.ru_maxrss // 1024,
               code, streams["out"].decode(), streams["err"].decode())  # fmt: skip


def load_now() -> str:
    """The load average over 1, 5 and 15 minutes."""
    return " ".join(f"{x:.1f}" for x in os.getloadavg())
