"""The packaged data files (compiler/rules/data/), parsed once per content and kept in the user's
cache; on a first run read from the package's prebuilt copy (compiler/prebuilt.py).

ruamel.yaml's safe loader resolves every scalar in pure Python, about 10 ms for each of these
small files: with four of them on the render path, a tenth of rendering the example. The YAML
stays the only source; a prebuilt copy is found by a digest of the file's bytes, and a cache entry
by the same and the loader's version, so an edited file or another ruamel.yaml never reads a stale
entry, and a cache that cannot be read or written only costs the parse again (as the compiled
templates' cache)."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import pickle
from importlib import resources
from pathlib import Path
from typing import Any

import ruamel.yaml

from unhazzle.compiler import prebuilt
from unhazzle.compiler.cachedir import user_cache_dir
from unhazzle.compiler.write import write_file_atomic


def read_data(relative: str) -> Any:
    """The parsed content of compiler/rules/data/*relative*: plain dicts, lists, strings, numbers,
    booleans and dates, exactly as ruamel.yaml's safe loader gives them."""
    raw = resources.files("unhazzle.compiler.rules").joinpath("data", relative).read_bytes()
    return parse_cached(raw, packaged=relative)


def parse_cached(raw: bytes, *, packaged: str | None = None) -> Any:
    """*raw* YAML parsed by the safe loader, from the cache when this very text was parsed before;
    else, for the package's data file *packaged*, from its prebuilt copy when made from this text."""
    key = hashlib.sha256(f"ruamel.yaml {ruamel.yaml.__version__} safe\0".encode() + raw).hexdigest()
    entry = user_cache_dir() / "data" / f"{key}.pickle"
    with contextlib.suppress(Exception):  # no entry yet, or a damaged one: parse again
        return _PlainData(io.BytesIO(entry.read_bytes())).load()
    data = _prebuilt(packaged, raw) if packaged is not None else None
    if data is None:
        data = ruamel.yaml.YAML(typ="safe").load(raw)
    _store(entry, data)
    return data


def _prebuilt(packaged: str, raw: bytes) -> Any:
    """The package's prebuilt copy of data file *packaged* made from *raw*, or None."""
    code = prebuilt.code(prebuilt.data_file(packaged, raw), last="DATA")
    if code is None:
        return None
    namespace: dict[str, Any] = {}
    with contextlib.suppress(Exception):  # a damaged file is passed over
        exec(code, namespace)  # the package's own file, made from these very bytes
    return namespace.get("DATA")


_DATETIME = frozenset({"date", "datetime", "timedelta", "timezone"})  # YAML dates and timestamps


class _PlainData(pickle.Unpickler):
    """Reads back only what the safe loader makes: an entry naming any other class (written by
    someone else into the cache folder) is refused, and parsed again, never run."""

    def find_class(self, module: str, name: str) -> Any:
        if module == "datetime" and name in _DATETIME:
            return getattr(dt, name)
        raise pickle.UnpicklingError(f"{module}.{name} is not plain data")


def _store(entry: Path, data: Any) -> None:
    """Write *data* to *entry* atomically (a concurrent run reads a whole entry or none)."""
    with contextlib.suppress(OSError):
        # no fsync: an entry lost to a power cut costs only a parse
        write_file_atomic(entry, pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL), durable=False)
