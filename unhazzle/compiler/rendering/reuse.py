"""App files kept from a project's last render, so that rendering again writes anew only the
apps whose inputs changed (`unhazzle render` and `publish` after a one-app change).

An app's file is a pure function of what its templates receive: the environment's view, the
app's view (its plan, sizing included) and the templates and filters themselves. The key is a
digest of exactly those, so an entry is reused only where rendering would give the same text; a
damaged or unreadable cache is ignored and costs only the render. One file per project holds
the entries its last render used, and nothing else, so it never grows beyond one render.
"""

from __future__ import annotations

import contextlib
import hashlib
import marshal
from collections.abc import Callable
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from unhazzle.compiler.cachedir import user_cache_dir
from unhazzle.compiler.write import write_file_atomic


class Reuse:
    """The entries of one project's last render, and those of this one as they are made."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.kept: dict[str, str] = _read(path) if path else {}
        self.used: dict[str, str] = {}
        self.reused = 0

    @classmethod
    def for_project(cls, project: str) -> Reuse:
        name = hashlib.sha256(project.encode()).hexdigest()[:16]
        return cls(user_cache_dir() / "rendered" / f"{name}.marshal")

    def text(self, inputs: list[Any], render: Callable[[], str]) -> str:
        """The file for *inputs* (what the templates receive): kept, or made by *render*()."""
        if self.path is None:  # nothing kept, nothing to keep
            return render()
        key = _digest(inputs)
        text = self.kept.get(key)
        if text is None:
            text = render()
        else:
            self.reused += 1
        self.used[key] = text
        return text

    def save(self) -> None:
        """Keep this render's entries for the next one (a cache that cannot be written only
        costs the next render its reuse)."""
        if self.path is None or self.used == self.kept:
            return
        with contextlib.suppress(OSError, ValueError):
            write_file_atomic(self.path, marshal.dumps(self.used))


def _read(path: Path) -> dict[str, str]:
    try:
        data = marshal.loads(path.read_bytes())
    except (OSError, EOFError, ValueError, TypeError):
        return {}
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        return {}
    return data


def _digest(inputs: list[Any]) -> str:
    # repr, not JSON: the views hold only strings, numbers, lists, dicts built in a fixed order and
    # dataclasses of those, whose reprs are exact; JSON through dataclasses.asdict cost as much as
    # rendering. A value with a lossy or changing repr could only make an entry miss.
    return hashlib.sha256(repr([_code(), inputs]).encode()).hexdigest()


@cache
def _code() -> str:
    """A digest of what turns the views into text: jinja2, every template and the rendering
    module (its filters and finalizer). Another version of any never reads this one's entries."""
    import jinja2

    digest = hashlib.sha256(jinja2.__version__.encode() + b"\0")
    templates = resources.files("unhazzle.templates")
    for name in sorted(_template_names(templates)):
        digest.update(name.encode() + b"\0" + templates.joinpath(name).read_bytes() + b"\0")
    digest.update(Path(__file__).with_name("render.py").read_bytes())
    return digest.hexdigest()


def _template_names(root: Any, prefix: str = "") -> list[str]:
    names = []
    for entry in root.iterdir():
        if entry.is_dir():
            names += _template_names(entry, f"{prefix}{entry.name}/")
        elif entry.name.endswith(".j2"):
            names.append(prefix + entry.name)
    return names
