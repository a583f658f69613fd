"""`python -m bench.publish`: publishing a one-app change into a large environment repo.

The repo holds 1,000 apps (100 projects of 10) and 5,000 commits, generated once with
`git fast-import` and cached under ~/.cache/unhazzle/bench. Each run is the whole `unhazzle
publish` process (Python start, compile, render, fetch, commit, push) changing one app's image of
the example shop. Cold: a fresh cache (a new CI runner); warm: the cache from the last run, where
a new image is replayed from the last publish's compile (compiler/publishing/replay.py) instead
of compiled. Large: one app's image in a project of 1,000 apps, with the cache from the last run
(replayed too).
Peer: plain Git doing the same write the usual way (shallow clone, copy, commit, push), checked
to have landed on the remote. For scale, `unhazzle render` of the same spec (no Git): Python's
start, the imports and the compile, which every publish pays before any Git work.
Target (issue #23): within 2x of plain Git.
"""

from __future__ import annotations

import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import peers, scratch
from bench.preview import spec_text
from bench.render import FLOOR

ROOT = Path(__file__).resolve().parent.parent
SHOP = ROOT / "examples" / "shop" / "unhazzle.yaml"
SECRETS = SHOP.parent / "unhazzle.secrets"  # the shop manages its secrets: publish needs the values
PROJECTS, APPS, COMMITS = 100, 10, 5_000
RATIO_GOAL = 2.0
RUNS = 5
ENV = {
    # As installed for users and on CI runners: byte-code cached (our sandbox sets
    # PYTHONDONTWRITEBYTECODE, which would make every run compile changed modules from source).
    **{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.invalid",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.invalid",
    "PYTHONPATH": str(ROOT),
}
APP_YAML = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: "{app}"
  namespace: "{project}-production"
  labels:
    app.kubernetes.io/managed-by: "unhazzle"
    unhazzle.io/app: "{app}"
spec:
  selector:
    matchLabels:
      unhazzle.io/app: "{app}"
  template:
    metadata:
      labels:
        unhazzle.io/app: "{app}"
    spec:
      containers:
        - name: "{app}"
          image: "ghcr.io/acme/{project}-{app}:{tag}"
          resources:
            requests: {{cpu: "250m", memory: "256Mi"}}
            limits: {{cpu: "500m", memory: "256Mi"}}
---
apiVersion: v1
kind: Service
metadata:
  name: "{app}"
  namespace: "{project}-production"
spec:
  selector:
    unhazzle.io/app: "{app}"
  ports:
    - port: 8080
"""


def _git(*args: str, cwd: Path | None = None, stdin: bytes | None = None) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, input=stdin, capture_output=True, env=ENV, check=True)
    return done.stdout.decode()


def _blob(text: str) -> bytes:
    data = text.encode()
    return b"data %d\n%s\n" % (len(data), data)


def _stream() -> bytes:
    """A fast-import stream: one commit with every app, then one commit per single-app change."""
    out = [b"commit refs/heads/main\n", b"committer bench <b@x> 1700000000 +0000\n", _blob("1,000 apps")]
    for p in range(PROJECTS):
        for a in range(APPS):
            text = APP_YAML.format(project=f"p{p:03}", app=f"app{a}", tag="1.0.0")
            out += [f"M 100644 inline p{p:03}/production/app{a}.yaml\n".encode(), _blob(text)]
    for n in range(1, COMMITS):
        p, a = n % PROJECTS, (n // PROJECTS) % APPS
        text = APP_YAML.format(project=f"p{p:03}", app=f"app{a}", tag=f"1.0.{n}")
        out += [b"commit refs/heads/main\n", b"committer bench <b@x> %d +0000\n" % (1700000000 + n)]
        out += [_blob(f"p{p:03}/production: app{a} image -> 1.0.{n}")]
        out += [f"M 100644 inline p{p:03}/production/app{a}.yaml\n".encode(), _blob(text)]
    return b"".join(out)


def env_repo(cache: Path) -> Path:
    """The generated repo (made once, then reused), with the shop example already published."""
    repo = cache / f"envrepo-{PROJECTS * APPS}apps-{COMMITS}commits.git"
    if (repo / "refs" / "heads" / "main").exists() or (repo / "packed-refs").exists():
        return repo
    cache.mkdir(parents=True, exist_ok=True)  # a new machine has no cache folder yet
    staging = Path(tempfile.mkdtemp(prefix=".gen.", dir=cache))
    _git("init", "--quiet", "--bare", "--initial-branch=main", str(staging))
    _git("fast-import", "--quiet", cwd=staging, stdin=_stream())
    _git("gc", "--quiet", "--aggressive", cwd=staging)
    spec = _spec_folder(Path(tempfile.mkdtemp())) / "unhazzle.yaml"
    shutil.copy(SHOP, spec)
    _publish(spec, f"file://{staging}", staging.parent / ".gen-cache")
    staging.rename(repo)
    return repo


def _spec_folder(folder: Path) -> Path:
    """*folder*, holding the shop's secrets folder (the spec itself is written by the caller)."""
    shutil.copytree(SECRETS, folder / SECRETS.name, dirs_exist_ok=True)
    return folder


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall-clock and CPU seconds of one whole process (and its Git children); a failure stops
    the benchmark."""
    started, cpu = time.perf_counter(), _cpu()
    subprocess.run(argv, env=env, check=True, capture_output=True)
    return time.perf_counter() - started, _cpu() - cpu


def _publish(spec: Path, remote: str, cache: Path) -> tuple[float, float]:
    """One whole `unhazzle publish` process."""
    argv = [sys.executable, "-m", "unhazzle", "publish", str(spec), "--to", remote]
    return _timed(argv, {**ENV, "UNHAZZLE_CACHE_DIR": str(cache)})


def _render(spec: Path, out: Path, cache: Path) -> tuple[float, float]:
    """For scale: the same process without Git (compile and render only), its cache with the
    others'."""
    argv = [sys.executable, "-m", "unhazzle", "render", str(spec), "--out", str(out)]
    return _timed(argv, {**ENV, "UNHAZZLE_CACHE_DIR": str(cache)})


def _large_spec(tag: str) -> str:
    """A project of 1,000 apps (without secrets, which publish would want values for) whose
    first app runs *tag*."""
    text = spec_text(1000).replace("project: bench", "project: big").replace("    secrets: [API_KEY]\n", "")
    return text.replace("image: ghcr.io/acme/app-0:1.0\n", f"image: ghcr.io/acme/app-0:{tag}\n")


def _floor() -> tuple[float, float]:
    """Python starting and importing the libraries the project chose, before any work: what any
    publish pays, and already more than twice plain Git's time for this change."""
    return _timed([sys.executable, "-c", FLOOR], ENV)


def _plain_git(remote: str, work: Path, tag: str) -> tuple[float, float]:
    """The peer: what a pipeline script does without Unhazzle, for one changed file."""
    started, cpu = time.perf_counter(), _cpu()
    _git("clone", "--quiet", "--depth=1", "--branch=main", remote, str(work))
    target = work / "shop" / "production" / "web.yaml"
    target.write_text(target.read_text() + f"# {tag}\n")
    _git("commit", "--quiet", "-am", f"shop/production: web {tag}", cwd=work)
    _git("push", "--quiet", "origin", "HEAD:main", cwd=work)
    elapsed = time.perf_counter() - started, _cpu() - cpu
    landed = _git("log", "-1", "--format=%s", "main", cwd=Path(remote.removeprefix("file://")))
    if landed.strip() != f"shop/production: web {tag}":
        raise RuntimeError(f"plain git's push did not land: the remote's main says {landed.strip()!r}")
    return elapsed


def measure(repo: Path) -> dict[str, list[tuple[float, float]]]:
    times: dict[str, list[tuple[float, float]]] = {
        case: [] for case in ("cold", "warm", "large", "render", "floor", "peer")
    }
    remote = f"file://{repo}"
    with tempfile.TemporaryDirectory(dir=scratch.FOLDER) as work:
        spec = _spec_folder(Path(work)) / "unhazzle.yaml"
        text = SHOP.read_text()
        large = Path(work) / "large" / "unhazzle.yaml"
        large.parent.mkdir()
        for run in range(RUNS):
            # one app of a 1,000-app project changes; the render of the others is kept
            if run == 0:
                large.write_text(_large_spec("1.0"))
                _publish(large, remote, Path(work) / "warm")  # its first publish, unmeasured
            large.write_text(_large_spec(f"9.{run}.{time.time_ns()}"))
            times["large"].append(_publish(large, remote, Path(work) / "warm"))
            for case in ("cold", "warm"):
                tag = f"9.{run}.{case}.{time.time_ns()}"
                spec.write_text(text.replace("shop-web:1.4.2", f"shop-web:{tag}"))
                cache = Path(work) / (f"cold-{run}" if case == "cold" else "warm")
                if case == "warm" and run == 0:
                    _publish(spec, remote, cache)  # fill the warm cache
                    spec.write_text(text.replace("shop-web:1.4.2", f"shop-web:{tag}.again"))
                times[case].append(_publish(spec, remote, cache))
            times["render"].append(_render(spec, Path(work) / "out", Path(work) / "render-cache"))
            times["floor"].append(_floor())
            times["peer"].append(_plain_git(remote, Path(work) / f"peer-{run}", f"peer {run}"))
    return times


def main(argv: list[str] | None = None) -> int:
    cache = Path(os.environ.get("UNHAZZLE_BENCH_CACHE", Path.home() / ".cache" / "unhazzle" / "bench"))
    cache.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    repo = env_repo(cache)
    setup = time.perf_counter() - started
    count = _git("rev-list", "--count", "main", cwd=repo).strip()
    print(f"env repo: {PROJECTS * APPS} apps, {count} commits ({repo}; ready in {setup:.1f} s)")
    print(scratch.line())
    load = os.getloadavg()[0]
    times = measure(repo)
    peer = statistics.median(wall for wall, _ in times["peer"])
    print(f"| case | runs | median wall s | max s | CPU s | vs plain {_git('version').strip()} |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    labels = {
        "cold": "unhazzle publish, fresh cache (new runner)",
        "warm": "unhazzle publish, cache from last run",
        "large": "unhazzle publish, one app of a 1,000-app project",
        "render": "unhazzle render, same spec (no Git)",
        "floor": "the floor: Python + the libraries, no work",
        "peer": "plain git: clone --depth 1, commit, push",
    }
    for case, label in labels.items():
        walls = [wall for wall, _ in times[case]]
        median, worst = statistics.median(walls), max(walls)
        cpu = statistics.median(c for _, c in times[case])
        print(f"| {label} | {len(walls)} | {median:.2f} | {worst:.2f} | {cpu:.2f} | {median / peer:.2f}x |")
    for case in ("cold", "warm", "large"):
        ratio = statistics.median(wall for wall, _ in times[case]) / peer
        met = "met" if ratio <= RATIO_GOAL else "MISSED"
        print(f"{labels[case]}: within {RATIO_GOAL:.0f}x of plain git: {met} ({ratio:.1f}x)")
    print(peers.load_line(load))
    return 0


if __name__ == "__main__":
    sys.exit(main())
