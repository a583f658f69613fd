"""Where Unhazzle keeps what it can always make again (cache copies of environment repos,
compiled templates, parsed data files): $UNHAZZLE_CACHE_DIR, else $XDG_CACHE_HOME/unhazzle, else
~/.cache/unhazzle; with no home folder at all, a private folder kept for this run only."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path


def user_cache_dir() -> Path:
    if os.environ.get("UNHAZZLE_CACHE_DIR"):
        return Path(os.environ["UNHAZZLE_CACHE_DIR"])
    if os.environ.get("XDG_CACHE_HOME"):
        return Path(os.environ["XDG_CACHE_HOME"]) / "unhazzle"
    try:
        return Path.home() / ".cache" / "unhazzle"
    except RuntimeError:  # no HOME and no user entry (a container run as an arbitrary user id)
        return _this_run_only()


@cache
def _this_run_only() -> Path:
    """A fresh folder only this process can use (never a guessable shared one, whose planted
    entries another user could make us read), removed when the run ends."""
    import atexit
    import shutil
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="unhazzle-cache-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder
