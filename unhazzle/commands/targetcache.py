"""What `status`, `events`, `logs` and `metrics` need of a spec (project, environments, apps, jobs),
remembered per spec content: these commands are run again and again on an unchanged spec, and
compiling it costs more than the cluster's answer (pydantic, the pricing data). A changed spec or
compiler misses, and anything unreadable is simply compiled again."""

from __future__ import annotations

import contextlib
import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import unhazzle
from unhazzle.compiler.cachedir import user_cache_dir
from unhazzle.compiler.write import write_file_atomic
from unhazzle.shared import readlimit

# The modules whose logic decides the view: an edit to one (a development install) misses.
_DECIDERS = (
    "compiler/planning/plan.py",
    "compiler/spec/merge.py",
    "compiler/spec/model.py",
    "compiler/spec/resolve.py",
)


@dataclass(frozen=True)
class Env:
    name: str
    badge: str
    namespace: str
    apps: list[str]
    jobs: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class View:
    project: str
    environments: list[Env]
    apps: list[str]
    jobs: list[str] = field(default_factory=list)


def _entry(spec: Path) -> Path | None:
    try:
        digest = hashlib.sha256(readlimit.read_at_most(spec, readlimit.SPEC_FILE))  # over it: never stored
    except OSError:
        return None
    root = Path(unhazzle.__file__).parent
    digest.update(unhazzle.__version__.encode())
    for name in _DECIDERS:
        try:
            digest.update(str((root / name).stat().st_mtime_ns).encode())
        except OSError:
            digest.update(b"-")
    return user_cache_dir() / "targets" / f"{digest.hexdigest()}.json"


def recall(spec: Path) -> View | None:
    entry = _entry(spec)
    try:
        data = json.loads(entry.read_text(encoding="utf-8")) if entry else None
        if data is None:
            return None
        envs = [
            Env(e["name"], e["badge"], e["namespace"], list(e["apps"]), list(e["jobs"]))
            for e in data["environments"]
        ]
        return View(
            str(data["project"]), envs, [str(a) for a in data["apps"]], [str(j) for j in data["jobs"]]
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def remember(spec: Path, view: View) -> None:
    """Best effort: an unwritable cache only means compiling next time too."""
    entry = _entry(spec)
    if entry is None:
        return
    with contextlib.suppress(OSError):
        write_file_atomic(entry, json.dumps(asdict(view)))
