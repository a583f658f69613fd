"""What the spec writes into each object of a process, against what the cluster stores of one.

The cluster keeps an object within 1.5 MB (etcd refuses a larger write), and the spec's own text
is the only part of an object that can grow without bound: the settings (references expanded),
the command and arguments, a release step's command, each `$` doubled as rendered. YAML aliases
can repeat a long text many times (a 17 KB spec made an 8 MB Deployment, which the cluster
refused). So that text is held to 1 MB per object, leaving the rest for what the templates add.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from unhazzle.compiler.planning.plan import Plan
from unhazzle.compiler.spec.positions import Positions
from unhazzle.errors import Problem

MAX_OBJECT_TEXT = 2**20  # bytes of the spec's own text in one object
# A character is at most 4 bytes of UTF-8, and a `$` one more: below this many characters an
# object's text cannot reach the limit, and nothing is measured
_SURELY_WITHIN = MAX_OBJECT_TEXT // 5


def oversized_objects(plan: Plan, positions: Positions) -> list[Problem]:
    """One problem per app, release step or job whose text is over the limit in some
    environment, said for the environment where it is largest, at the app's or job's name."""
    found = _Largest()
    for env in plan.environments:
        for app in env.apps:
            settings = [*app.settings, *app.settings.values()]
            own = [*settings, *(app.app.command or []), *(app.app.args or [])]
            found.note(("apps", app.name, "its settings, command and arguments"), env.name, own)
            if app.release is not None:
                step = [*settings, *app.release.command]
                found.note(("apps", app.name, "its release step's settings and command"), env.name, step)
        for job in env.jobs:
            texts = [*job.settings, *job.settings.values(), *(job.job.command or []), *(job.job.args or [])]
            found.note(("jobs", job.name, "its settings, command and arguments"), env.name, texts)
    problems = []
    for (section, name, what), (size, env_name) in found.largest.items():
        line, col = positions.first_of([(section, name)], key=True)
        megabytes = math.ceil(size / 2**20 * 10) / 10
        problems.append(
            Problem(
                positions.file,
                line,
                col,
                f"{section}.{name}: {what} come to {megabytes:.1f} MB in {env_name} (each $ counts twice); "
                f"the cluster keeps one object within 1.5 MB, so they may come to "
                f"{MAX_OBJECT_TEXT // 2**20} MB: keep large text in a file the app reads, or in a secret",
            )
        )
    return problems


class _Largest:
    """Each object's largest text over the environments, where it is over the limit."""

    def __init__(self) -> None:
        self.largest: dict[tuple[str, str, str], tuple[int, str]] = {}  # key -> (bytes, environment)
        self.measured: dict[int, int] = {}  # id of a text -> its bytes: shared settings recur in every app

    def note(self, key: tuple[str, str, str], env_name: str, texts: Iterable[str]) -> None:
        strings = [t for t in texts if isinstance(t, str)]
        if sum(map(len, strings)) <= _SURELY_WITHIN:
            return
        size = sum(self._bytes(text) for text in strings)
        if size > MAX_OBJECT_TEXT and size > self.largest.get(key, (0, ""))[0]:
            self.largest[key] = (size, env_name)

    def _bytes(self, text: str) -> int:
        found = self.measured.get(id(text))
        if found is None:
            found = self.measured[id(text)] = len(text.encode("utf-8", "surrogatepass")) + text.count("$")
        return found
