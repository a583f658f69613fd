"""Reading a file as it was at a Git revision, without touching the working tree.

Plain `git` (two or three short processes: `rev-parse`, then `cat-file --batch`) rather than
GitPython: importing GitPython cost the preview more than everything else it does (issue 4).
Git's failures are turned into ours here, so they never reach the pipeline or the command line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from unhazzle.errors import OperationError, UsageError
from unhazzle.shared.gitrun import run_git, text


@dataclass(frozen=True)
class SpecAtRef:
    """The spec file's bytes at a revision (None when it did not exist there), and the files of
    the secrets folder beside it (name -> bytes), so the base is compiled as it was."""

    ref: str
    path: str  # relative to the repository root, with forward slashes
    data: bytes | None
    beside: dict[str, bytes] = field(default_factory=dict)


@dataclass(frozen=True)
class _Object:
    oid: str
    kind: str  # blob, tree, commit; "missing" when the name resolves to nothing
    data: bytes


def read_at_ref(spec: Path, ref: str, *, folder: str | None = None) -> SpecAtRef:
    """The bytes of *spec* (a working-tree path) as committed at *ref* in its repository, with
    the files of *folder* (a folder beside the spec) at that ref."""
    root = _toplevel(spec)
    try:
        rel = spec.resolve().relative_to(root).as_posix()
    except ValueError:
        raise UsageError(f"{spec}:1:1: error: is not inside the Git repository at {root}") from None
    bad_ref = UsageError(f"--base {ref}: error: no commit, branch or tag by that name in {root}")
    # A ':' would make the name a path inside a commit (REV:PATH), which git cat-file refuses as a
    # whole batch; no branch or tag can hold one.
    if not ref or any(ch in ref for ch in "\n\r\0:"):
        raise bad_ref
    parent = rel.rpartition("/")[0]
    names = [f"{ref}^{{commit}}", f"{ref}^{{commit}}:{rel}"]
    if folder:
        names.append(f"{ref}^{{commit}}:{parent}/{folder}" if parent else f"{ref}^{{commit}}:{folder}")
    try:
        commit, blob, *tree = _objects(root, names, what=f"{rel} at {ref}")
    except OperationError:
        # git refuses the whole batch for some names it cannot resolve at all (`@{upstream}`
        # with none set): a name the user gave wrong is bad input, anything else an outage
        asked = run_git(["rev-parse", "--verify", f"{ref}^{{commit}}"], cwd=root)
        if asked.status != 0:
            said = _first_line(asked.err).removeprefix("fatal: ") or "no commit, branch or tag by that name"
            raise UsageError(f"--base {ref}: error: {said}") from None
        raise
    if commit.kind != "commit":
        raise bad_ref
    if blob.kind != "blob":
        return SpecAtRef(ref, rel, None)
    width = len(commit.oid) // 2  # bytes per object id in a raw tree: 20, or 32 with SHA-256
    beside = _tree_blobs(root, tree[0], width=width, what=f"{rel} at {ref}") if tree else {}
    return SpecAtRef(ref, rel, blob.data, beside)


def _toplevel(spec: Path) -> Path:
    start = spec.resolve().parent
    if not start.is_dir():
        raise UsageError(
            f"{spec}:1:1: error: is not inside a Git repository, so there is no base to compare with"
        )
    done = run_git(["rev-parse", "--show-toplevel"], cwd=start)
    if done.status != 0 or not done.out.strip():
        if b"not a git repository" in done.err.lower():
            raise UsageError(
                f"{spec}:1:1: error: is not inside a Git repository, so there is no base to compare with"
            )
        raise OperationError(f"{start}: git cannot read the repository: {_first_line(done.err)}")
    return Path(text(done.out).strip()).resolve()


def _objects(root: Path, names: list[str], *, what: str, git_dir: bool = False) -> list[_Object]:
    """Each named object (`REV`, `REV:PATH`) in one `git cat-file --batch`; `git_dir`: *root* is
    a bare repository (publish's cache copy), named so that no GIT_DIR of the caller's wins."""
    if not names:
        return []
    stdin = "".join(f"{name}\n" for name in names).encode()
    where = [f"--git-dir={root}"] if git_dir else []
    done = run_git([*where, "cat-file", "--batch"], cwd=None if git_dir else root, stdin=stdin)
    if done.status != 0:
        raise OperationError(f"{root}: cannot read {what}: {_first_line(done.err)}")
    out, at, found = done.out, 0, []
    for _ in names:
        end = out.index(b"\n", at)
        header = out[at:end].split(b" ")
        if header[-1] in (b"missing", b"ambiguous") or len(header) != 3:
            found.append(_Object("", "missing", b""))
            at = end + 1
            continue
        size = int(header[2])
        found.append(_Object(header[0].decode(), header[1].decode(), out[end + 1 : end + 1 + size]))
        at = end + 1 + size + 1  # the content, then a newline
    return found


def _tree_blobs(root: Path, tree: _Object, *, width: int, what: str) -> dict[str, bytes]:
    """The files directly in *tree* (not in its sub-folders), by name."""
    if tree.kind != "tree":
        return {}
    entries, at, data = [], 0, tree.data
    while at < len(data):
        space, nul = data.index(b" ", at), data.index(b"\0", at)
        mode, name = data[at:space], data[space + 1 : nul].decode("utf-8", "surrogateescape")
        entries.append((mode, name, data[nul + 1 : nul + 1 + width].hex()))
        at = nul + 1 + width
    blobs = [(name, oid) for mode, name, oid in entries if mode.startswith((b"100", b"120"))]
    if not blobs:
        return {}
    objects = _objects(root, [oid for _, oid in blobs], what=what)
    return {name: obj.data for (name, _), obj in zip(blobs, objects, strict=True) if obj.kind == "blob"}


def _first_line(stderr: bytes) -> str:
    lines = text(stderr).strip().splitlines()
    return lines[0] if lines else "git failed"


def blobs(git_dir: Path, names: list[str], *, what: str) -> list[bytes | None]:
    """The content of each named blob (`REV:PATH` or an object id) of the bare repository
    *git_dir*, in one process; None for a name that is no blob there."""
    return [
        obj.data if obj.kind == "blob" else None for obj in _objects(git_dir, names, what=what, git_dir=True)
    ]
