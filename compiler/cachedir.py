"""Where Unhazzle keeps what it can always make again (cache copies of environment repos,
compiled templates): $UNHAZZLE_CACHE_DIR, else $XDG_CACHE_HOME/unhazzle, else ~/.cache/unhazzle."""

from __future__ import annotations

import os
from pathlib import Path


def user_cache_dir() -> Path:
    if os.environ.get("UNHAZZLE_CACHE_DIR"):
        return Path(os.environ["UNHAZZLE_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "unhazzle"
