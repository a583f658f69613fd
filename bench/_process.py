"""One measured process, as the cluster benchmarks run them, and the machine's load."""

from __future__ import annotations

import os
import subprocess
import tempfile
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


# GNU time between the benchmark and what it measures. Not wait4's own peak memory: Linux counts
# in a child's peak the memory of the process it was spawned from (exec records the old address
# space's high-water mark, and Python spawns with vfork), so a child of a benchmark holding a
# rendered 1,000-app project "peaked" at the benchmark's 265 MB, kubectl and the reconciler alike.
# time is a few MB; it reports the peak of the program it runs.
TIME = "/usr/bin/time"


def with_peak(argv: list[str], report: Path) -> list[str]:
    """*argv* under GNU time, which writes the program's own peak memory to *report*."""
    return [TIME, "-f", "%M", "-o", str(report), *argv]


def peak_mb(report: Path) -> int:
    """The peak memory in *report* (with_peak), in MB; 0 when it was not written."""
    words = report.read_text().split() if report.exists() else []
    return int(words[-1]) // 1024 if words and words[-1].isdigit() else 0


def run(argv: list[str], env: dict[str, str] | None = None, cwd: str | Path | None = None) -> Run:
    """*argv* to its end: its CPU (wait4: it and what it waited for) and its own peak memory
    (GNU time's %M), its output read as it comes."""
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "peak"
        done = _run(with_peak(argv, report), env, cwd)
        return Run(done.wall, done.cpu, peak_mb(report), done.code, done.out, done.err)


def _run(argv: list[str], env: dict[str, str] | None, cwd: str | Path | None) -> Run:
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=cwd)
    streams: dict[str, bytes] = {}
    readers = [threading.Thread(target=lambda n=n, s=s: streams.__setitem__(n, s.read()))
               for n, s in (("out", proc.stdout), ("err", proc.stderr))]  # fmt: skip
    for reader in readers:
        reader.start()
    _, status, usage = os.wait4(proc.pid, 0)  # its CPU, and that of the children it waited for
    code = os.waitstatus_to_exitcode(status)
    for reader in readers:
        reader.join()
    return Run(time.perf_counter() - started, usage.ru_utime + usage.ru_stime, 0,
               code, streams["out"].decode(), streams["err"].decode())  # fmt: skip


def load_now() -> str:
    """The load average over 1, 5 and 15 minutes."""
    return " ".join(f"{x:.1f}" for x in os.getloadavg())
