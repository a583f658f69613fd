"""Benchmark: a fleet of 1,000 apps in 100 environments, reconciled by 1 and by 3 shards.

    python -m bench.shards [--environments 100] [--apps 10]

Each run gets a fresh local control plane with simulated machines (kwok), one environment repo of
100 environments with 10 apps each, and `unhazzle reconcile --once`: as one process (0/1), then as
three processes at the same time (`--shard K/3`), each waiting until every environment it owns is
applied and healthy. Reported: the time until the last process is done (every app healthy), each
process's peak memory (RSS) and the reconcilers' CPU time. The run is checked before any time is
printed: every process exits 0, every environment's status says healthy and every app has an
instance available.

The peer is Flux's published figure (kustomize-controller, 1,000 Kustomizations), NOT run here: it
comes from another machine (a 16-core GitHub runner, kind) and other apps (Deployments scaled to
zero, so no instance has to start), and is printed beside ours only as a reference point.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from bench import plane
from bench._process import load_now, peak_mb, with_peak
from bench.plane import COLUMNS, PlaneCPU
from tests.support.envrepo import EnvRepo, render_layout
from unhazzle.devcluster import cluster as devcluster

PROJECT = "fleet"
TIMEOUT = 1800.0  # seconds a run may take before it is a failure
FLUX = {
    "version": "Flux v2.6.0 kustomize-controller",
    "figure": "1,000 Kustomizations in 4m16s, max memory 175 MiB",
    "source": "https://github.com/fluxcd/flux-benchmark/blob/main/RESULTS.md",
    "setup": "GitHub ubuntu-latest-16-cores runner, kind (3 nodes), controller 2 CPU / 1 GiB / "
    "concurrency 20; each app a Deployment scaled to zero, ServiceAccount, Service, Ingress",
}


def spec(environments: int, apps: int) -> str:
    lines = [f"version: 1\nproject: {PROJECT}\nregion: fsn1\nenvironments:"]
    lines += [f"  env{e:03d}: {{}}" for e in range(environments)]
    lines.append("apps:")
    for i in range(apps):
        lines.append(f"  app{i}:\n    image: ghcr.io/acme/app{i}:1.0\n    port: 8080")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Proc:
    shard: str
    code: int
    wall: float  # from the common start to this process's exit
    cpu: float  # user + system seconds
    rss_mb: int
    log: str  # its JSON log's last lines, for a failure


def _start_and_wait(argvs: list[tuple[str, list[str]]], logs: Path) -> list[Proc]:
    """Start every process at once; wait for each with wait4 (its CPU) under GNU time (its own
    peak memory: wait4's would count this benchmark's, see bench/_process.py)."""
    started = time.perf_counter()
    running = []
    for shard, argv in argvs:
        log = logs / f"shard-{shard.replace('/', '-')}.log"
        with log.open("w") as err:
            timed = with_peak(argv, log.with_suffix(".peak"))
            running.append((shard, log, subprocess.Popen(timed, stdout=subprocess.DEVNULL, stderr=err)))
    results: dict[str, Proc] = {}

    def wait(shard: str, log: Path, proc: subprocess.Popen[bytes]) -> None:
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-20:])
        peak = peak_mb(log.with_suffix(".peak"))
        results[shard] = Proc(shard, proc.returncode, time.perf_counter() - started,
                              usage.ru_utime + usage.ru_stime, peak, tail)  # fmt: skip

    threads = [threading.Thread(target=wait, args=item) for item in running]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [results[shard] for shard, _ in argvs]


def _run(work: Path, repo: EnvRepo, shards: int, environments: int, apps: int) -> tuple[list[Proc], PlaneCPU]:
    """One fresh plane, the fleet reconciled by `shards` processes, checked healthy; and the
    plane's CPU meanwhile."""
    state = work / f"cluster-{shards}"
    nodes = [f"kwok-node-{i}" for i in range(max(2, environments * apps // 160))]  # 250m CPU each, 56 a node
    try:
        meter = plane.start(state, nodes=nodes, timeout=300)
        kubeconfig = devcluster.kubeconfig_path(state)
        argvs = []
        for k in range(shards):
            argvs.append((f"{k}/{shards}", [
                sys.executable, "-m", "unhazzle", "reconcile", "--repo", repo.url, "--once",
                "--shard", f"{k}/{shards}", "--timeout", str(TIMEOUT), "--kubeconfig", str(kubeconfig),
                "--cache-dir", str(work / f"cache-{shards}-{k}")]))  # fmt: skip
        procs, spent = meter.during(lambda: _start_and_wait(argvs, work))
        _check(procs, kubeconfig, environments, apps)
        return procs, spent
    finally:
        devcluster.down(state)


def _check(procs: list[Proc], kubeconfig: Path, environments: int, apps: int) -> None:
    """Every process exited 0, every environment's status says healthy, every app has an instance."""
    for proc in procs:
        if proc.code != 0:
            raise SystemExit(f"FAILED: shard {proc.shard} exited {proc.code}; its log ends:\n{proc.log}")
    kubectl = [str(devcluster.find_binaries() / "kubectl"), "--kubeconfig", str(kubeconfig)]
    out = subprocess.run([*kubectl, "get", "configmap", "-A", "-l", "unhazzle.io/status=true", "-o", "json"],
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    statuses = [json.loads(item["data"]["status.json"]) for item in json.loads(out)["items"]]
    healthy = sum(1 for s in statuses if s["health"] == "healthy" and s["revision"] and not s["errors"])
    if healthy != environments:
        raise SystemExit(f"FAILED: {healthy} of {environments} environments report healthy")
    deployments = subprocess.run([*kubectl, "get", "deploy", "-A", "-l", "unhazzle.io/app", "-o", "json"],
                                 capture_output=True, text=True, check=True).stdout  # fmt: skip
    available = sum(
        1 for d in json.loads(deployments)["items"] if (d.get("status") or {}).get("availableReplicas")
    )
    if available != environments * apps:
        raise SystemExit(f"FAILED: {available} of {environments * apps} apps have an instance available")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.shards", description=__doc__)
    parser.add_argument("--environments", type=int, default=100)
    parser.add_argument("--apps", type=int, default=10, help="apps per environment")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bench-shards-"))
    try:
        repo = EnvRepo(work / "repo")
        files = render_layout(spec(args.environments, args.apps))
        objects = sum(text.count("\nkind: ") + text.startswith("kind: ") for p, text in files.items()
                      if p.endswith(".yaml"))  # fmt: skip
        repo.publish(files)
        runs = {}
        for shards in (1, 3):
            runs[shards] = (*_run(work, repo, shards, args.environments, args.apps), load_now())
            print(f"{shards} shard(s): done, load average {runs[shards][2]}", file=sys.stderr)
        _table(runs, args.environments, args.apps, objects)
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


Runs = dict[int, tuple[list[Proc], PlaneCPU, str]]  # shards -> their processes, the plane's CPU, the load


def _table(runs: Runs, environments: int, apps: int, objects: int) -> None:
    print(f"{environments * apps:,} apps in {environments} environments ({objects:,} objects), simulated "
          f"machines (kwok); every environment and app checked healthy before timing")  # fmt: skip
    print(f"{plane.setting(plane.CONTROLLER_QPS)}\n")
    head = f"{'run':<34}{'converged':>11}{'peak RSS per process':>24}{'CPU total':>11}"
    print(head + "".join(f"{c:>11}" for c in COLUMNS) + f"{'load':>15}")
    for shards, (procs, spent, load) in runs.items():
        label = "1 shard (1 process)" if shards == 1 else f"{shards} shards ({shards} processes in parallel)"
        wall = max(p.wall for p in procs)
        rss = " / ".join(f"{p.rss_mb}" for p in procs) + " MB"
        cpu = sum(p.cpu for p in procs)
        print(f"{label:<34}{wall:>10.1f}s{rss:>24}{cpu:>10.1f}s{spent.cells(11)}{load:>15}")
    print(f"{'peer (published, NOT run here)':<34}  {FLUX['version']}: {FLUX['figure']}")
    print(f"  source: {FLUX['source']}\n  its setup: {FLUX['setup']}")
    print("CPU total: the reconcilers'; API server, etcd, the rest: CPU s of the control plane's")
    print("processes meanwhile (the rest: controllers and scheduler making ReplicaSets and instances,")
    print("and the simulated machines)")
    print(f"\nThis machine: {os.cpu_count()} cores shared with other work; the {max(runs)} shards ran "
          "as processes side by side on it, with the control plane and kwok.")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
