"""Parsed environment folders kept on disk, so a restarted or `--once` reconciler does not read
and parse the same folder again (at 1,000 apps, YAML parsing and the guard's checks were most of
a fresh process's time; JSON loads ten times faster).

An entry is keyed by the folder's Git tree id (its files, names and modes, content-addressed),
its path, and a `salt` naming the code that parsed and judged it: two commits sharing a folder's
tree share its entry, and a new version of the guard never serves an old verdict. The entry is
a cache, never a source of truth: one whose header does not name exactly that folder, tree and
salt, or whose body does not match the digest written with it (a truncated or corrupted file, or
one copied from another folder's entry), is ignored, and the folder is parsed again. Writes go
to a temporary file renamed into place, so a reader, or another process writing the same entry,
sees a whole entry or none.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

KEEP = 64  # entries kept, newest used first: about two per environment of a large repo


class ParseCache:
    def __init__(self, root: Path, salt: str) -> None:
        self.root = root
        self.salt = salt  # "": nothing is kept (the code's fingerprint could not be taken)

    def _path(self, key: str, tree: str) -> Path:
        name = hashlib.sha256(f"{self.salt}\0{key}\0{tree}".encode()).hexdigest()[:40]
        return self.root / f"{name}.json"

    def load(self, key: str, tree: str) -> Any:
        """The parsed form stored for folder `key` at `tree`, or None when there is no sound entry."""
        if not self.salt:
            return None
        path = self._path(key, tree)
        try:
            head, _, body = path.read_bytes().partition(b"\n")
            header = json.loads(head)
            if header != _header(key, tree, self.salt, body):
                return None
            data = json.loads(body)
        except (OSError, ValueError):
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # in use: kept when older entries are dropped
        return data

    def store(self, key: str, tree: str, data: Any) -> None:
        """Keep `data` for folder `key` at `tree`; a cache that cannot be written is only slower."""
        if not self.salt:
            return
        body = json.dumps(data, separators=(",", ":")).encode()
        head = json.dumps(_header(key, tree, self.salt, body)).encode()
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            handle, tmp = tempfile.mkstemp(dir=self.root, prefix=".", suffix=".part")
            try:
                with os.fdopen(handle, "wb") as out:
                    out.write(head + b"\n" + body)
                os.replace(tmp, self._path(key, tree))
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
        except OSError:
            return
        self._trim()

    def _trim(self) -> None:
        """Drop all but the KEEP entries used last (a loop running for months sees many trees)."""
        try:
            entries = sorted(self.root.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
        except OSError:
            return
        for old in entries[KEEP:]:
            with contextlib.suppress(OSError):
                old.unlink()


def _header(key: str, tree: str, salt: str, body: bytes) -> dict[str, Any]:
    return {
        "folder": key,
        "tree": tree,
        "salt": salt,
        "size": len(body),
        "sha256": hashlib.sha256(body).hexdigest(),
    }
