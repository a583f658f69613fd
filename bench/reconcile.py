"""Benchmark: `unhazzle reconcile` against `kubectl apply --server-side`, same server.

    python -m bench.reconcile [--apps 200]

Starts the local control plane (tests/cluster binaries), renders a spec of N public apps in two
environments (200 apps: 1,616 objects), and times three steps for each tool: the first sync into empty
namespaces, a no-change run, and a one-app change. Each tool gets its own copy of the project
(same folders, a different project name) so neither sees the other's objects. kubectl reads only
the .yaml files (it cannot skip `_index.json`). Also: the running loop's no-change passes (where
objects proved unchanged in an earlier pass are skipped), the loop's latency from a push to the
change being live, and our peak memory. Pass times are wall and CPU seconds, and the machine's
load average is printed: on a shared machine the wall time depends on the neighbours.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from tests.support.envrepo import EnvRepo, render_layout
from unhazzle.devcluster import cluster as devcluster

INTERVAL = 5.0


def spec(project: str, apps: int, *, tag: str = "1.0") -> str:
    lines = [
        f"version: 1\nproject: {project}\nregion: fsn1\n"
        "environments:\n  production: {}\n  staging: {}\napps:"
    ]
    for i in range(apps):
        image = f"ghcr.io/acme/app{i}:{tag if i == 0 else '1.0'}"
        lines.append(
            f"  app{i}:\n    image: {image}\n    port: 8080\n"
            f"    public: true\n    domains: [app{i}.example.com]"
        )
    return "\n".join(lines) + "\n"


def run(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, int, str, str]:
    """Wall seconds, peak RSS in MB, stdout, stderr of one process."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    streams: dict[str, bytes] = {}
    readers = [threading.Thread(target=lambda n=n, s=s: streams.__setitem__(n, s.read()))
               for n, s in (("out", proc.stdout), ("err", proc.stderr))]  # fmt: skip
    for reader in readers:
        reader.start()
    _, status, usage = os.wait4(proc.pid, 0)  # this process's own peak memory, KiB on Linux
    proc.returncode = os.waitstatus_to_exitcode(status)
    for reader in readers:
        reader.join()
    elapsed = time.perf_counter() - started
    return elapsed, usage.ru_maxrss // 1024, streams["out"].decode(), streams["err"].decode()


def ours(repo: EnvRepo, kubeconfig: Path, cache: Path) -> tuple[float, int, dict[str, object]]:
    argv = [sys.executable, "-m", "unhazzle", "reconcile", "--repo", repo.url, "--once", "--timeout", "0",
            "--kubeconfig", str(kubeconfig), "--cache-dir", str(cache)]  # fmt: skip
    elapsed, rss, _, err = run(argv)
    passes = [json.loads(line) for line in err.splitlines() if '"reconcile.pass"' in line]
    if not passes:
        raise SystemExit(f"reconcile failed:\n{err[-2000:]}")
    return elapsed, rss, passes[-1]


def kubectl(folder: Path, kubeconfig: Path) -> float:
    # `--prune` is refused with --server-side ("in alpha and doesn't currently work on objects
    # created by server-side apply", kubectl 1.35) unless the alpha ApplySet is used, so kubectl
    # runs without it: a comparison that favours kubectl (it skips the listing pruning needs).
    argv = ["kubectl", "apply", "--server-side", "--force-conflicts", "-R", "-f", str(folder)]
    elapsed, _, _, err = run(argv, env={**os.environ, "KUBECONFIG": str(kubeconfig)})
    if "error" in err.lower():
        raise SystemExit(f"kubectl failed:\n{err[-2000:]}")
    return elapsed


def yaml_folder(files: dict[str, str], target: Path) -> None:
    shutil.rmtree(target, ignore_errors=True)
    for rel, text in files.items():
        if rel.endswith(".yaml"):
            (target / rel).parent.mkdir(parents=True, exist_ok=True)
            (target / rel).write_text(text)


def loop_passes(repo: EnvRepo, kubeconfig: Path, cache: Path, *, count: int = 8) -> list[dict[str, object]]:
    """The `reconcile.pass` records of a running loop at --interval 1, nothing pushed meanwhile."""
    argv = [sys.executable, "-m", "unhazzle", "reconcile", "--repo", repo.url, "--interval", "1",
            "--timeout", "0", "--no-leader-election", "--kubeconfig", str(kubeconfig),
            "--cache-dir", str(cache)]  # fmt: skip
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    passes: list[dict[str, object]] = []
    try:
        assert proc.stderr is not None
        for line in proc.stderr:
            if '"reconcile.pass"' in line:
                passes.append(json.loads(line))
                if len(passes) >= count:
                    break
    finally:
        proc.terminate()
        proc.communicate(timeout=60)
    if len(passes) < count:
        raise SystemExit(f"the loop stopped after {len(passes)} passes")
    return passes


def loop_latency(repo: EnvRepo, kubeconfig: Path, cache: Path, apps: int) -> float:
    """Seconds from a push to the changed app being live, with the loop at --interval 5."""
    argv = [sys.executable, "-m", "unhazzle", "reconcile", "--repo", repo.url, "--interval", str(INTERVAL),
            "--timeout", "0", "--no-leader-election", "--kubeconfig", str(kubeconfig),
            "--cache-dir", str(cache)]  # fmt: skip
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(INTERVAL + 3)  # past its first (no-change) pass
        repo.publish(render_layout(spec("ours", apps, tag="3.0")))
        pushed = time.perf_counter()
        env = {**os.environ, "KUBECONFIG": str(kubeconfig)}
        path = "{.spec.template.spec.containers[0].image}"
        while time.perf_counter() - pushed < 60:
            get = ["kubectl", "get", "deploy", "app0", "-n", "ours-production", "-o", f"jsonpath={path}"]
            image = subprocess.run(get, capture_output=True, text=True, env=env).stdout
            if image.endswith(":3.0"):
                return time.perf_counter() - pushed
            time.sleep(0.1)
        return float("inf")
    finally:
        proc.terminate()
        proc.wait(30)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.reconcile", description=__doc__)
    parser.add_argument("--apps", type=int, default=200)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bench-reconcile-"))
    state = work / "cluster"
    try:
        devcluster.up(state, tie_to_parent=True)
        return measure(work, devcluster.kubeconfig_path(state), args.apps)
    finally:
        devcluster.down(state)
        shutil.rmtree(work, ignore_errors=True)


def measure(work: Path, kubeconfig: Path, apps: int) -> int:
    repo = EnvRepo(work / "repo")
    files = render_layout(spec("ours", apps))
    objects = sum(text.count("\nkind: ") for p, text in files.items() if p.endswith(".yaml"))
    repo.publish(files)
    theirs = work / "kubectl"
    yaml_folder(render_layout(spec("theirs", apps)), theirs)
    rows = []
    for step, change in (("first sync", False), ("no change", False), ("one-app change", True)):
        if change:
            repo.publish(render_layout(spec("ours", apps, tag="2.0")))
            yaml_folder(render_layout(spec("theirs", apps, tag="2.0")), theirs)
        t_ours, rss, stats = ours(repo, kubeconfig, work / "cache")
        t_kubectl = kubectl(theirs, kubeconfig)
        rows.append((step, t_ours, _num(stats["duration_s"]), _num(stats.get("cpu_s", 0)),
                     int(str(stats["writes"])), t_kubectl, rss))  # fmt: skip
        print(f"{step}: done, load average {_load()}", file=sys.stderr)
    warm = loop_passes(repo, kubeconfig, work / "cache-warm")[1:]  # the first pass proves, the rest skip
    load = _load()
    latency = loop_latency(repo, kubeconfig, work / "cache-loop", apps)
    print(f"{apps} apps, {objects} objects, two environments; times in seconds (process wall clock)\n")
    print(f"{'step':<16}{'unhazzle':>10}{'(pass)':>9}{'pass CPU':>10}{'writes':>8}{'kubectl':>10}"
          f"{'ratio':>8}{'peak MB':>9}")  # fmt: skip
    for step, t_ours, t_pass, cpu, writes, t_kubectl, rss in rows:
        print(
            f"{step:<16}{t_ours:>10.2f}{t_pass:>9.2f}{cpu:>10.2f}{writes:>8}{t_kubectl:>10.2f}"
            f"{t_kubectl / t_ours:>7.1f}x{rss:>9}"
        )
    walls, cpus = [_num(p["duration_s"]) for p in warm], [_num(p.get("cpu_s", 0)) for p in warm]
    print(f"\nrunning loop, {len(warm)} no-change passes after its first: wall median "
          f"{statistics.median(walls):.2f} s (min {min(walls):.2f}, max {max(walls):.2f}), CPU median "
          f"{statistics.median(cpus):.2f} s, writes {sum(int(str(p['writes'])) for p in warm)}; "
          f"load average {load} (target: under 1 s, 0 writes)")  # fmt: skip
    print(f"loop at --interval {INTERVAL:g}: a pushed one-app change was live after {latency:.1f} s "
          f"(target: interval + 2 s = {INTERVAL + 2:g} s)")  # fmt: skip
    print("ratio = kubectl time / unhazzle time (above 1: unhazzle is faster)")
    return 0


def _num(value: object) -> float:
    return float(str(value))


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


if __name__ == "__main__":
    sys.exit(main())
