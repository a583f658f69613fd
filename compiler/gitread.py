"""Reading a file as it was at a Git revision, without touching the working tree.

The only compiler module that imports `git` (checked by import-linter): GitPython's exceptions are
turned into ours here, so they never leak into the pipeline or the command line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import git
from gitdb.exc import BadName, BadObject  # type: ignore[import-untyped]

from unhazzle.errors import OperationError, UsageError


@dataclass(frozen=True)
class SpecAtRef:
    """The spec file's bytes at a revision (None when it did not exist there), and the files of
    the secrets folder beside it (name -> bytes), so the base is compiled as it was."""

    ref: str
    path: str  # relative to the repository root, with forward slashes
    data: bytes | None
    beside: dict[str, bytes] = field(default_factory=dict)


def read_at_ref(spec: Path, ref: str, *, folder: str | None = None) -> SpecAtRef:
    """The bytes of *spec* (a working-tree path) as committed at *ref* in its repository, with
    the files of *folder* (a folder beside the spec) at that ref."""
    repo = _repo(spec)
    try:
        root = Path(repo.working_tree_dir or "").resolve()
        rel = spec.resolve().relative_to(root).as_posix()
    except ValueError:
        raise UsageError(
            f"{spec}: error: is not inside the Git repository at {repo.working_tree_dir}"
        ) from None
    try:
        commit = repo.commit(ref)
    except (BadName, BadObject, ValueError, git.GitCommandError):
        raise UsageError(f"--base {ref}: error: no commit, branch or tag by that name in {root}") from None
    try:
        blob = commit.tree / rel
    except KeyError:
        return SpecAtRef(ref, rel, None)
    if blob.type != "blob":
        return SpecAtRef(ref, rel, None)
    try:
        beside = _folder_files(commit, rel, folder) if folder else {}
        return SpecAtRef(ref, rel, blob.data_stream.read(), beside)
    except git.GitError as exc:
        raise OperationError(f"{root}: cannot read {rel} at {ref}: {exc}") from None


def _folder_files(commit: git.Commit, spec_rel: str, folder: str) -> dict[str, bytes]:
    parent = spec_rel.rpartition("/")[0]
    try:
        tree = commit.tree / (f"{parent}/{folder}" if parent else folder)
    except KeyError:
        return {}
    if tree.type != "tree":
        return {}
    return {item.name: item.data_stream.read() for item in tree.blobs}


def _repo(spec: Path) -> git.Repo:
    start = spec.resolve().parent
    try:
        return git.Repo(start, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise UsageError(
            f"{spec}: error: is not inside a Git repository, so there is no base to compare with"
        ) from None
