"""Helpers for publish tests: real bare repositories and Git run as a plain subprocess, so the
tests check the environment repo the way the reconciler and a person would see it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from tests.conftest import ROOT

GIT_ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "test",
    "GIT_AUTHOR_EMAIL": "test@example.invalid",
    "GIT_COMMITTER_NAME": "test",
    "GIT_COMMITTER_EMAIL": "test@example.invalid",
    "GIT_CONFIG_GLOBAL": "/dev/null",
    "LC_ALL": "C",
}


def git(*args: str, cwd: Path | None = None, check: bool = True) -> str:
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=GIT_ENV, capture_output=True, text=True, check=False, timeout=60
    )
    if check and done.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {done.stderr}")
    return done.stdout


def bare_repo(path: Path) -> Path:
    git("init", "--quiet", "--bare", "--initial-branch=main", str(path))
    return path


def tip(repo: Path, branch: str = "main") -> str | None:
    out = git("--git-dir", str(repo), "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}", check=False)
    return out.strip() or None


def tree_files(repo: Path, ref: str = "main", under: str = "") -> dict[str, bytes]:
    """Every file at *ref* (optionally under a folder): path -> content."""
    listing = git("--git-dir", str(repo), "ls-tree", "-r", "--name-only", ref, *([under] if under else []))
    return {path: show(repo, f"{ref}:{path}") for path in listing.split()}


def exact_tree_files(repo: Path, ref: str = "main") -> dict[str, bytes]:
    """Every file at *ref*, each name byte for byte (surrogateescape: a name that is not UTF-8
    too, which tree_files cannot show), with its content."""

    def out(*args: str) -> bytes:
        argv = ["git", "--git-dir", str(repo), *args]
        return subprocess.run(argv, capture_output=True, check=True, env=GIT_ENV).stdout

    files = {}
    for entry in filter(None, out("ls-tree", "-r", "-z", ref).decode("utf-8", "surrogateescape").split("\0")):
        meta, path = entry.split("\t", 1)
        files[path] = out("cat-file", "blob", meta.split()[2])
    return files


def show(repo: Path, spec: str) -> bytes:
    return subprocess.run(
        ["git", "--git-dir", str(repo), "show", spec], capture_output=True, check=True, env=GIT_ENV
    ).stdout


def index_of(repo: Path, project: str, env: str, ref: str = "main") -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(show(repo, f"{ref}:{project}/{env}/_index.json"))
    return loaded


def commit_message(repo: Path, ref: str = "main") -> str:
    return git("--git-dir", str(repo), "log", "-1", "--format=%B", ref)


def commit_count(repo: Path, ref: str = "main") -> int:
    return int(git("--git-dir", str(repo), "rev-list", "--count", ref).strip())


def seed_commit(repo: Path, files: dict[str, str], message: str = "seed", branch: str = "main") -> str:
    """Commit *files* on top of *branch* (as another tool or person would), through a clone."""
    work = repo.parent / f"seed-{os.getpid()}-{commit_count_or_zero(repo, branch)}"
    git("clone", "--quiet", str(repo), str(work))
    git("checkout", "--quiet", "-B", branch, cwd=work)
    for rel, text in files.items():
        (work / rel).parent.mkdir(parents=True, exist_ok=True)
        (work / rel).write_text(text)
    git("add", "-A", cwd=work)
    git("commit", "--quiet", "-m", message, cwd=work)
    git("push", "--quiet", "origin", f"HEAD:refs/heads/{branch}", cwd=work)
    return git("rev-parse", "HEAD", cwd=work).strip()


def commit_count_or_zero(repo: Path, branch: str) -> int:
    return commit_count(repo, branch) if tip(repo, branch) else 0


def spec_text(
    project: str = "shop",
    envs: tuple[str, ...] = ("production",),
    *,
    image: str = "ghcr.io/acme/web:1.0",
    instances: tuple[int, int] = (2, 6),
    secrets: tuple[str, ...] = (),
    recipient: str | None = None,
) -> str:
    keys = f"secrets: {{recipients: [{recipient}]}}\n" if recipient else ""
    env_lines = "".join(f"  {env}: {{}}\n" for env in envs)
    secret_line = f"    secrets: [{', '.join(secrets)}]\n" if secrets else ""
    return (
        textwrap.dedent(
            f"""\
        version: 1
        project: {project}
        region: fsn1
        """
        )
        + keys
        + "environments:\n"
        + env_lines
        + (
            "apps:\n"
            "  web:\n"
            f"    image: {image}\n"
            "    port: 8080\n"
            f"    instances: {{min: {instances[0]}, max: {instances[1]}}}\n" + secret_line
        )
    )


def publish_process(spec: Path, remote: str, cache: Path, *extra: str) -> subprocess.Popen[str]:
    """`unhazzle publish` as its own process, the way a pipeline runs it."""
    env = {**GIT_ENV, "UNHAZZLE_CACHE_DIR": str(cache), "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "unhazzle",
            "publish",
            str(spec),
            "--to",
            remote,
            "--output",
            "json",
            "--attempts",
            "30",
            *extra,
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
