"""The cluster benchmarks say where a step's CPU went: the control plane's share is read from /proc."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.plane import COLUMNS, Meter, PlaneCPU


def test_the_plane_cpu_of_each_part_is_what_its_processes_spent_meanwhile() -> None:
    # "API server": a process that works when asked, then waits; "the rest": one that only waits
    work = "import sys\nfor line in sys.stdin:\n    sum(range(4_000_000)); print('done', flush=True)"
    busy = subprocess.Popen(
        [sys.executable, "-c", work], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    idle = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    stdin, stdout = busy.stdin, busy.stdout
    assert stdin is not None and stdout is not None
    try:
        meter = Meter({"kube-apiserver": busy.pid, "kwok": idle.pid})

        def ask_three_times() -> list[str]:
            for _ in range(3):
                stdin.write("work\n")
                stdin.flush()
            return [stdout.readline() for _ in range(3)]

        answers, spent = meter.during(ask_three_times)
        assert answers == ["done\n"] * 3
    finally:
        for proc in (busy, idle):
            proc.kill()
            proc.wait()
    assert spent.seconds.keys() == set(COLUMNS)
    assert spent.seconds["API server"] >= 0.05  # three sums of four million numbers
    assert spent.seconds["etcd"] == 0.0 and spent.seconds["the rest"] < 0.05


def test_a_part_of_the_plane_that_is_gone_ends_the_benchmark_loudly() -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    with pytest.raises(
        SystemExit, match=rf"FAILED: the control plane's etcd \(pid {gone.pid}\) cannot be read"
    ):
        Meter({"etcd": gone.pid}).read()


def test_a_part_of_the_plane_that_exited_unreaped_ends_the_benchmark_too() -> None:
    """Its /proc entry stays (a zombie, with frozen times) until the plane's parent reaps it."""
    exited = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        for _ in range(200):
            if Path(f"/proc/{exited.pid}/stat").read_text().rpartition(")")[2].split()[0] == "Z":
                break
            time.sleep(0.01)
        with pytest.raises(SystemExit, match=r"FAILED: the control plane's kwok \(pid \d+\) has exited"):
            Meter({"kwok": exited.pid}).read()
    finally:
        exited.wait()


def test_a_quiet_plane_settles_at_once() -> None:
    idle = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        assert Meter({"kube-apiserver": idle.pid}).settle(timeout=30) < 5
    finally:
        idle.kill()
        idle.wait()


def test_the_difference_of_two_readings_is_per_part_and_cells_keep_the_column_order() -> None:
    later = PlaneCPU({"API server": 5.0, "etcd": 2.5, "the rest": 1.0})
    earlier = PlaneCPU({"API server": 1.0, "etcd": 0.5, "the rest": 1.0})
    assert (later - earlier).seconds == {"API server": 4.0, "etcd": 2.0, "the rest": 0.0}
    assert (later - earlier).cells(6) == "   4.0   2.0   0.0"
