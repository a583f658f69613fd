"""Benchmark: `unhazzle reconcile` against `kubectl apply --server-side`, same server.

    python -m bench.reconcile [--apps 500]

Starts the local control plane (tests/cluster binaries), renders a spec of N public apps in two
environments (500 apps: 4,016 objects), and times each step for both tools: the first sync into
empty namespaces, a run with nothing to change, and a one-app change. Each tool gets its own copy
of the project (same folders, another project name and other domains) so neither sees, or is
refused for, the other's objects; kubectl reads only the .yaml files (it cannot skip
`_index.json`). The peer is the kubectl built for the server's version (the plane's own cache),
never the machine's. Before any time is reported, both tools' objects are compared (count and
names per namespace); a kubectl run that failed stops the benchmark with a non-zero exit.

Also: a fresh `--once` process with nothing to do (the parse cache on disk, and with an empty
cache: clone and parse), the running loop's no-change passes, the loop's latency from a push to
the change being live, and our peak memory. Times are wall and process CPU (user + system) seconds
with the machine's load average: on a shared machine the wall time depends on the neighbours.
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
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench import plane
from bench._process import Run, load_now, run
from bench.plane import COLUMNS, Meter, PlaneCPU
from tests.support.envrepo import EnvRepo, render_layout
from unhazzle.devcluster import cluster as devcluster

INTERVAL = 5.0
FRESH_ONCE_TARGET = 2.0  # seconds, for a fresh `--once` with nothing to do at about 4,000 objects


def spec(project: str, apps: int, *, tag: str = "1.0") -> str:
    lines = [
        f"version: 1\nproject: {project}\nregion: fsn1\n"
        "environments:\n  production: {rollback: manual}\n  staging: {rollback: manual}\napps:"
    ]
    for i in range(apps):
        image = f"ghcr.io/acme/app{i}:{tag if i == 0 else '1.0'}"
        lines.append(
            f"  app{i}:\n    image: {image}\n    port: 8080\n"
            f"    public: true\n    domains: [app{i}.{project}.example.com]"
        )
    return "\n".join(lines) + "\n"


@dataclass
class Peer:
    """The kubectl matching the server, and the kubeconfig it talks through."""

    binary: Path
    kubeconfig: Path
    meter: Meter  # the control plane's CPU, read around each step (plane.py)
    version: str = field(init=False)

    def __post_init__(self) -> None:
        done = self.run("version", "--client", "-o", "json")
        if done.code != 0:
            raise SystemExit(f"FAILED: {self.binary} does not run:\n{done.err[-2000:]}")
        self.version = str(json.loads(done.out)["clientVersion"]["gitVersion"])

    def run(self, *args: str) -> Run:
        return run([str(self.binary), *args], env={**os.environ, "KUBECONFIG": str(self.kubeconfig)})

    def apply(self, folder: Path) -> Run:
        # `--prune` is refused with --server-side ("in alpha and doesn't currently work on objects
        # created by server-side apply", kubectl 1.35) unless the alpha ApplySet is used, so kubectl
        # runs without it: a comparison that favours kubectl (it skips the listing pruning needs).
        # -v=6 logs one line per request (with its time in milliseconds): they are counted.
        done = self.run("apply", "--server-side", "--force-conflicts", "-R", "-f", str(folder), "-v=6")
        said = [line for line in done.err.splitlines() if "milliseconds" not in line]
        if done.code != 0 or any("error" in line.lower() for line in said):
            raise SystemExit(f"FAILED: kubectl apply exited {done.code}; no figures reported:\n"
                             + "\n".join(said)[-2000:])  # fmt: skip
        return done

    @staticmethod
    def requests(done: Run) -> int:
        return sum("milliseconds" in line for line in done.err.splitlines())


@dataclass(frozen=True)
class Pass:
    """A fresh `unhazzle reconcile --once` process, and the `reconcile.pass` record it logged."""

    proc: Run
    record: dict[str, object]

    @property
    def writes(self) -> int:
        return int(str(self.record["writes"]))

    @property
    def requests(self) -> int:
        counts = self.record.get("requests") or {}
        return sum(int(n) for n in counts.values()) if isinstance(counts, dict) else 0


def ours(repo: EnvRepo, kubeconfig: Path, cache: Path) -> Pass:
    argv = [sys.executable, "-m", "unhazzle", "reconcile", "--repo", repo.url, "--once", "--timeout", "0",
            "--kubeconfig", str(kubeconfig), "--cache-dir", str(cache)]  # fmt: skip
    done = run(argv)
    passes = [json.loads(line) for line in done.err.splitlines() if '"reconcile.pass"' in line]
    if not passes or passes[-1].get("result") != "ok":
        raise SystemExit(f"FAILED: unhazzle reconcile did not pass:\n{done.err[-3000:]}")
    return Pass(done, passes[-1])


@dataclass(frozen=True)
class Step:
    """One step by both tools, each with the control plane's CPU during its run."""

    ours: Pass
    theirs: Run
    our_plane: PlaneCPU
    their_plane: PlaneCPU


def step(peer: Peer, mine: Callable[[], Pass], theirs: Callable[[], Run]) -> Step:
    """Each tool's run with the plane settled first: the controllers' work on what one tool
    wrote (ReplicaSets, instances) is then in neither tool's reading."""
    peer.meter.settle()
    done, ours_spent = peer.meter.during(mine)
    peer.meter.settle()
    peer_done, theirs_spent = peer.meter.during(theirs)
    return Step(done, peer_done, ours_spent, theirs_spent)


def yaml_folder(files: dict[str, str], target: Path) -> None:
    shutil.rmtree(target, ignore_errors=True)
    for rel, text in files.items():
        if rel.endswith(".yaml"):
            (target / rel).parent.mkdir(parents=True, exist_ok=True)
            (target / rel).write_text(text)


def expected_names(files: dict[str, str]) -> dict[str, set[str]]:
    """Environment -> `kind.group/name` (as `kubectl get -o name` says it) of each rendered object."""
    import yaml  # only here: the rest of the bench reads no YAML

    names: dict[str, set[str]] = {}
    for path, text in files.items():
        if path.endswith(".yaml"):
            for doc in filter(None, yaml.safe_load_all(text)):
                group = doc["apiVersion"].rpartition("/")[0]
                kind = doc["kind"].lower() + (f".{group}" if group else "")
                names.setdefault(path.split("/")[1], set()).add(f"{kind}/{doc['metadata']['name']}")
    return names


def same_objects(peer: Peer, files: dict[str, str]) -> str:
    """Check both tools made every rendered object, in each namespace; a line saying so. (The
    cluster and the reconciler add their own there -- the default ServiceAccount, the
    environment's applier, the inventory -- so what is compared is the rendered objects.)"""
    wanted = expected_names(files)
    for environment, names in sorted(wanted.items()):
        kinds = sorted({n.split("/")[0] for n in names} - {"namespace"})
        want = {n for n in names if not n.startswith("namespace/")}
        for project in ("ours", "theirs"):
            namespace = f"{project}-{environment}"
            got = peer.run("get", ",".join(kinds), "-n", namespace, "-o", "name")
            missing = sorted(want - set(got.out.split()))
            if got.code != 0 or missing or peer.run("get", "namespace", namespace).code != 0:
                raise SystemExit(
                    f"FAILED: {namespace} lacks {len(missing)} of the {len(want)} rendered objects "
                    f"(first: {missing[:5]}); no figures reported\n{got.err[-1000:]}"
                )
    count = sum(len(n) for n in wanted.values())
    return f"both tools made the same {count} objects (names per namespace checked)"


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
        raise SystemExit(f"FAILED: the loop stopped after {len(passes)} passes")
    return passes


def loop_latency(repo: EnvRepo, peer: Peer, cache: Path, apps: int) -> float:
    """Seconds from a push to the changed app being live, with the loop at --interval 5."""
    argv = [sys.executable, "-m", "unhazzle", "reconcile", "--repo", repo.url, "--interval", str(INTERVAL),
            "--timeout", "0", "--no-leader-election", "--kubeconfig", str(peer.kubeconfig),
            "--cache-dir", str(cache)]  # fmt: skip
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(INTERVAL + 3)  # past its first (no-change) pass
        repo.publish(render_layout(spec("ours", apps, tag="3.0")))
        pushed = time.perf_counter()
        path = "{.spec.template.spec.containers[0].image}"
        while time.perf_counter() - pushed < 60:
            image = peer.run("get", "deploy", "app0", "-n", "ours-production", "-o", f"jsonpath={path}").out
            if image.endswith(":3.0"):
                return time.perf_counter() - pushed
            time.sleep(0.1)
        return float("inf")
    finally:
        proc.terminate()
        proc.wait(30)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.reconcile", description=__doc__)
    parser.add_argument("--apps", type=int, default=500)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bench-reconcile-"))
    state = work / "cluster"
    try:
        meter = plane.start(state, qps=0)  # (plane.py: why the default here)
        peer = Peer(devcluster.find_binaries() / "kubectl", devcluster.kubeconfig_path(state), meter)
        return measure(work, peer, args.apps)
    finally:
        devcluster.down(state)
        shutil.rmtree(work, ignore_errors=True)


def measure(work: Path, peer: Peer, apps: int) -> int:
    repo = EnvRepo(work / "repo")
    files = render_layout(spec("ours", apps))
    repo.publish(files)
    theirs = work / "kubectl"
    yaml_folder(render_layout(spec("theirs", apps)), theirs)
    cache = work / "cache"
    steps: dict[str, Step] = {}

    def both() -> Step:  # ours, then kubectl, on the same objects
        return step(peer, lambda: ours(repo, peer.kubeconfig, cache), lambda: peer.apply(theirs))

    steps["first sync"] = both()
    checked = same_objects(peer, files)
    steps["no change"] = both()
    cold = ours(repo, peer.kubeconfig, work / "cache-empty")  # clones and parses: nothing on disk
    repo.publish(render_layout(spec("ours", apps, tag="2.0")))
    yaml_folder(render_layout(spec("theirs", apps, tag="2.0")), theirs)
    steps["one-app change"] = both()
    load_steps = load_now()
    warm = loop_passes(repo, peer.kubeconfig, work / "cache-warm")[1:]  # the first proves, the rest skip
    load_loop = load_now()
    latency = loop_latency(repo, peer, work / "cache-loop", apps)
    objects = sum(len(n) for n in expected_names(files).values())
    report(
        apps, objects, peer, checked, steps, cold, warm, latency, loads=(load_steps, load_loop, load_now())
    )
    return 0


def report(
    apps: int,
    objects: int,
    peer: Peer,
    checked: str,
    steps: dict[str, Step],
    cold: Pass,
    warm: list[dict[str, object]],
    latency: float,
    *,
    loads: tuple[str, str, str],
) -> None:
    print(f"{apps} apps, {objects} objects, two environments; peer kubectl {peer.version} (the server's); "
          f"{checked}; load average {loads[0]} after the steps\n{plane.setting(0)}\n")  # fmt: skip
    print(f"{'step':<38}{'unhazzle':>9}{'CPU':>7}{'(pass)':>8}{'requests':>9}{'writes':>7}"
          f"{'kubectl':>9}{'CPU':>7}{'requests':>9}{'ratio':>7}{'peak MB':>8}")  # fmt: skip
    for name, done in steps.items():
        print(_row(name, done.ours, done.theirs))
    print(_row("no change, empty cache (clone, parse)", cold, None))
    where(steps)
    fresh = steps["no change"].ours.proc
    met = "met" if fresh.wall < FRESH_ONCE_TARGET else "MISSED"
    print(f"\nfresh `--once` with nothing to do: {fresh.wall:.2f} s wall, {fresh.cpu:.2f} s CPU "
          f"(target: under {FRESH_ONCE_TARGET:g} s: {met})")  # fmt: skip
    walls, cpus = [_num(p["duration_s"]) for p in warm], [_num(p.get("cpu_s", 0)) for p in warm]
    writes = sum(int(str(p["writes"])) for p in warm)
    met = "met" if statistics.median(walls) < 1 and writes == 0 else "MISSED"
    print(f"running loop, {len(warm)} no-change passes after its first: wall median "
          f"{statistics.median(walls):.2f} s (min {min(walls):.2f}, max {max(walls):.2f}), CPU median "
          f"{statistics.median(cpus):.2f} s, writes {writes}; load average {loads[1]} "
          f"(target: under 1 s, 0 writes: {met})")  # fmt: skip
    met = "met" if latency <= INTERVAL + 2 else "MISSED"
    print(f"loop at --interval {INTERVAL:g}: a pushed one-app change was live after {latency:.1f} s; load "
          f"average {loads[2]} (target: interval + 2 s = {INTERVAL + 2:g} s: {met})")  # fmt: skip
    print("ratio = kubectl wall / unhazzle wall (above 1: unhazzle is faster); CPU = the process's user + "
          "system seconds; (pass) = the pass alone, from its log; requests: ours from the pass log, "
          "kubectl's from its -v=6 log (one line per request)")  # fmt: skip


def where(steps: dict[str, Step]) -> None:
    """Where each step's CPU went: the tool's process, or the control plane serving it."""
    parts = "".join(f"{c:>11}" for c in COLUMNS)
    print("\nwhere the CPU went, seconds: the tool's process, then the control plane during its run")
    print(f"{'step':<38}{'unhazzle':>9}{parts}  |{'kubectl':>9}{parts}")
    for name, done in steps.items():
        print(f"{name:<38}{done.ours.proc.cpu:>9.2f}{done.our_plane.cells(11)}  |"
              f"{done.theirs.cpu:>9.2f}{done.their_plane.cells(11)}")  # fmt: skip
    print("the rest: controllers, scheduler and simulated machines; each tool's run starts on a settled")
    print("plane (under 0.3 of a core), so the controllers' work on the other tool's writes is in neither")


def _row(step: str, mine: Pass, theirs: Run | None) -> str:
    line = (f"{step:<38}{mine.proc.wall:>9.2f}{mine.proc.cpu:>7.2f}{_num(mine.record['duration_s']):>8.2f}"
            f"{mine.requests:>9}{mine.writes:>7}")  # fmt: skip
    if theirs is None:
        return f"{line}{'-':>9}{'-':>7}{'-':>9}{'-':>7}{mine.proc.rss:>8}"
    line += f"{theirs.wall:>9.2f}{theirs.cpu:>7.2f}{Peer.requests(theirs):>9}"
    return f"{line}{theirs.wall / mine.proc.wall:>6.1f}x{mine.proc.rss:>8}"


def _num(value: object) -> float:
    return float(str(value))


if __name__ == "__main__":
    sys.exit(main())
