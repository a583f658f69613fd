"""The local control plane as the cluster benchmarks run it, and the CPU it spends while a tool
runs, so a benchmark can say where a step's time goes: the tool's own process, the API server,
etcd, or the rest of the plane (the controllers and scheduler, which make ReplicaSets and
instances, and the simulated machines).

Where instances must start (converge, shards), the controller manager runs at CONTROLLER_QPS
requests a second: at its default (20, burst 30), 1,000 apps took 241 s to converge whatever
applied them, one reconciler, three shards or kubectl (200 apps: 48 s); at 500, 75 s (26 s), so
the figures measure the tools and the machine, not one controller's self-imposed limit. Clusters
tune it too; the figures say it is raised. Where they cannot start (bench.reconcile: more
instances than its two simulated machines hold), it keeps its default: faster, the controllers
only retried the unplaceable instances harder, and loaded the machine the passes are timed on.

CPU is read from /proc (user + system seconds of each component's process, all its threads): the
plane's components are plain processes of this machine (unhazzle/devcluster), recorded by pid
in its state (`ClusterState.pids`)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from unhazzle.devcluster import cluster as devcluster

CONTROLLER_QPS = 500
T = TypeVar("T")


def setting(qps: int) -> str:
    """The plane's setting, as the benchmarks print it."""
    rate = f"{qps} requests a second (its default: 20)" if qps else "its default 20 requests a second"
    return f"control plane: the controller manager at {rate}"


GROUPS = {"kube-apiserver": "API server", "etcd": "etcd"}
REST = "the rest"  # kube-controller-manager, kube-scheduler, kwok (and whatever else the plane runs)
COLUMNS = ("API server", "etcd", REST)
_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class PlaneCPU:
    """CPU seconds per part of the plane (COLUMNS)."""

    seconds: dict[str, float]

    def __sub__(self, before: PlaneCPU) -> PlaneCPU:
        return PlaneCPU({part: self.seconds[part] - before.seconds.get(part, 0.0) for part in self.seconds})

    def cells(self, width: int = 8) -> str:
        return "".join(f"{self.seconds[part]:>{width}.1f}" for part in COLUMNS)

    @property
    def total(self) -> float:
        return sum(self.seconds.values())


def start(state_dir: Path, qps: int = CONTROLLER_QPS, **options: Any) -> Meter:
    """A fresh plane in *state_dir* (devcluster.up's *options*), tied to this process, with the
    controller manager at *qps* (0: its default); a Meter of its CPU."""
    state = devcluster.up(state_dir, tie_to_parent=True, controller_qps=qps, **options)
    if state.controller_qps != qps:  # a plane already running there, started otherwise
        raise SystemExit(f"FAILED: the plane in {state_dir} runs {setting(state.controller_qps)}, "
                         f"not {setting(qps)}")  # fmt: skip
    return Meter(state.pids)


class Meter:
    """Reads the plane's components (name -> pid, as the plane's state records them); one that
    is gone ends the benchmark, loudly: its figures would be missing, and a tool that ran against
    it did not run against a whole plane."""

    def __init__(self, pids: Mapping[str, int]) -> None:
        self.pids = dict(pids)

    def read(self) -> PlaneCPU:
        seconds = dict.fromkeys(COLUMNS, 0.0)
        for name, pid in self.pids.items():
            seconds[GROUPS.get(name, REST)] += _cpu(name, pid)
        return PlaneCPU(seconds)

    def during(self, run: Callable[[], T]) -> tuple[T, PlaneCPU]:
        """What *run* returns, and what the plane spent while it ran."""
        before = self.read()
        result = run()
        return result, self.read() - before

    def settle(self, idle: float = 0.3, timeout: float = 180.0) -> float:
        """Wait until the plane uses less than *idle* of a core over a second (the controllers
        done with what the last tool wrote), so that the next reading is the next tool's alone;
        the seconds waited (*timeout* at most: a plane that never settles is still measured)."""
        started = time.monotonic()
        last = self.read()
        while time.monotonic() - started < timeout:
            time.sleep(1.0)
            now = self.read()
            if (now - last).total < idle:
                break
            last = now
        return time.monotonic() - started


def _cpu(name: str, pid: int) -> float:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError as exc:
        raise SystemExit(f"FAILED: the control plane's {name} (pid {pid}) cannot be read: {exc}") from None
    # after the command's name in parentheses (which may hold spaces): state, ppid, ... ;
    # utime and stime are the 14th and 15th fields of the line, the 12th and 13th after the name
    fields = stat.rpartition(")")[2].split()
    if fields[0] == "Z":  # exited, not yet reaped by the plane's parent: its times are frozen
        raise SystemExit(f"FAILED: the control plane's {name} (pid {pid}) has exited")
    return (int(fields[11]) + int(fields[12])) / _TICKS
