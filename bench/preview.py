"""`python -m bench.preview`: the pull-request preview as a whole process, against the shell
pipeline a Helm user would run for the same change.

Unhazzle: `unhazzle preview SPEC --base main` (interpreter start, imports, the base spec read from
Git, two compiles, the changed apps rendered, the manifest and cost diff, the markdown).
Peer: `git show main:values.json`, `helm template` of the equivalent chart (bench/helmchart) at the
base and at the head, and `diff -u`, in one bash process: manifests only, no cost. A project of 100
apps, with 10 and with 100 of them changed (a new image tag). Before timing, both are checked to
see the same change: the peer's diff changes the image of exactly those apps, and the preview
counts them as changed. The two alternate, N runs each; medians of wall and CPU time.

Target (issue #23): no slower than the pipeline, for 10 and 100 changed apps.

    python -m bench.preview [--runs N]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import git

from bench import chart, peers, scratch
from bench.render import ENV, Run, once

APPS = 100


def spec_text(apps: int, *, changed: int = 0) -> str:
    """A project of *apps* apps; the first *changed* run a new image tag."""
    lines = ["version: 1", "project: bench", "region: fsn1", "environments:", "  production: {}", "apps:"]
    for i in range(apps):
        tag = f"2.{i}" if i < changed else f"1.{i}"
        lines += [
            f"  app-{i}:",
            f"    image: ghcr.io/acme/app-{i}:{tag}",
            "    port: 8080",
            f"    public: {str(i % 10 == 0).lower()}",
            "    env: {LOG_LEVEL: info, PEER: '${apps.app-0.url}'}",
            "    secrets: [API_KEY]",
        ]
        if i % 25 == 5:
            lines.append("    volume: {size: 20GB, path: /data}")
        else:
            lines.append("    instances: {min: 1, max: 4}")
    return "\n".join(lines) + "\n"


def make_repo(root: Path, apps: int, changed: int) -> Path:
    """A Git repo whose main holds the base spec and the chart's values for it; the working tree
    holds the pull request's spec and values."""
    repo = git.Repo.init(root, initial_branch="main")
    with repo.config_writer() as cfg:
        cfg.set_value("user", "name", "bench").set_value("user", "email", "bench@example.com")
    spec, values = root / "unhazzle.yaml", root / "values.json"
    spec.write_text(spec_text(apps), encoding="utf-8")
    chart.write_values(spec, "production", values)
    repo.index.add(["unhazzle.yaml", "values.json"])
    repo.index.commit("base")
    spec.write_text(spec_text(apps, changed=changed), encoding="utf-8")  # the pull request's change
    chart.write_values(spec, "production", values)
    return spec


def pipeline(helm: Path) -> list[str]:
    """The peer: one bash process, as a CI step would run it. diff exits 1 when files differ."""
    template = f"{helm} template bench {chart.CHART}"
    script = (
        "set -e; git show main:values.json > base.json; "
        f"{template} -f base.json > base.yaml; {template} -f values.json > head.yaml; "
        "diff -u base.yaml head.yaml > change.diff || [ $? -eq 1 ]"
    )
    return ["bash", "-c", script]


def check_same_change(root: Path, preview: str, changed: int) -> None:
    """Both saw the same change: the diff gives *changed* apps a new image, the preview counts
    *changed* apps changed."""
    diff = (root / "change.diff").read_text(encoding="utf-8")
    images = set(re.findall(r"^\+\s+image: \"ghcr.io/acme/(app-\d+):2\.", diff, re.MULTILINE))
    if len(images) != changed:
        raise peers.PeerFailed(f"the pipeline's diff changes {len(images)} apps' images, not {changed}")
    if not re.search(rf"\b{changed} changed\b", preview):
        raise peers.PeerFailed(f"the preview does not count {changed} apps changed")


def bench_case(work: Path, helm: Path, changed: int, runs: int) -> tuple[Run, Run]:
    root = work / f"changed-{changed}"
    root.mkdir()
    spec = make_repo(root, APPS, changed)
    ours = [sys.executable, "-m", "unhazzle", "preview", str(spec), "--base", "main"]
    shown = subprocess.run(ours, cwd=root, env=ENV, capture_output=True, text=True, check=False)
    if shown.returncode != 0:
        raise peers.PeerFailed(f"unhazzle preview failed: {shown.stderr[-800:]}")
    once(pipeline(helm), env=ENV, cwd=root)
    check_same_change(root, shown.stdout, changed)
    mine: list[Run] = []
    theirs: list[Run] = []
    for _ in range(runs):
        mine.append(once(ours, env=ENV, cwd=root))
        theirs.append(once(pipeline(helm), env=ENV, cwd=root))
    return Run.of(mine), Run.of(theirs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.preview", description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="runs of each per case (default 7)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    helm = peers.helm()
    version = peers.helm_version()
    load = os.getloadavg()[0]
    rows = []
    with (
        tempfile.TemporaryDirectory(prefix="unhazzle-bench-", dir=scratch.FOLDER) as tmp,
        scratch.caches(ENV, Path(tmp) / "cache"),
    ):
        for changed in (10, APPS):
            rows.append((changed, *bench_case(Path(tmp), helm, changed, args.runs)))
    print(
        f"| change | unhazzle preview (wall / CPU / peak) | git show + 2x helm template {version} + "
        "diff -u (wall / CPU / peak) | unhazzle / pipeline (wall) | (CPU) |"
    )
    print("| --- | --- | --- | ---: | ---: |")
    for changed, ours, theirs in rows:
        print(
            f"| {changed} of {APPS} apps | {ours.cell()} | {theirs.cell()} "
            f"| {ours.wall_s / theirs.wall_s:.2f}x | {ours.cpu_s / theirs.cpu_s:.2f}x |"
        )
    for changed, ours, theirs in rows:
        met = "met" if ours.wall_s <= theirs.wall_s else "MISSED"
        said = f"{ours.wall_s:.2f} s vs {theirs.wall_s:.2f} s"
        print(f"{changed} changed: no slower than the pipeline: {met} ({said})")
    print(scratch.line())
    print(peers.load_line(load))
    return 0


if __name__ == "__main__":
    sys.exit(main())
