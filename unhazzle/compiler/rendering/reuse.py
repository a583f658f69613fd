"""App and job files kept from a project's last render, so that rendering again makes anew only
those whose inputs changed (`unhazzle render` and `publish` after a one-app change).

An app's file is a pure function of what its templates receive: the part of the environment's
view they read, the app's view (its plan, sizing included) and the templates and filters
themselves. The key is a digest of exactly those, written out by a pickler that accepts only
plain values and dataclasses of them (anything else turns reuse off, never a guess), so an entry
is reused only where rendering would give the same text. A damaged or unreadable cache is ignored
and costs only the render. One file per project and environment holds the entries that
environment's last render used, and nothing else.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import marshal
import pickle
from collections.abc import Callable
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from unhazzle.compiler.cachedir import user_cache_dir
from unhazzle.compiler.write import write_file_atomic


class Reuse:
    """What a project's environments rendered last time, and what this render makes."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder if folder is not None and _code() is not None else None
        self.kept: dict[str, dict[str, str]] = {}
        self.used: dict[str, dict[str, str]] = {}
        self.reused = 0

    @classmethod
    def for_project(cls, project: str, *, placeholders: bool = False) -> Reuse:
        """The project's; *placeholders*: its render with placeholder images
        (publishing/replay.py), kept apart so neither render displaces the other's files."""
        folder = hashlib.sha256(project.encode()).hexdigest()[:16] + ("-placeholders" if placeholders else "")
        return cls(user_cache_dir() / "rendered" / folder)

    def text(self, environment: str, inputs: list[Any], render: Callable[[], str]) -> str:
        """The file for *inputs* (what the templates receive): kept, or made by *render*()."""
        if self.folder is None:  # nothing kept, nothing to keep
            return render()
        try:
            key = hashlib.sha256(_key_bytes([_code(), inputs])).hexdigest()
        except TypeError:  # a value the key cannot be sure of: render, keep nothing
            return render()
        if environment not in self.kept:
            self.kept[environment] = _read(self._file(environment))
        text = self.kept[environment].get(key)
        if text is None:
            text = render()
        else:
            self.reused += 1
        self.used.setdefault(environment, {})[key] = text
        return text

    def save(self) -> None:
        """Keep this render's entries for the next one (a cache that cannot be written only
        costs the next render its reuse). Environments not rendered this time keep theirs."""
        if self.folder is None:
            return
        for environment, entries in self.used.items():
            if entries != self.kept.get(environment):
                with contextlib.suppress(OSError, ValueError):
                    # no fsync: a cache lost to a power cut costs only a render, and an fsync of
                    # a large project's entries cost more than the reuse saves
                    write_file_atomic(self._file(environment), marshal.dumps(entries), durable=False)

    def _file(self, environment: str) -> Path:
        assert self.folder is not None
        return self.folder / f"{environment}.marshal"


def _read(path: Path) -> dict[str, str]:
    try:
        data = marshal.loads(path.read_bytes())
    except (OSError, EOFError, ValueError, TypeError):
        return {}
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        return {}
    return data


class _KeyPickler(pickle.Pickler):
    """Writes plain data whole and exactly (pickle tells True from 1 and keeps every float bit),
    and dataclasses by their fields; anything else is refused (TypeError), never guessed at.
    Pickle, not a walk in Python: the key of 3,000 apps cost a sixth of their render that way."""

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, type) or (dataclasses.is_dataclass(obj) and not isinstance(obj, type)):
            return NotImplemented  # a dataclass by its class's name and its fields' values
        raise TypeError(f"{type(obj).__name__} cannot be part of a render key")


def _key_bytes(value: Any) -> bytes:
    """*value* written out whole and exactly; TypeError for anything but plain data."""
    buffer = io.BytesIO()
    try:
        _KeyPickler(buffer, protocol=5).dump(value)
    except pickle.PicklingError as exc:
        raise TypeError(str(exc)) from None
    return buffer.getvalue()


@cache
def _code() -> str | None:
    """A digest of what turns the views into text: jinja2, every template and the rendering
    module (its filters and finalizer), or None (no reuse) when they cannot be read."""
    import jinja2

    digest = hashlib.sha256(jinja2.__version__.encode() + b"\0")
    try:
        templates = resources.files("unhazzle.templates")
        for name in sorted(_template_names(templates)):
            digest.update(name.encode() + b"\0" + templates.joinpath(name).read_bytes() + b"\0")
        digest.update(Path(__file__).with_name("render.py").read_bytes())
    except OSError:  # an install without sources beside its byte-code: render every time
        return None
    return digest.hexdigest()


def _template_names(root: Any, prefix: str = "") -> list[str]:
    names = []
    for entry in root.iterdir():
        if entry.is_dir():
            names += _template_names(entry, f"{prefix}{entry.name}/")
        elif entry.name.endswith(".j2"):
            names.append(prefix + entry.name)
    return names
