"""Where render, preview and publish keep their working files: in memory (tmpfs) when the
machine has one. (The cluster benchmarks write little, and keep the system's temporary folder.)

Writing to this machine's disk measured the disk rather than the tools, in two ways:
- creating the 1,000 files of plain Git's checkout took from 0.05 s to 0.45 s from one hour to
  the next;
- its root ext4 has no journal, and without one the kernel's inode allocator skips every inode
  freed in the last minute (six while its inode-table block is unwritten), checking each one's
  inode-table block in the buffer cache (`recently_deleted` in fs/ext4/ialloc.c). A benchmark
  deletes the last run's output before the next, so each of a render's 3,000 new files scanned
  the 3,000 just freed: a 3,000-app render took 3.3-3.4 s there, 2.5 s of it in the kernel,
  against 0.93 s in memory. helm, writing one stream, never pays it.

A container's /dev/shm may hold 64 MB only; the runs need a few hundred, so a small one is not
used.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

TMPFS = "/dev/shm"
_ROOMY = os.access(TMPFS, os.W_OK) and shutil.disk_usage(TMPFS).free > 2**30
FOLDER = TMPFS if _ROOMY else tempfile.gettempdir()


def line() -> str:
    """What a table says under it about where the files were written."""
    where = "in memory (tmpfs)" if FOLDER == TMPFS else "in the system's temporary folder"
    return f"working files in {FOLDER}, {where}"


@contextlib.contextmanager
def caches(env: dict[str, str], folder: Path) -> Iterator[None]:
    """Unhazzle's caches in *folder* for the runs given *env*, apart from the user's; *env* as
    it was afterwards (the next benchmark shares it)."""
    before = env.get("UNHAZZLE_CACHE_DIR")
    env["UNHAZZLE_CACHE_DIR"] = str(folder)
    try:
        yield
    finally:
        if before is None:
            env.pop("UNHAZZLE_CACHE_DIR", None)
        else:
            env["UNHAZZLE_CACHE_DIR"] = before
