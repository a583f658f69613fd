"""The valid part of a spec that has problems: the spec without each app, job, database or
environment a problem was found in, and without any other section that has one (a wrong version
or region is stood in for).

The checks that read a whole plan (two apps claiming one domain, a settings object too big for
the cluster, an override that cannot be merged over its base) can then still run on the rest,
so their problems are said with the others, not only once the others are fixed. Taking a whole
entry out (an app in every environment, not just the override that is wrong) never makes a
problem of its own: what is left is a spec as the user wrote it, only smaller."""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable
from typing import Any, get_args

from unhazzle.compiler.spec.model import Region
from unhazzle.compiler.spec.positions import Path, Positions

# An entry taken out: ("apps", name), ("jobs", name), ("databases", name), ("environments",
# name), or (section,) for an optional top-level section.
Unit = tuple[str, ...]

NAMED = ("apps", "jobs", "databases")
# What every spec has (spec/model.py); any other top-level section (an unknown key too) is taken
# out whole when it is wrong.
REQUIRED = ("version", "project", "region", "environments", "apps")
# Required values a part takes in place of wrong ones: what the checks of a whole plan see does not
# depend on them (the region sets prices, never checked on a part, and the latency hints; the
# format's version, which every other problem was read in anyway). The project names namespaces
# and default addresses, which those checks read: a wrong one leaves no part.
STAND_INS: dict[str, object] = {"version": 1, "region": get_args(Region)[0]}


def unit_of(path: Path) -> Unit | None:
    """The entry a problem at *path* (a path into the spec's data) belongs to; None for a
    required part of the spec (its project, the lists themselves), which cannot go. A wrong
    version or region is one too: the part takes a stand-in (STAND_INS)."""
    head = path[:1]
    if len(path) >= 2 and head[0] in NAMED and isinstance(path[1], str):
        return (str(head[0]), path[1])
    if len(path) >= 2 and head == ("environments",) and isinstance(path[1], str):
        if len(path) >= 4 and path[2] in ("apps", "jobs") and isinstance(path[3], str):
            return (str(path[2]), path[3])  # an override is its app's (or job's) in every environment
        return ("environments", path[1])
    if head and isinstance(head[0], str) and (head[0] not in REQUIRED or head[0] in STAND_INS):
        return (head[0],)
    return None


def units_of(paths: Iterable[Path | None]) -> set[Unit] | None:
    """The entries of every path, or None when one of them cannot be taken out."""
    units: set[Unit] = set()
    for path in paths:
        unit = None if path is None else unit_of(path)
        if unit is None:
            return None
        units.add(unit)
    return units


def without(data: dict[Any, Any], units: set[Unit]) -> dict[Any, Any]:
    """*data* without *units*; an app or job is taken out of every environment's overrides too.
    *data* itself is left as it is (only the mappings on the way are copied)."""
    part = {key: value for key, value in data.items() if (key,) not in units}
    part |= {key: value for key, value in STAND_INS.items() if (key,) in units}
    for section in (*NAMED, "environments"):
        names = {unit[1] for unit in units if len(unit) == 2 and unit[0] == section}
        entries = part.get(section)
        if names and isinstance(entries, dict):
            part[section] = {name: entry for name, entry in entries.items() if name not in names}
    environments = part.get("environments")
    if isinstance(environments, dict):
        part["environments"] = {
            name: _overrides_without(env, units) if isinstance(env, dict) else env
            for name, env in environments.items()
        }
    return part


def _overrides_without(env: dict[Any, Any], units: set[Unit]) -> dict[Any, Any]:
    env = dict(env)
    for section in ("apps", "jobs"):
        names = {unit[1] for unit in units if len(unit) == 2 and unit[0] == section}
        entries = env.get(section)
        if names and isinstance(entries, dict):
            env[section] = {name: entry for name, entry in entries.items() if name not in names}
    return env


class PathsAt:
    """The path of what stands at a line and column of the file: where a problem found on the raw
    data (a reference, a name written twice) is located, read back into the spec's data. Built
    once per spec; each line's places are sorted once, when first asked about (a spec written on
    one line has all of them there)."""

    def __init__(self, positions: Positions) -> None:
        self.by_line: dict[int, list[tuple[int, int, Path]]] = {}
        for table in (positions.keys, positions.values):
            for path, (line, col) in table.items():
                self.by_line.setdefault(line, []).append((col, len(path), path))
        self.sorted: dict[int, tuple[list[tuple[int, int]], list[Path]]] = {}

    def __call__(self, line: int, col: int) -> Path | None:
        """The deepest path that starts last on *line* at or before *col*; None for none."""
        if line not in self.sorted:
            places = sorted(self.by_line.get(line, []), key=lambda place: place[:2])
            self.sorted[line] = ([place[:2] for place in places], [place[2] for place in places])
        starts, paths = self.sorted[line]
        at = bisect.bisect_right(starts, (col, math.inf)) - 1
        return paths[at] if at >= 0 else None
