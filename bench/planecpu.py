"""The CPU the local control plane spends while a tool runs, so a cluster benchmark can say where a
step's time goes: the tool's own process, the API server, etcd, or the rest of the plane (the
controllers and scheduler, which make ReplicaSets and instances, and the simulated machines).

Read from /proc (user + system seconds of each component's process, all its threads): the
plane's components are plain processes of this machine (unhazzle/devcluster), recorded by pid
in its state (`ClusterState.pids`)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

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


def _cpu(name: str, pid: int) -> float:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError as exc:
        raise SystemExit(f"FAILED: the control plane's {name} (pid {pid}) cannot be read: {exc}") from None
    # after the command's name in parentheses (which may hold spaces): state, ppid, ... ;
    # utime and stime are the 14th and 15th fields of the line, the 12th and 13th after the name
    fields = stat.rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS
