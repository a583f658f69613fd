"""Benchmark: `unhazzle status` for an environment of N apps, against the real control plane.

    python -m bench.status [--apps 50] [--runs 5] [--kubeconfig FILE]

Starts the local control plane (tests/cluster binaries) unless --kubeconfig is given, applies a
rendered spec of N apps with two instances each (kwok runs them), and times:
- `status` in-process (read the cluster and build the report; the target: under 1 s),
- `status` as a fresh process (Python start-up and imports included),
- the peer: `kubectl get deployments,pods,hpa,pvc,configmaps -o json` for the same environment, which
  reads the same objects and explains nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench import peers
from unhazzle.devcluster import cluster as devcluster

PROJECT = "bench"


def spec(apps: int) -> str:
    lines = [f"version: 1\nproject: {PROJECT}\nregion: fsn1\nenvironments:\n  production: {{}}\napps:"]
    for i in range(apps):
        lines.append(
            f"  app{i}:\n    image: ghcr.io/acme/app{i}:1.0\n    port: 8080\n"
            f"    instances: {{min: 2, max: 2}}\n    health: {{path: /healthz}}"
        )
    return "\n".join(lines) + "\n"


def deploy(spec_path: Path, out: Path, kubeconfig: Path, apps: int) -> None:
    """Render with unhazzle, apply with kubectl, scale to two instances (no metrics service, so
    the autoscaler does not), and wait until every instance is ready."""
    env = {**os.environ, "KUBECONFIG": str(kubeconfig)}
    unhazzle = [sys.executable, "-m", "unhazzle"]
    subprocess.run(
        [*unhazzle, "render", str(spec_path), "--out", str(out)], check=True, env=env, capture_output=True
    )
    folder = out / "production"
    subprocess.run(
        [_kubectl(), "apply", "--server-side", "-f", str(folder / "_environment.yaml")],
        check=True,
        env=env,
        capture_output=True,
    )
    subprocess.run(
        [_kubectl(), "apply", "--server-side", "-f", str(folder)], check=True, env=env, capture_output=True
    )
    ns = f"{PROJECT}-production"
    subprocess.run(
        [_kubectl(), "-n", ns, "scale", "deployment", "--all", "--replicas=2"],
        check=True,
        env=env,
        capture_output=True,
    )
    subprocess.run(
        [_kubectl(), "-n", ns, "wait", "deployment", "--all", "--for=condition=Available", "--timeout=300s"],
        check=True, env=env, capture_output=True,
    )  # fmt: skip
    pods = subprocess.run(
        [_kubectl(), "-n", ns, "get", "pods", "--no-headers"], env=env, capture_output=True, text=True
    )
    print(f"deployed {apps} apps, {len(pods.stdout.splitlines())} instances")


def _kubectl() -> str:
    return str(peers.kubectl())


def timed(fn: Callable[[], object], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return times


def in_process(spec_path: Path, kubeconfig: Path) -> Callable[[], object]:
    from unhazzle.commands import status, target
    from unhazzle.observe import reads as observe

    args = argparse.Namespace(app=None, env="production", spec=str(spec_path), project=None, kubeconfig=None)
    tgt = target.resolve(args)
    reader = observe.connect(str(kubeconfig))
    return lambda: status.render(status.collect(tgt, reader), "text")


def command(argv: list[str], kubeconfig: Path) -> Callable[[], object]:
    env = {**os.environ, "KUBECONFIG": str(kubeconfig)}
    return lambda: subprocess.run(argv, check=True, env=env, capture_output=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.status", description=__doc__)
    parser.add_argument("--apps", type=int, default=50)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--kubeconfig", type=Path)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-status-") as tmp:
        work = Path(tmp)
        kubeconfig = args.kubeconfig
        if kubeconfig is None:
            devcluster.up(work / "cluster", tie_to_parent=True)
            kubeconfig = devcluster.kubeconfig_path(work / "cluster")
        try:
            return _measure(work, kubeconfig, apps=args.apps, runs=args.runs)
        finally:
            if args.kubeconfig is None:
                devcluster.down(work / "cluster")


def _measure(work: Path, kubeconfig: Path, *, apps: int, runs: int) -> int:
    spec_path = work / "unhazzle.yaml"
    spec_path.write_text(spec(apps))
    deploy(spec_path, work / "out", kubeconfig, apps)
    ns = f"{PROJECT}-production"
    peer_argv = [_kubectl(), "-n", ns, "get", "deployments,pods,hpa,pvc,configmaps", "-o", "json"]
    seen = json.loads(
        subprocess.run(
            peer_argv, check=True, capture_output=True, env={**os.environ, "KUBECONFIG": str(kubeconfig)}
        ).stdout
    )
    deployments = sum(1 for item in seen["items"] if item["kind"] == "Deployment")
    if deployments != apps:
        raise peers.PeerFailed(f"kubectl get saw {deployments} deployments, not {apps}")
    load = os.getloadavg()[0]
    rows = {
        "unhazzle status (in-process)": timed(in_process(spec_path, kubeconfig), runs),
        "unhazzle status (new process)": timed(
            command([sys.executable, "-m", "unhazzle", "status", "--spec", str(spec_path)], kubeconfig), runs
        ),
        "peer: kubectl get ... -o json": timed(command(peer_argv, kubeconfig), runs),
    }
    print(f"\n{'what':<32} {'median s':>9} {'min s':>7} {'max s':>7}   ({apps} apps, {runs} runs)")
    for name, times in rows.items():
        print(f"{name:<32} {statistics.median(times):>9.3f} {min(times):>7.3f} {max(times):>7.3f}")
    peer = statistics.median(rows["peer: kubectl get ... -o json"])
    ours = statistics.median(rows["unhazzle status (in-process)"])
    cold = statistics.median(rows["unhazzle status (new process)"])
    print(f"\nratio in-process / kubectl: {ours / peer:.2f}; new process / kubectl: {cold / peer:.2f}")
    print(f"target (< 1 s in-process): {'met' if ours < 1.0 else 'NOT met'}")
    print(f"{peers.load_line(load)}; kubectl {peers.kubectl_version()} (the server's own version)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
