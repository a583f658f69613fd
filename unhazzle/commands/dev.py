"""`unhazzle dev [SPEC] [--cluster]`: validate and plan again on every save, printing only what
changed; with --cluster, also publish to a local environment repo and reconcile the local
cluster (`dev-cluster`) on every good save, so the running apps follow the spec."""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from unhazzle.commands.common import add_spec, compile_spec
from unhazzle.compiler.presentation.devloop import Snapshot, changes, describe, snapshot
from unhazzle.errors import InputError, OperationError, UsageError
from unhazzle.shared.readlimit import reason

Emit = Callable[[str], None]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "dev",
        help="watch the spec and show what each save changes",
        description="Watch the spec; on every save, validate and plan it again and print only what "
        "changed (instances, size, monthly cost). Stop with Ctrl-C.",
    )
    add_spec(parser)
    parser.add_argument(
        "--cluster",
        action="store_true",
        help="also keep the local cluster in step: publish to a local environment repo and "
        "reconcile on every save that validates (starts `unhazzle dev-cluster` when needed)",
    )
    parser.add_argument("--state-dir", type=Path, metavar="DIR", help="the local cluster's state (--cluster)")
    parser.add_argument(
        "--secrets-key-file", type=Path, metavar="FILE", help="the age key that opens the secrets (--cluster)"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    def emit(line: str) -> None:
        print(line, flush=True)

    spec = Path(args.spec)
    watched(spec)  # before a local cluster is started for it
    after = LocalCluster(spec, args.state_dir, args.secrets_key_file, emit) if args.cluster else None
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how one stops: a clean exit
        watch(spec, emit, after=after)
    emit("stopped")
    return 0


class LocalCluster:
    """The local cluster kept in step with the spec: a bare environment repo in the cache, one
    publish and one reconcile pass (each the command itself, in a process of its own) per save."""

    def __init__(self, spec: Path, state_dir: Path | None, key: Path | None, emit: Emit) -> None:
        from unhazzle.compiler.cachedir import user_cache_dir
        from unhazzle.devcluster import cluster

        self.spec, self.key, self.emit = spec, key, emit
        try:
            state, machines = cluster.up_as_asked((state_dir or cluster.default_state_dir()).resolve())
        except cluster.DevClusterError as err:
            raise OperationError(f"unhazzle dev --cluster: the local cluster cannot start: {err}") from None
        self.kubeconfig = cluster.kubeconfig_path(Path(state.state_dir))
        digest = hashlib.sha256(str(spec.resolve()).encode()).hexdigest()[:12]
        self.home = user_cache_dir() / "dev" / digest
        self.repo = self.home / "env-repo.git"
        if not self.repo.exists():
            self.repo.parent.mkdir(parents=True, exist_ok=True)
            subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(self.repo)], check=True)
        emit(f"local cluster at {state.server} ({machines}); environment repo {self.repo}")

    def __call__(self) -> None:
        unhazzle = [sys.executable, "-m", "unhazzle"]
        published = self._run([*unhazzle, "publish", str(self.spec), "--to", str(self.repo)])
        if published.returncode != 0:
            self.emit("not published: " + (published.stderr.strip() or published.stdout.strip()))
            return
        key = ["--secrets-key-file", str(self.key)] if self.key else []
        reconciled = self._run(
            [*unhazzle, "reconcile", "--once", "--repo", str(self.repo), "--kubeconfig", str(self.kubeconfig),
             "--no-leader-election", "--log-format", "text", "--timeout", "60",
             "--cache-dir", str(self.home / "reconciler"), *key]
        )  # fmt: skip
        for line in (reconciled.stdout + reconciled.stderr).splitlines():
            if line.strip():
                self.emit(f"cluster: {line}")

    @staticmethod
    def _run(argv: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(argv, capture_output=True, text=True, check=False, timeout=600)


def watch(
    spec: Path, emit: Emit, stop: threading.Event | None = None, *, after: Callable[[], None] | None = None
) -> None:
    """Check once, then after every change to *spec* until Ctrl-C or *stop* is set; `after` runs
    after every check that validated (the local cluster, with --cluster)."""
    from watchfiles import watch as watch_files  # only this command needs it

    where = watched(spec)
    last = check(spec, None, emit)
    if after is not None and last is not None:
        after()
    # The folder, not the file: editors save by writing a new file and renaming it over the old.
    # Not its subfolders: a spec at the top of a repo must not watch node_modules or .git.
    folder, name = where.parent, where.name
    emit(f"watching {spec} (Ctrl-C to stop)")
    for batch in watch_files(folder, stop_event=stop, raise_interrupt=False, debounce=200, recursive=False):
        if any(Path(path).name == name for _, path in batch):
            now = check(spec, last, emit)
            if after is not None and now is not last:
                after()
            last = now


def watched(spec: Path) -> Path:
    """*spec*, resolved, if it can be watched: a file (or none yet: it may be made while
    watched) in a folder that is there. Else bad input, said before anything starts."""
    try:
        where = spec.resolve()
        with contextlib.suppress(FileNotFoundError):  # none yet: it may be made while watched
            os.stat(where)
    except (OSError, RuntimeError) as exc:  # a name too long, a symlink loop
        raise UsageError(f"{spec}: cannot watch it: {reason(exc)}") from None
    if where.is_dir():
        raise UsageError(f"{spec}: a folder, not a spec file")
    if not where.parent.is_dir():
        raise UsageError(f"{spec}: cannot watch it: {where.parent} is not a folder")
    return where


def check(spec: Path, last: Snapshot | None, emit: Emit) -> Snapshot | None:
    """Compile *spec*; print its problems, or what changed since *last*. Returns the new snapshot."""
    try:
        now = snapshot(compile_spec(str(spec)))
    except InputError as exc:
        for line in exc.lines():
            emit(line)
        return last
    if last is None:
        lines = ["OK", *describe(now)]
    else:
        lines = changes(last, now) or ["OK: no change in instances, size or cost"]
    for line in lines:
        emit(line)
    return now
