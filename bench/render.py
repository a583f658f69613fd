"""`unhazzle render` as a whole process, against `kubectl kustomize` building the same manifests.

Cases: the shop example, and generated 300-app and 3,000-app specs. Each tool runs as its own
process under /usr/bin/time; we keep the best wall time of N runs, the CPU time (user + system)
of that run, and peak memory. kustomize gets a kustomization.yaml listing the files unhazzle
rendered, so both produce the same objects.

Targets (issue 2): the example under 0.3 s; 300 apps faster than kustomize; 3,000 apps in under
12 times the 300-app time and under 300 MB.

    python -m bench.render [--runs N] [--quick | --example-only]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "shop" / "unhazzle.yaml"
KUBECTL = shutil.which("kubectl") or "/usr/bin/kubectl"
TIME = "/usr/bin/time"
# As installed for users: byte-code cached (our sandbox sets PYTHONDONTWRITEBYTECODE, which would
# make every run compile changed modules from source). Each case runs once first, unmeasured, so
# the byte-code and the compiled templates are in place, as after any earlier run on a machine.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


@dataclass(frozen=True)
class Run:
    wall_s: float
    cpu_s: float
    rss_mb: float
    finished: bool = True


def measure(
    argv: list[str], *, runs: int, timeout: float | None = None, env: dict[str, str] | None = None
) -> Run:
    """Best (lowest wall time) of *runs* executions of *argv*, each in a fresh process; a run
    past *timeout* seconds is stopped and reported as such (kustomize grows quadratically)."""
    best: Run | None = None
    with tempfile.NamedTemporaryFile("r", suffix=".time") as report:
        for _ in range(runs):
            cmd = [TIME, "-f", "%e %U %S %M", "-o", report.name, *argv]
            try:
                subprocess.run(
                    cmd,
                    check=True,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                    timeout=timeout,
                    env=env,
                )
            except subprocess.TimeoutExpired:
                return Run(float(timeout or 0), float("nan"), float("nan"), finished=False)
            wall, user, system, rss_kb = Path(report.name).read_text().split()[-4:]
            run = Run(float(wall), float(user) + float(system), int(rss_kb) / 1024)
            best = run if best is None or run.wall_s < best.wall_s else best
    assert best is not None
    return best


APP_KINDS = (
    "    image: ghcr.io/acme/web-{i}:1.0\n    port: 8080\n    public: true\n"
    "    domains: [app{i}.example.com]\n    health: {{path: /healthz}}\n"
    "    env: {{LOG_LEVEL: info, API_URL: '${{apps.app{api}.url}}'}}\n    secrets: [SESSION_KEY]\n"
    "    profile: {{traffic: medium, latency: sensitive, pattern: daily-peaks}}\n",
    "    image: ghcr.io/acme/api-{i}@sha256:" + "ab" * 32 + "\n    port: 9000\n"
    "    env: {{LOG_LEVEL: info, MAX_CONNECTIONS: 50}}\n    databases: [main]\n"
    "    profile: {{traffic: high, startup: medium, workload: cpu-intensive}}\n",
    "    image: ghcr.io/acme/worker-{i}:1.0\n    command: [python, -m, worker]\n"
    "    env: {{QUEUE: q{i}}}\n    profile: {{workload: worker, pattern: spiky, startup: slow}}\n",
    "    image: redis:7.2-alpine\n    port: 6379\n    volume: {{size: 5GB, path: /data}}\n"
    "    profile: {{workload: memory-intensive}}\n",
)


def generated_spec(apps: int) -> str:
    """A realistic spec with *apps* apps: public web apps, APIs, workers and caches in turn."""
    lines = [
        "version: 1\nproject: bench\nregion: fsn1\nenvironments:\n  production: {}\napps:\n",
    ]
    for i in range(apps):
        api = i - i % 4 + 1 if i - i % 4 + 1 < apps else 1
        lines.append(f"  app{i}:\n" + APP_KINDS[i % 4].format(i=i, api=api))
    lines.append("databases:\n  main: {provider: aiven, region: aws-eu-central-1, secret: DATABASE_URL}\n")
    return "".join(lines)


# What any program built on the libraries DEVELOPERS.md chose pays before doing anything: Python's
# start-up, importing pydantic, jinja2 and ruamel.yaml, and pydantic's first model (which loads its
# plugin machinery, importlib.metadata included). Measured like the render, in the same run.
FLOOR = "import jinja2, ruamel.yaml\nfrom pydantic import BaseModel\nclass First(BaseModel):\n    name: str\n"


def kustomization(folder: Path) -> int:
    """Write folder/kustomization.yaml listing every rendered file; return the object count."""
    files = sorted(p.name for p in folder.glob("*.yaml"))
    objects = sum((folder / f).read_text().count("\nkind: ") + 1 for f in files)
    body = "".join(f"  - {name}\n" for name in files)
    (folder / "kustomization.yaml").write_text(
        f"apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n{body}"
    )
    return objects


@dataclass(frozen=True)
class Row:
    case: str
    apps: int
    objects: int
    unhazzle: Run
    kustomize: Run


def bench_case(case: str, spec: Path, work: Path, *, runs: int, timeout: float) -> Row:
    out = work / f"out-{case}"
    render = [sys.executable, "-m", "unhazzle", "render", str(spec), "--out", str(out), "--env", "production"]
    subprocess.run(render, check=True, capture_output=True, env=ENV)  # warm-up, unmeasured
    ours = measure(render, runs=runs, env=ENV)
    objects = kustomization(out / "production")
    theirs = measure([KUBECTL, "kustomize", str(out / "production")], runs=runs, timeout=timeout)
    apps = len(list((out / "production").glob("*.yaml"))) - 2  # less _environment and kustomization
    return Row(case, apps, objects, ours, theirs)


def table(rows: list[Row]) -> str:
    head = (
        "| case | apps | objects | unhazzle render (wall / CPU / peak RSS) "
        "| kubectl kustomize (wall / CPU / peak RSS) | unhazzle / kustomize (wall) |\n"
        "| --- | ---: | ---: | --- | --- | ---: |\n"
    )

    def cell(run: Run) -> str:
        if not run.finished:
            return f"stopped after {run.wall_s:.0f} s"
        return f"{run.wall_s:.2f} s / {run.cpu_s:.2f} s / {run.rss_mb:.0f} MB"

    body = "".join(
        f"| {r.case} | {r.apps} | {r.objects} | {cell(r.unhazzle)} | {cell(r.kustomize)} "
        f"| {'<' if not r.kustomize.finished else ''}{r.unhazzle.wall_s / r.kustomize.wall_s:.2f}x |\n"
        for r in rows
    )
    return head + body


def verdicts(rows: list[Row], floor: Run | None = None) -> list[str]:
    by = {r.case: r for r in rows}
    out = []
    if "shop example" in by:
        example = by["shop example"].unhazzle
        out.append(f"example under 0.3 s: {example.wall_s:.2f} s wall ({example.cpu_s:.2f} s CPU)")
    if floor is not None:
        out.append(
            f"of which the floor, Python + pydantic + jinja2 + ruamel.yaml before any work: "
            f"{floor.wall_s:.2f} s wall ({floor.cpu_s:.2f} s CPU)"
        )
    if "300 apps" in by:
        r = by["300 apps"]
        faster = r.unhazzle.wall_s < r.kustomize.wall_s or not r.kustomize.finished
        out.append(f"300 apps faster than kustomize: {'yes' if faster else 'NO'}")
    if "300 apps" in by and "3,000 apps" in by:
        small, big = by["300 apps"].unhazzle, by["3,000 apps"].unhazzle
        out.append(f"3,000 apps / 300 apps: {big.wall_s / small.wall_s:.1f}x wall (target < 12x)")
        out.append(f"3,000 apps peak memory: {big.rss_mb:.0f} MB (target < 300 MB)")
    return out


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="python -m bench.render", description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per case; the best counts (default 5)")
    parser.add_argument("--quick", action="store_true", help="skip the 3,000-app case")
    parser.add_argument(
        "--example-only", action="store_true", help="only the shop example (the start-up time target)"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=900,
        help="stop a kustomize run after this many seconds (default 900)",
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="unhazzle-bench-") as tmp:
        work = Path(tmp)
        cases = [("shop example", EXAMPLE, args.runs)]
        if not args.example_only:
            cases.append(("300 apps", work / "300.yaml", args.runs))
            (work / "300.yaml").write_text(generated_spec(300))
        if not args.quick and not args.example_only:
            (work / "3000.yaml").write_text(generated_spec(3000))
            cases.append(("3,000 apps", work / "3000.yaml", max(1, args.runs // 2)))
        rows = [bench_case(case, spec, work, runs=runs, timeout=args.timeout) for case, spec, runs in cases]
    floor = measure([sys.executable, "-c", FLOOR], runs=args.runs, env=ENV)
    print(table(rows))
    print("\n".join(verdicts(rows, floor)))
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (wall times grow with it)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
