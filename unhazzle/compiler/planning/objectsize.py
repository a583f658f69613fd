"""What the spec writes into each app, release step and job, against what the cluster keeps of one.

The cluster keeps each within 1.5 MB (its store refuses a larger write). The spec's own text is
what can grow there without bound: the settings (references expanded) and secrets, the command
and arguments, a release step's command. Each setting and secret costs its name again where the
cluster records who set it, and some 60-100 bytes of structure; each `$` is doubled as rendered.
YAML aliases can repeat a long text many times (a 17 KB spec made an 8 MB app, which the cluster
refused). So that text is held to 1 MB each, leaving room for what the templates add.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

from unhazzle.compiler.planning.plan import Plan
from unhazzle.compiler.spec.positions import Path, Positions
from unhazzle.errors import Problem

MAX_TEXT = 2**20  # bytes of the spec's own text in one app, release step or job
SETTING_COST, SECRET_COST = 64, 100  # what each adds around its name and value

Key = tuple[str, str, str]  # section, name, what is measured


def oversized_objects(plan: Plan, positions: Positions) -> list[Problem]:
    """One problem per app, release step or job whose text is over the limit in some
    environment, said for the environment where it is largest, at its largest setting (where
    that environment takes it from) or else at the app's or job's name."""
    found = _Largest()
    process = "its settings, secrets, command and arguments"
    step = "its release step's settings, secrets and command"
    for env in plan.environments:
        for app in env.apps:
            own = [*(app.app.command or []), *(app.app.args or [])]
            found.note(("apps", app.name, process), env.name, app.settings, app.secrets, own)
            if app.release is not None:
                found.note(("apps", app.name, step), env.name, app.settings, app.secrets, app.release.command)
        for job in env.jobs:
            own = [*(job.job.command or []), *(job.job.args or [])]
            found.note(("jobs", job.name, process), env.name, job.settings, job.secrets, own)
    problems = []
    for (section, name, what), (size, env_name, dollars, most, setting) in found.largest.items():
        # at the largest setting where this environment takes it from, else at the name
        places: list[Path] = []
        if setting is not None:
            places = [
                ("environments", env_name, section, name, "env", setting),
                (section, name, "env", setting),
                ("environments", env_name, "env", setting),
                ("env", setting),
            ]
        spelt = [place for place in places if place in positions.keys]
        line, col = positions.first_of([*spelt[:1], (section, name)], key=True)
        doubled = " (each $ counts twice)" if dollars else ""
        problems.append(
            Problem(
                positions.file,
                line,
                col,
                f"{section}.{name}: {what} come to {_megabytes(size)} in {env_name}{doubled}, more than "
                f"the {MAX_TEXT // 2**20} MB they may take of the 1.5 MB the cluster keeps for each "
                f"(the largest: {most}): keep large text in a file the app reads, or in a secret",
            )
        )
    return problems


def _names(settings: Mapping[str, str]) -> int:
    """What the settings cost besides their values: each name twice (names are ASCII, a byte a
    character) and the structure around it."""
    return SETTING_COST * len(settings) + 2 * sum(map(len, settings))


def _secrets(secrets: list[str]) -> int:
    """What the secrets cost: each name three times and the structure around it."""
    return SECRET_COST * len(secrets) + 3 * sum(map(len, secrets))


def _megabytes(size: int) -> str:
    """Rounded up, so a size over the limit never reads as the limit."""
    if size < 100 * 2**10:
        return f"{math.ceil(size / 2**10)} KB"
    return f"{math.ceil(size / 2**20 * 10) / 10:.1f} MB"


class _Largest:
    """Each one's largest text over the environments, where it is over the limit."""

    def __init__(self) -> None:
        # -> (bytes, environment, any `$`, the largest part in words, its name if a setting)
        self.largest: dict[Key, tuple[int, str, bool, str, str | None]] = {}
        self.measured: dict[int, int] = {}  # id of a text -> its bytes: shared settings recur

    def note(
        self, key: Key, env_name: str, settings: Mapping[str, str], secrets: list[str], texts: Iterable[str]
    ) -> None:
        values = [*settings.values(), *(t for t in texts if isinstance(t, str))]
        # the values are measured only when, even at 5 bytes a character, they could be over
        known = _names(settings) + _secrets(secrets)
        if known + 5 * sum(map(len, values)) <= MAX_TEXT:
            return
        size = known + sum(map(self._bytes, values))
        if size > MAX_TEXT and size > self.largest.get(key, (0,))[0]:
            most, setting = self._most(settings, secrets, values[len(settings) :])
            self.largest[key] = (size, env_name, any("$" in v for v in values), most, setting)

    def _most(
        self, settings: Mapping[str, str], secrets: list[str], texts: list[str]
    ) -> tuple[str, str | None]:
        """The largest part, so the error says what to move out: a setting (and its name), the
        command or an argument, or, where there are many small ones, the settings' names or the
        secrets."""
        parts: list[tuple[int, str, str | None]] = [
            (self._bytes(v), f"setting {k}", k) for k, v in settings.items()
        ]
        parts += [(self._bytes(t), "the command or an argument", None) for t in texts]
        # many small ones: their names and places together
        if settings:
            parts.append((_names(settings), f"the names of its {len(settings)} settings", None))
        if secrets:
            parts.append((_secrets(secrets), f"its {len(secrets)} secrets", None))
        size, said, setting = max(parts, default=(0, "nothing", None), key=lambda part: part[0])
        return f"{said}, {_megabytes(size)}", setting

    def _bytes(self, text: str) -> int:
        found = self.measured.get(id(text))
        if found is None:
            found = self.measured[id(text)] = len(text.encode("utf-8", "surrogatepass")) + text.count("$")
        return found
