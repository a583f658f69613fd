"""Benchmark: 1,000 apps converge -- `unhazzle reconcile --once` (apply, then wait until every app
is healthy) against `kubectl apply --server-side` + `kubectl wait`, on the same server.

    python -m bench.converge [--apps 1000] [--code DIR]

Starts the local control plane (simulated machines), renders a spec of N public apps in one
environment (1,000 apps: 4,008 objects) for each tool under its own project name, and times each
from nothing to every app available (ours first; its namespace is then deleted, and the plane
left to settle, so kubectl's run has the plane to itself as ours had). For both it prints wall
time, process CPU (user + system, the fair figure on a shared machine), peak memory, the control
plane's CPU, and the LIST and WATCH requests the API server counted for namespaced objects
during its run (its own `apiserver_request_total`: the simulated
machines and the controllers list and watch cluster-wide, so these are the tool's own). Most of
the wall time is the controllers creating instances; what the reconciler spends following health
shows in its CPU. `--code DIR` runs the reconciler from another checkout (an earlier version,
for a before/after figure); the benchmark itself stays this one.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench import plane
from bench._process import load_now, run
from bench.plane import COLUMNS, Meter, PlaneCPU
from tests.support.envrepo import EnvRepo, render_layout
from unhazzle.devcluster import cluster as devcluster

ROOT = Path(__file__).resolve().parent.parent  # the checkout whose reconciler runs by default
TIMEOUT_S = 1800
KINDS = "deployments,services,horizontalpodautoscalers,ingresses,networkpolicies,resourcequotas,limitranges"
_COUNTER = re.compile(r"^apiserver_request_total\{([^}]*)\} ([0-9.e+]+)$")


@dataclass
class Measured:
    wall: float
    cpu: float
    rss_mb: int
    lists: int
    watches: int
    pass_cpu: float | None = None  # the reconciler's apply pass alone (its `reconcile.pass` log)
    plane: PlaneCPU | None = None  # the control plane's CPU during the run (plane.py)


def spec(project: str, apps: int) -> str:
    lines = [f"version: 1\nproject: {project}\nregion: fsn1\nenvironments:\n  production: {{}}\napps:"]
    for i in range(apps):
        lines.append(
            f"  app{i}:\n    image: ghcr.io/acme/app{i}:1.0\n    port: 8080\n"
            f"    public: true\n    domains: [app{i}.example.com]"
        )
    return "\n".join(lines) + "\n"


def requests(kubectl: Path, env: dict[str, str]) -> tuple[int, int]:
    """LIST and WATCH requests of namespaced objects the API server has counted so far."""
    text = subprocess.run([str(kubectl), "get", "--raw", "/metrics"], env=env, capture_output=True,
                          text=True, check=True).stdout  # fmt: skip
    counts = {"LIST": 0.0, "WATCH": 0.0}
    for line in text.splitlines():
        found = _COUNTER.match(line)
        if found and 'scope="namespace"' in found[1]:
            verb = re.search(r'verb="(\w+)"', found[1])
            if verb and verb[1] in counts:
                counts[verb[1]] += float(found[2])
    return int(counts["LIST"]), int(counts["WATCH"])


def measured(kubectl: Path, env: dict[str, str], meter: Meter, *argvs: list[str]) -> Measured:
    """Run `argvs` one after another; fail loudly when one does not succeed."""
    lists, watches = requests(kubectl, env)
    plane_before = meter.read()
    total = Measured(0.0, 0.0, 0, 0, 0)
    for argv in argvs:
        # in the temporary folder: `python -m` would import this checkout's code from the current one
        done = run(argv, env, cwd=tempfile.gettempdir())
        if done.code != 0:
            raise SystemExit(f"FAILED (exit {done.code}): {' '.join(argv[:4])} ...\n{done.err[-3000:]}")
        total.wall, total.cpu = total.wall + done.wall, total.cpu + done.cpu
        total.rss_mb = max(total.rss_mb, done.rss)
        passes = [json.loads(line) for line in done.err.splitlines() if '"reconcile.pass"' in line]
        if passes:
            total.pass_cpu = sum(float(p.get("cpu_s", 0)) for p in passes)
    total.plane = meter.read() - plane_before
    time.sleep(2)  # a watch is counted when it ends: let the server see the closed connections
    after = requests(kubectl, env)
    total.lists, total.watches = after[0] - lists, after[1] - watches
    return total


def objects_in(kubectl: Path, env: dict[str, str], project: str, apps: int) -> list[tuple[str, str]]:
    """The (kind, name) of the project's objects, every app available; else fail loudly."""
    out = subprocess.run([str(kubectl), "get", KINDS, "-n", f"{project}-production", "-o", "json"],
                         env=env, capture_output=True, text=True, check=True).stdout  # fmt: skip
    items = json.loads(out)["items"]
    ready = [o for o in items if o["kind"] == "Deployment" and _available(o)]
    if len(ready) != apps:
        raise SystemExit(f"FAILED: {project}-production has {len(ready)} of {apps} apps available")
    return sorted((o["kind"], o["metadata"]["name"]) for o in items)


def same_objects(ours: list[tuple[str, str]], theirs: list[tuple[str, str]], apps: int) -> str:
    """Both tools made the same objects; else fail loudly."""
    if ours != theirs:
        differ = sorted(set(ours) ^ set(theirs))[:10]
        raise SystemExit(f"FAILED: the two namespaces hold different objects, e.g. {differ}")
    return f"{len(ours)} objects, {apps} of {apps} apps available, in both"


def cleared(kubectl: Path, env: dict[str, str], project: str, meter: Meter) -> float:
    """The project's namespace deleted and gone, and the plane settled: seconds taken. Its 1,000
    autoscalers (which the controller manager reads every 15 s) and instances would otherwise
    load the plane during the next tool's run, and not during the first's."""
    started = time.monotonic()
    subprocess.run([str(kubectl), "delete", "namespace", f"{project}-production", "--wait=true",
                    f"--timeout={TIMEOUT_S}s"], env=env, capture_output=True, check=True)  # fmt: skip
    meter.settle()
    return time.monotonic() - started


def _available(deployment: dict[str, object]) -> bool:
    status = deployment.get("status") or {}
    assert isinstance(status, dict)
    return any(c["type"] == "Available" and c["status"] == "True" for c in status.get("conditions") or [])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.converge", description=__doc__)
    parser.add_argument("--apps", type=int, default=1000)
    parser.add_argument("--code", type=Path, help="run the reconciler from this checkout instead")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bench-converge-"))
    state = work / "cluster"
    try:
        # Room for both tools' instances (250m of CPU each) on 56-CPU simulated machines.
        machines = 2 + (2 * args.apps * 250) // (56 * 1000)
        meter = plane.start(state, nodes=[f"kwok-node-{i}" for i in range(machines)])
        return measure(work, devcluster.kubeconfig_path(state), meter, args.apps, args.code)
    finally:
        devcluster.down(state)
        shutil.rmtree(work, ignore_errors=True)


def measure(work: Path, kubeconfig: Path, meter: Meter, apps: int, code: Path | None) -> int:
    kubectl = devcluster.cache_bin_dir() / "kubectl"
    env = {**os.environ, "KUBECONFIG": str(kubeconfig)}
    version = json.loads(subprocess.run([str(kubectl), "version", "-o", "json"], env=env,
                                        capture_output=True, text=True, check=True).stdout)  # fmt: skip
    repo = EnvRepo(work / "repo")
    files = render_layout(spec("ours", apps))
    objects = sum(text.count("\nkind: ") for p, text in files.items() if p.endswith(".yaml"))
    repo.publish(files)
    folder = work / "kubectl"
    for rel, text in render_layout(spec("theirs", apps)).items():
        if rel.endswith(".yaml"):
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            (folder / rel).write_text(text)
    ours_env = {**env, "PYTHONPATH": str((code or ROOT).resolve())}
    ours = measured(kubectl, ours_env, meter, [sys.executable, "-m", "unhazzle", "reconcile", "--repo",
                    repo.url, "--once", "--timeout", str(TIMEOUT_S), "--kubeconfig", str(kubeconfig),
                    "--cache-dir", str(work / "cache")])  # fmt: skip
    load_ours = load_now()
    seen_ours = objects_in(kubectl, env, "ours", apps)
    clearing = cleared(kubectl, env, "ours", meter)
    theirs = measured(
        kubectl, env, meter,
        [str(kubectl), "apply", "--server-side", "--force-conflicts", "-R", "-f", str(folder)],
        [str(kubectl), "wait", "--for=condition=Available", "deployment", "--all", "-n",
         "theirs-production", f"--timeout={TIMEOUT_S}s"],
    )  # fmt: skip
    checked = same_objects(seen_ours, objects_in(kubectl, env, "theirs", apps), apps)
    client, server = version["clientVersion"]["gitVersion"], version["serverVersion"]["gitVersion"]
    print(f"{apps} apps, {objects} objects, one environment, from nothing to every app available; "
          f"kubectl {client}, server {server}; {checked}")  # fmt: skip
    print(f"load average during ours {load_ours}, after kubectl {load_now()}; "
          f"reconciler from {code or 'this checkout'}; {plane.setting(plane.CONTROLLER_QPS)}; "
          f"ours was deleted and the plane settled ({clearing:.0f} s) before kubectl ran\n")  # fmt: skip
    print(f"{'tool':<44}{'wall s':>8}{'CPU s':>8}{'(apply)':>9}{'peak MB':>9}{'LISTs':>7}{'WATCHes':>9}"
          + "".join(f"{c:>12}" for c in COLUMNS))  # fmt: skip
    rows = (("unhazzle reconcile --once", ours), ("kubectl apply --server-side + kubectl wait", theirs))
    for name, m in rows:
        applying = f"{m.pass_cpu:.1f}" if m.pass_cpu is not None else "-"
        spent = m.plane.cells(12) if m.plane else ""
        print(
            f"{name:<44}{m.wall:>8.1f}{m.cpu:>8.1f}{applying:>9}{m.rss_mb:>9}{m.lists:>7}{m.watches:>9}{spent}"
        )
    print("CPU s: the whole process, user + system; (apply): the reconciler's apply passes alone, the")
    print("rest of its CPU is starting, reading the commit and following health until every app is available")
    print("API server, etcd, the rest: CPU s of the control plane's processes during the tool's run")
    print("(the rest: controllers and scheduler making ReplicaSets and instances, the simulated machines)")
    print("\ntarget: reconciler CPU under 15 s and peak memory under 150 MB, health followed by WATCHes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
