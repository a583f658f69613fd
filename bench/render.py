"""`unhazzle render` as a whole process, against `helm template` of the equivalent chart.

Cases: the shop example (beside the floor: Python starting and importing the libraries the
project chose, before any work), and generated 300-app and 3,000-app specs, against `helm
template` of bench/helmchart (Unhazzle's templates written as a chart) filled with the same
values, after checking that helm wrote the same objects, field for field (bench/chart.py).
Each tool runs as its own process under /usr/bin/time, the two alternating, N runs each; the
table gives medians of wall and CPU time (user + system) and the largest peak memory.

Targets (issue #23): at least as fast as helm at 300 and 3,000 apps, with less memory; the
example within 0.1 s of the floor.

    python -m bench.render [--runs N] [--quick | --example-only]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench import chart, peers, scratch

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "shop" / "unhazzle.yaml"
TIME = "/usr/bin/time"
# As installed for users: byte-code cached (our sandbox sets PYTHONDONTWRITEBYTECODE, which would
# make every run compile changed modules from source). Each case runs once first, unmeasured, so
# the byte-code and the compiled templates are in place, as after any earlier run on a machine.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


@dataclass(frozen=True)
class Run:
    """One run, or the medians of several (`Run.of`): wall and CPU seconds, peak memory."""

    wall_s: float
    cpu_s: float
    rss_mb: float

    @classmethod
    def of(cls, runs: list[Run]) -> Run:
        """Medians of wall and CPU time, and the largest peak memory."""
        return cls(
            statistics.median(r.wall_s for r in runs),
            statistics.median(r.cpu_s for r in runs),
            max(r.rss_mb for r in runs),
        )

    def cell(self) -> str:
        return f"{self.wall_s:.2f} s / {self.cpu_s:.2f} s / {self.rss_mb:.0f} MB"


def once(
    argv: list[str], *, env: dict[str, str] | None = None, stdout: Path | None = None, cwd: Path | None = None
) -> Run:
    """One run of *argv* in a fresh process; a failed run stops the benchmark, loudly."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as report:
        sink = open(stdout, "wb") if stdout else subprocess.DEVNULL  # noqa: SIM115
        try:
            done = subprocess.run(
                [TIME, "-f", "%e %U %S %M", "-o", report.name, *argv],
                stdout=sink,
                stderr=subprocess.PIPE,
                env=env,
                cwd=cwd,
                check=False,
            )
        finally:
            if stdout:
                sink.close()  # type: ignore[union-attr]
        if done.returncode != 0:
            raise peers.PeerFailed(f"{argv[0]} failed ({done.returncode}): {done.stderr.decode()[-800:]}")
        wall, user, system, rss_kb = Path(report.name).read_text().split()[-4:]
    return Run(float(wall), float(user) + float(system), int(rss_kb) / 1024)


def alternate(
    first: list[str], second: list[str], runs: int, *, stdout: Path | None = None, fresh: Path | None = None
) -> tuple[Run, Run]:
    """Medians of *runs* runs of each, taken in turn, so load changes fall on both alike. Before
    each of ours, *fresh* (its output and kept renders) is removed: every run renders everything,
    as helm does, and only compiled templates and parsed data files stay warm."""
    ours, theirs = [], []
    for _ in range(runs):
        if fresh is not None:
            shutil.rmtree(fresh / "out", ignore_errors=True)
            shutil.rmtree(fresh / "cache" / "rendered", ignore_errors=True)
        ours.append(once(first, env=ENV))
        theirs.append(once(second, env=ENV, stdout=stdout))
    return Run.of(ours), Run.of(theirs)


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


# What any program built on the libraries the project chose pays before doing anything: Python's
# start-up, importing pydantic, jinja2 and ruamel.yaml, and pydantic's first model (which loads its
# plugin machinery, importlib.metadata included). Measured like the render, in the same run.
FLOOR = "import jinja2, ruamel.yaml\nfrom pydantic import BaseModel\nclass First(BaseModel):\n    name: str\n"


@dataclass(frozen=True)
class Row:
    case: str
    apps: int
    objects: int
    unhazzle: Run
    peer: Run
    peer_name: str


def render_argv(spec: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "unhazzle", "render", str(spec), "--out", str(out), "--env", "production"]


def bench_generated(case: str, apps: int, work: Path, helm: Path, *, runs: int) -> Row:
    spec = work / f"{apps}.yaml"
    spec.write_text(generated_spec(apps), encoding="utf-8")
    out = work / "out"
    once(render_argv(spec, out), env=ENV)  # warm-up, unmeasured; its output is checked below
    values = work / f"values-{apps}.json"
    chart.write_values(spec, "production", values)
    objects = chart.same_objects(out / "production", helm, values)
    ours, theirs = alternate(
        render_argv(spec, out), chart.helm_argv(helm, values), runs, stdout=work / "helm.out", fresh=work
    )
    return Row(case, apps, objects, ours, theirs, "helm template")


def bench_example(work: Path, *, runs: int) -> Row:
    out = work / "out"
    argv = [sys.executable, "-m", "unhazzle", "render", str(EXAMPLE), "--out", str(out)]
    once(argv, env=ENV)  # warm-up
    objects = sum(p.read_text().count("\nkind: ") + 1 for p in out.glob("*/*.yaml"))
    ours, floor = alternate(argv, [sys.executable, "-c", FLOOR], runs, fresh=work)
    return Row("shop example", len(list(out.glob("*/*.yaml"))), objects, ours, floor, "floor")


def table(rows: list[Row], helm_version: str) -> str:
    head = (
        f"| case | files | objects | unhazzle render (wall / CPU / peak) "
        f"| peer: helm template {helm_version}, or the floor (wall / CPU / peak) "
        "| unhazzle / peer (wall) | (CPU) |\n"
        "| --- | ---: | ---: | --- | --- | ---: | ---: |\n"
    )
    body = "".join(
        f"| {r.case} | {r.apps} | {r.objects} | {r.unhazzle.cell()} | {r.peer_name}: {r.peer.cell()} "
        f"| {r.unhazzle.wall_s / r.peer.wall_s:.2f}x | {r.unhazzle.cpu_s / r.peer.cpu_s:.2f}x |\n"
        for r in rows
    )
    return head + body


def verdicts(rows: list[Row]) -> list[str]:
    out = []
    for r in rows:
        if r.peer_name == "floor":
            over = r.unhazzle.wall_s - r.peer.wall_s
            met = "met" if over <= 0.1 else "MISSED"
            out.append(f"{r.case}: {over:.2f} s over the floor (target at most 0.10 s): {met}")
        else:
            fast = r.unhazzle.wall_s <= r.peer.wall_s
            lean = r.unhazzle.rss_mb < r.peer.rss_mb
            out.append(
                f"{r.case}: at least as fast as helm: {'met' if fast else 'MISSED'} "
                f"({r.unhazzle.wall_s:.2f} s vs {r.peer.wall_s:.2f} s); less memory: "
                f"{'met' if lean else 'MISSED'} ({r.unhazzle.rss_mb:.0f} MB vs {r.peer.rss_mb:.0f} MB)"
            )
    return out


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="python -m bench.render", description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="runs of each tool per case (default 7)")
    parser.add_argument("--quick", action="store_true", help="skip the 3,000-app case")
    parser.add_argument("--example-only", action="store_true", help="only the shop example and the floor")
    args = parser.parse_args(argv)
    helm = peers.helm()
    version = peers.helm_version()
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="unhazzle-bench-", dir=scratch.FOLDER) as tmp:
        work = Path(tmp)
        with scratch.caches(ENV, work / "cache"):
            rows = [bench_example(work, runs=args.runs)]
            if not args.example_only:
                rows.append(bench_generated("300 apps", 300, work, helm, runs=args.runs))
            if not args.quick and not args.example_only:
                rows.append(bench_generated("3,000 apps", 3000, work, helm, runs=max(3, args.runs // 2)))
    print(table(rows, version))
    print("\n".join(verdicts(rows)))
    print(scratch.line())
    print(f"{peers.load_line(load)}; helm {version} built from its module with this machine's Go")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
