"""Where replay records are kept (publishing/replay.py), and their key: everything a compile's
output depends on besides the spec's text. That is the compiler's code and data, the libraries
it runs, Python, the day (the price table in effect), and the secrets files next to the spec.

The code counts by content, not by file times: pip gives every file it installs the time of
the install, so a CI job that installs Unhazzle afresh each run still finds its record, and a
file changed without its time changing still counts. Reading the files costs tens of
milliseconds, so the contents' digest is kept beside the record, with the size, times and inode
of every file it was made from, and read again only when one of those changed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import time
from importlib.util import find_spec
from pathlib import Path

from unhazzle import __version__
from unhazzle.compiler.cachedir import user_cache_dir
from unhazzle.compiler.write import make_folder, write_file_atomic
from unhazzle.shared.names import STORE_DIR
from unhazzle.shared.readlimit import SPEC_FILE, read_bytes

FORMAT = 2
# The libraries whose code shapes a compile's output (validation, parsing, templates), besides
# ours; a C part of one counts too.
LIBRARIES = (
    "pydantic", "pydantic_core", "annotated_types", "typing_extensions", "typing_inspection",
    "jinja2", "markupsafe", "ruamel.yaml", "_ruamel_yaml", "yaml",
)  # fmt: skip


def key(spec: Path) -> str:
    """The key for the spec at *spec*, as things stand now; OSError when a secrets file cannot
    be read (the compile says why)."""
    digest = hashlib.sha256()
    parts = (
        str(FORMAT),
        __version__,
        sys.version,
        time.strftime("%Y-%m-%d"),  # the price table in effect (planning/cost.current_rates)
        code_digest(),
        *_secrets(spec),
    )
    for part in parts:
        digest.update(part.encode("utf-8", "surrogateescape") + b"\0")
    return digest.hexdigest()


def keeps_records() -> bool:
    """Whether this cache keeps replay records. Not until its second publish: a runner that
    starts empty every time would never read one, and making one costs a second compile."""
    return folder().is_dir()


def keep_records() -> None:
    """From the next publish on (the first publish with this cache calls this)."""
    with contextlib.suppress(OSError):
        make_folder(folder())


def folder() -> Path:
    """Where the records are, and the memo of the code's digest."""
    return user_cache_dir() / "replay"


def code_digest(roots: list[str] | None = None) -> str:
    """A digest of the contents of every file under *roots* (ours and the libraries')."""
    roots = roots if roots is not None else _roots()
    files = [(root, path) for root in roots for path in _files_under(root)]
    stats = hashlib.sha256()
    for _root, path in files:
        info = os.stat(path)
        line = f"{path}\0{info.st_size}\0{info.st_mtime_ns}\0{info.st_ctime_ns}\0{info.st_ino}\n"
        stats.update(line.encode("utf-8", "surrogateescape"))
    memo = folder() / "code.json"  # with the records: asked for only where they are kept
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        kept = json.loads(memo.read_bytes())
        if kept["stats"] == stats.hexdigest():
            return str(kept["contents"])
    contents = hashlib.sha256()
    for root, path in files:
        name = os.path.relpath(path, os.path.dirname(root))
        with open(path, "rb") as handle:
            data = handle.read()
        contents.update(f"{name}\0{len(data)}\0".encode("utf-8", "surrogateescape") + data)
    with contextlib.suppress(OSError):
        kept = {"stats": stats.hexdigest(), "contents": contents.hexdigest()}
        write_file_atomic(memo, json.dumps(kept), durable=False)
    return contents.hexdigest()


def _roots() -> list[str]:
    """Our package's folder and each library's (or its one file)."""
    roots = [os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))]
    for library in LIBRARIES:
        try:
            found = find_spec(library)
        except ModuleNotFoundError:  # ruamel.yaml without ruamel
            found = None
        if found is None:
            continue
        if found.submodule_search_locations:
            roots += sorted(found.submodule_search_locations)
        elif found.origin:
            roots.append(found.origin)
    return roots


def _files_under(root: str) -> list[str]:
    if os.path.isfile(root):
        return [root]
    found = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        found += [os.path.join(folder, name) for name in sorted(names)]
    return found


def _secrets(spec: Path) -> list[str]:
    """The bytes of each secrets file the compile reads (secrets/store.load_stores)."""
    stores = spec.parent / STORE_DIR
    if not stores.is_dir():
        return ["no secrets"]
    return [
        f"{path.name} {hashlib.sha256(read_bytes(path, SPEC_FILE)).hexdigest()}"
        for path in sorted(stores.glob("*.yaml"))
    ]
