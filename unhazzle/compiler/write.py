"""Writing rendered files to disk: whole environment folders swapped in at once, never half-written."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
import tempfile
from pathlib import Path


def write_tree(out: Path, files: dict[str, str]) -> list[Path]:
    """Write *files* (relative path -> text) under *out*, replacing each top-level folder they
    touch as a whole, so a stale app file never survives and a crash leaves the old folders.

    Every folder is written in full beside its target before any is swapped in, so a failure
    while writing (a full disk, a file in the way) changes none of them; the swaps are renames,
    and one that fails puts back those made before it.

    Files are not fsynced one by one: rendered output is a pure function of the spec, so after a
    power loss `unhazzle render` simply runs again, while 3,000 fsyncs made a large render wait
    on the disk for a minute. The folder swap (a rename) still keeps readers from ever seeing a
    half-written tree."""
    out.mkdir(parents=True, exist_ok=True)
    groups: dict[str, dict[str, str]] = {}
    for rel, text in files.items():
        top, _, rest = rel.partition("/")
        groups.setdefault(top, {})[rest] = text
    staged: list[tuple[Path, Path]] = []
    swapped: list[tuple[Path, Path, bool]] = []
    try:
        for top, group in sorted(groups.items()):
            target = out / top
            staged.append((target, _stage(target, group)))
            _remove(_old(target))  # a leftover of an earlier run, of any kind
        for target, staging in staged:
            had = os.path.lexists(target)
            swapped.append(
                (target, staging, had)
            )  # before the renames: an interrupt between them is put back too
            if had:
                target.rename(_old(target))
            staging.rename(target)
    except BaseException:
        for target, staging, had in reversed(swapped):  # put back what was swapped already
            if not os.path.lexists(staging):  # the new folder is in place: out of the way
                with contextlib.suppress(OSError):
                    target.rename(staging)
            if had and not os.path.lexists(target):
                with contextlib.suppress(OSError):
                    _old(target).rename(target)
        for _, staging in staged:
            _remove(staging)
        raise
    for target, _ in staged:
        _remove(_old(target))
    return [out / top / rel for top, group in sorted(groups.items()) for rel in sorted(group)]


def _old(target: Path) -> Path:
    return target.with_name(f".{target.name}.old")


def _remove(path: Path) -> None:
    """*path* gone, whatever it is (a folder, a file, a link); what cannot be removed stays."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError, IsADirectoryError, PermissionError):
            path.unlink()


def _stage(target: Path, files: dict[str, str]) -> Path:
    """A new folder beside *target* holding *files*, ready to be renamed into its place."""
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        umask = _umask()
        os.chmod(staging, 0o777 & ~umask)  # a folder like mkdir makes, not mkdtemp's private 0700
        made = {staging}
        for rel, text in sorted(files.items()):
            path = staging / rel
            if path.parent not in made:  # (one mkdir per folder, not per file)
                path.parent.mkdir(parents=True, exist_ok=True)
                made.add(path.parent)
            data = text.encode("utf-8")
            if not _link_if_same(target / rel, path, data, 0o666 & ~umask):
                with open(path, "wb") as handle:
                    handle.write(data)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return staging


def _link_if_same(previous: Path, path: Path, data: bytes, mode: int) -> bool:
    """Link the previous tree's file into the new one when it already holds *data*: removing the
    old tree then frees nothing of it. Freeing a just-written file's blocks is what made writing a
    re-rendered 3,000-app tree cost more than rendering it (0.5 ms an unlink, here). Only a plain
    file of ours is linked: not a symlink, not a file with other links (a snapshot, a user's
    copy), not one whose mode was changed; the file read is the file linked."""
    try:
        seen = os.lstat(previous)
        if (
            not stat.S_ISREG(seen.st_mode)
            or seen.st_nlink != 1
            or stat.S_IMODE(seen.st_mode) != mode
            or seen.st_size != len(data)
        ):
            return False
        with open(previous, "rb") as handle:
            if os.fstat(handle.fileno()).st_ino != seen.st_ino or handle.read() != data:
                return False
        os.link(previous, path, follow_symlinks=False)
        if os.lstat(path).st_ino != seen.st_ino:  # replaced between the read and the link
            os.unlink(path)
            return False
    except OSError:  # no previous file, or a filesystem without hard links: write it
        return False
    return True


def write_file_atomic(path: Path, content: str | bytes, *, durable: bool = True) -> None:
    """Replace *path* with *content* (text is written as UTF-8) in one rename, so readers never
    see half a file. The file keeps its permissions (a new one gets the usual 0644 less the
    umask, not mkstemp's 0600). *durable*=False skips the fsync, for what a power cut may lose
    at no more cost than making it again."""
    make_folder(path.parent)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.chmod(tmp, _mode_for(path))
        with os.fdopen(fd, "wb") as handle:
            handle.write(content.encode("utf-8") if isinstance(content, str) else content)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def edit_file_atomic(path: Path, content: str | bytes) -> None:
    """A user's own file (the spec, a secrets file) written back as write_file_atomic does, but
    through a symlink to the file it names: that is the file that was read and that the user
    keeps, and the link stays a link. Only for files the user points us at; generated files and
    caches are replaced as they stand, so a planted link there is never followed."""
    write_file_atomic(Path(os.path.realpath(path)), content)


def make_folder(folder: Path, mode: int = 0o777) -> None:
    """*folder* and its parents, made where missing. A file in the way is reported as what it
    is (mkdir says only "File exists", which reads as if the folder were there)."""
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=mode)
    except FileExistsError:
        blocker = next((p for p in (folder, *folder.parents) if p.exists() and not p.is_dir()), folder)
        raise NotADirectoryError(errno.ENOTDIR, f"{blocker} is a file, not a folder", str(folder)) from None


def _mode_for(path: Path) -> int:
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return 0o644 & ~_umask()


def _umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask
