"""Checks across the spec that one field alone cannot make: references, and rules per environment.

They read the raw loaded data, defensively, so they report alongside the model's own errors
instead of waiting until those are fixed: the user gets every problem in one run.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from unhazzle.compiler.spec.merge import deep_merge
from unhazzle.compiler.spec.model import MAX_ENV_NAME, MAX_NAME, MAX_TIMEZONE
from unhazzle.compiler.spec.positions import LINE_BREAK, Path, Positions
from unhazzle.compiler.spec.suggest import hint
from unhazzle.errors import Problem
from unhazzle.shared.cron import CronError, check_zone, parse
from unhazzle.shared.names import MAX_NAMESPACE, RESERVED_APP_NAMES, namespace_for, reserved

APP_REF = re.compile(r"^apps\.([^.]+)\.(url|host|port)$")


def cross_check(data: Any, positions: Positions, text: str = "") -> list[Problem]:
    """Every cross-field problem in the raw spec *data*; *text*, the spec as written, places a
    problem inside a value (a reference) where it stands in it."""
    if not isinstance(data, dict):
        return []
    checker = _Checker(data, positions, text)
    return list(checker.run())


def _dict(value: Any) -> dict[Any, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


class _Checker:
    def __init__(self, data: dict[Any, Any], positions: Positions, text: str = "") -> None:
        self.data = data
        self.positions = positions
        self.text = text
        self._lines: list[str] | None = None
        self.apps = {k: v for k, v in _dict(data.get("apps")).items() if isinstance(k, str)}
        self.jobs = {k: v for k, v in _dict(data.get("jobs")).items() if isinstance(k, str)}
        self.databases = [k for k in _dict(data.get("databases")) if isinstance(k, str)]
        self.database_secrets: dict[str, Any] = {
            k: _dict(v).get("secret") for k, v in _dict(data.get("databases")).items() if isinstance(k, str)
        }
        # (a key that is not text, such as null or 1.5, is the model's to report, not a name here)
        self.environments = {k: v for k, v in _dict(data.get("environments")).items() if isinstance(k, str)}

    def problem(self, paths: list[Path], message: str, *, key: bool = False) -> Problem:
        line, col = self.positions.first_of(paths, key=key)
        return Problem(self.positions.file, line, col, message)

    def places_in(self, paths: list[Path]) -> _Places:
        """A finder of the parts of the value at *paths*, where they are written."""
        line, col = self.positions.first_of(paths, key=False)
        if self._lines is None:
            self._lines = LINE_BREAK.split(self.text) if self.text else []
        return _Places(self._lines, self.positions.file, line, col)

    def run(self) -> Iterator[Problem]:
        yield from self._namespaces()
        for app_name in self.apps:
            if app_name in RESERVED_APP_NAMES:
                yield self.problem(
                    [("apps", app_name)],
                    f"apps.{app_name}: the name '{app_name}' is kept for Unhazzle's own use in "
                    "every environment; rename the app",
                    key=True,
                )
        yield from self._job_names()
        yield from self._previews()
        for env_name, env in self.environments.items():
            yield from self._jobs_in(env_name, _dict(env))
            overrides = _dict(_dict(env).get("apps"))
            for app_name in overrides:
                if isinstance(app_name, str) and app_name not in self.apps:
                    yield self.problem(
                        [("environments", env_name, "apps", app_name)],
                        f"environments.{env_name}.apps: no app named '{app_name}' to change"
                        f"{hint(app_name, self.apps)}",
                        key=True,
                    )
            merged_apps = {
                name: deep_merge(_dict(base), _dict(overrides.get(name))) for name, base in self.apps.items()
            }
            shared = {**_dict(self.data.get("env")), **_dict(_dict(env).get("env"))}
            if shared:  # shared settings' references resolve in each environment, like an app's
                where_shared: list[Path] = [("environments", env_name), ()]
                yield from self._references(
                    {"env": shared}, where_shared, targets=merged_apps, env_name=env_name
                )
            yield from self._order(env_name, merged_apps)
            for app_name, merged in merged_apps.items():
                override = _dict(overrides.get(app_name))
                where: list[Path] = [("environments", env_name, "apps", app_name), ("apps", app_name)]
                yield from self._app_in(env_name, app_name, merged, override, where)
                yield from self._references(merged, where, targets=merged_apps, env_name=env_name)
                # (an override that gives both min and max is checked as written, by the model)
                if "instances" in override and not {"min", "max"} <= set(_dict(override["instances"])):
                    yield from self._ordered(f"apps.{app_name} (in {env_name})", merged, where)

    def _order(self, env_name: str, apps: dict[Any, Any]) -> Iterator[Problem]:
        """`after:` names other apps of the environment, and never in a circle."""
        waits: dict[str, list[str]] = {}
        for name, app in apps.items():
            where = [("environments", env_name, "apps", name, "after"), ("apps", name, "after")]
            for index, other in enumerate(_list(_dict(app).get("after"))):
                paths = [(*w, index) for w in where]
                if not isinstance(other, str):
                    continue
                if other == name:
                    yield self.problem(paths, f"apps.{name}.after: an app cannot wait for itself")
                elif other not in apps:
                    known = hint(other, apps) or f"; the apps are {', '.join(sorted(apps))}"
                    yield self.problem(paths, f"apps.{name}.after: no app named '{other}'{known}")
                else:
                    waits.setdefault(name, []).append(other)
        cycle = _cycle(waits)
        if cycle:
            first = cycle[0]
            where = [("environments", env_name, "apps", first, "after"), ("apps", first, "after")]
            circle = " -> ".join([*cycle, first])
            yield self.problem(
                where,
                f"apps.{first}.after: {circle} wait for each other in a circle (in {env_name}); "
                "remove one of them",
            )

    def _previews(self) -> Iterator[Problem]:
        """`previews.from` is an environment, `previews.apps` are apps, and `previews.secrets` are
        secrets those apps use."""
        previews = _dict(self.data.get("previews"))
        source = previews.get("from")
        if isinstance(source, str) and source not in self.environments:
            yield self.problem(
                [("previews", "from")],
                f"previews.from: no environment named '{source}' to copy{hint(source, self.environments)}",
            )
        chosen = [a for a in _list(previews.get("apps")) if isinstance(a, str)]
        if previews.get("apps") == []:
            yield self.problem(
                [("previews", "apps")], "previews.apps: name the apps a preview runs, or leave it out for all"
            )
        for at, app in enumerate(_list(previews.get("apps"))):
            if isinstance(app, str) and app not in self.apps:
                yield self.problem(
                    [("previews", "apps", at)], f"previews.apps: no app named '{app}'{hint(app, self.apps)}"
                )
        included = [a for a in (chosen or list(self.apps)) if a in self.apps]
        databases = _dict(self.data.get("databases"))
        used: set[str] = set()
        for app in included:
            entry = _dict(self.apps[app])
            used |= {s for s in _list(entry.get("secrets")) if isinstance(s, str)}
            for db in _list(entry.get("databases")):
                secret = _dict(databases.get(db)).get("secret") if isinstance(db, str) else None
                if isinstance(secret, str):
                    used.add(secret)
        for at, name in enumerate(_list(previews.get("secrets"))):
            if isinstance(name, str) and name not in used:
                yield self.problem(
                    [("previews", "secrets", at)],
                    f"previews.secrets: no app a preview runs uses a secret named '{name}'"
                    f"{hint(name, sorted(used))}",
                )

    def _job_names(self) -> Iterator[Problem]:
        for name in self.jobs:
            if name in self.apps or name in RESERVED_APP_NAMES:
                what = "an app has that name too" if name in self.apps else "the name is kept for Unhazzle"
                yield self.problem(
                    [("jobs", name)], f"jobs.{name}: {what}; give the job a name of its own", key=True
                )

    def _jobs_in(self, env_name: str, env: dict[Any, Any]) -> Iterator[Problem]:
        """Each job as this environment runs it: the base checks (reported once, since their
        wording is the same everywhere) and what an override changes."""
        overrides = _dict(env.get("jobs"))
        for name in overrides:
            if isinstance(name, str) and name not in self.jobs:
                yield self.problem(
                    [("environments", env_name, "jobs", name)],
                    f"environments.{env_name}.jobs: no job named '{name}' to change{hint(name, self.jobs)}",
                    key=True,
                )
        apps = {
            name: deep_merge(_dict(base), _dict(_dict(env.get("apps")).get(name)))
            for name, base in self.apps.items()
        }
        for name, base in self.jobs.items():
            override = _dict(overrides.get(name))
            merged = deep_merge(_dict(base), override)
            where: list[Path] = [("environments", env_name, "jobs", name), ("jobs", name)]
            label = f"jobs.{name}" + (f" (in {env_name})" if override else "")
            yield from self._schedule(label, merged, where)
            yield from self._database_refs(merged, where)
            yield from self._names(label, merged, where)
            yield from self._writable(label, merged, where)
            yield from self._references(merged, where, targets=apps, env_name=env_name)

    def _schedule(self, label: str, job: dict[Any, Any], where: list[Path]) -> Iterator[Problem]:
        for key, check in (("schedule", parse), ("timezone", check_zone)):
            value = job.get(key)
            if not isinstance(value, str) or not value or (key == "timezone" and len(value) > MAX_TIMEZONE):
                continue  # (the model says what is wrong with it; blank text is ours to refuse)
            try:
                check(value)
            except CronError as err:
                yield self.problem([(*w, key) for w in where], f"{label}.{key}: {err}")

    def _app_in(
        self, env_name: str, name: str, merged: dict[Any, Any], override: dict[Any, Any], where: list[Path]
    ) -> Iterator[Problem]:
        """A problem only an environment's override causes names that environment."""
        in_base = {p.message for p in self._app(name, _dict(self.apps[name]), where)} if override else None
        for found in self._app(name, merged, where):
            if in_base is not None and found.message not in in_base:
                label = f"apps.{name}"
                found = replace(found, message=found.message.replace(label, f"{label} (in {env_name})", 1))
            yield found

    def _namespaces(self) -> Iterator[Problem]:
        project = self.data.get("project")
        if not isinstance(project, str) or len(project) > MAX_NAME:
            return  # a name over its own limit is reported (shortened) by validation already
        for env_name in self.environments:
            if not isinstance(env_name, str) or len(env_name) > MAX_ENV_NAME:
                continue
            namespace = namespace_for(project, env_name)
            if len(namespace) > MAX_NAMESPACE:
                yield self.problem(
                    [("environments", env_name)],
                    f"environments.{env_name}: '{project}' and '{env_name}' together "
                    f"are {len(namespace)} characters; keep them within "
                    f"{MAX_NAMESPACE - 1}",
                    key=True,
                )
            elif reserved(namespace):
                yield self.problem(
                    [("environments", env_name)],
                    f"environments.{env_name}: '{project}' and '{env_name}' together make "
                    f"'{namespace}', a name the cluster keeps for itself; rename the project "
                    "or the environment",
                    key=True,
                )

    def _app(self, name: str, app: dict[Any, Any], where: list[Path]) -> Iterator[Problem]:
        # Same wording in every environment: a base-app problem is reported once (deduplicated).
        label = f"apps.{name}"
        yield from self._database_refs(app, where)
        yield from self._exposure(label, app, where)
        yield from self._names(label, app, where)
        yield from self._one_disk(label, app, where)
        yield from self._writable(label, app, where)

    def _references(
        self, app: dict[Any, Any], where: list[Path], *, targets: dict[Any, Any], env_name: str
    ) -> Iterator[Problem]:
        """References resolve per environment: an override may take a target's port away."""
        for key, value in _dict(app.get("env")).items():
            if not isinstance(value, str):
                continue
            places = self.places_in([(*w, "env", key) for w in where])
            # as the plan expands it: `$${` is a literal `${`, passed over where it is written
            for index, part in enumerate(value.split("$${")):
                if index:
                    places.skip("$${")
                written, unclosed = _references_in(part)
                for expr in written:
                    yield from self._reference(expr, places, targets, env_name)
                if unclosed is not None:
                    shown = unclosed[:60] + ("..." if len(unclosed) > 60 else "")
                    yield places.problem(
                        unclosed[:60].split("\n")[0],
                        f"'{shown}' has no closing '}}'; close it, or write $${{ for a literal ${{",
                    )

    def _reference(
        self, written: str, places: _Places, targets: dict[Any, Any], env_name: str
    ) -> Iterator[Problem]:
        expr = written.strip()
        found = APP_REF.match(expr)
        within = "${" + written + "}"
        if not found:
            yield places.problem(
                within,
                f"'${{{expr}}}' is not a reference Unhazzle knows; "
                "write ${apps.NAME.url}, ${apps.NAME.host} or "
                "${apps.NAME.port} (or $${ for a literal ${)",
            )
            return
        target = found.group(1)
        if target not in self.apps:
            known = hint(target, self.apps) or f"; the apps are {', '.join(sorted(self.apps))}"
            yield places.problem(within, f"'${{{expr}}}' names no app '{target}'{known}")
        elif _dict(self.apps[target]).get("port") is None:  # (one that is no number: the model's error)
            yield places.problem(
                within, f"'${{{expr}}}': app '{target}' has no port, so it has no address; give it a port"
            )
        elif _dict(targets.get(target)).get("port") is None:
            yield places.problem(
                within, f"'${{{expr}}}': app '{target}' has no port in {env_name}, so it has no address there"
            )

    def _database_refs(self, app: dict[Any, Any], where: list[Path]) -> Iterator[Problem]:
        used = app.get("databases")
        if not isinstance(used, list):
            return
        for index, db in enumerate(used):
            if isinstance(db, str) and db not in self.databases:
                paths = [(*w, "databases", index) for w in where]
                known = (
                    f"; declared: {', '.join(sorted(self.databases))}"
                    if self.databases
                    else "; declare it under databases:"
                )
                yield self.problem(paths, f"no database named '{db}'{hint(db, self.databases) or known}")

    def _exposure(self, label: str, app: dict[Any, Any], where: list[Path]) -> Iterator[Problem]:
        public = app.get("public") is True
        has_port = app.get("port") is not None  # (a port that is no number is the model's error)
        if app.get("domains") and not public:
            yield self.problem(
                [(*w, "domains") for w in where], f"{label}.domains: domains need public: true on the app"
            )
        if public and not has_port:
            yield self.problem(
                [(*w, "public") for w in where], f"{label}: a public app needs a port to serve on"
            )
        if app.get("health") and not has_port:
            yield self.problem(
                [(*w, "health") for w in where], f"{label}.health: a health check needs the app's port"
            )

    def _names(self, label: str, app: dict[Any, Any], where: list[Path]) -> Iterator[Problem]:
        settings = _dict(app.get("env"))
        secrets = _list(app.get("secrets"))
        for index, secret in enumerate(secrets):
            if isinstance(secret, str) and secret in settings:
                yield self.problem(
                    [(*w, "secrets", index) for w in where],
                    f"{label}: '{secret}' is both a setting (env) and a secret; keep one",
                )
        # a database's connection URL reaches the process under its secret's name: a setting of
        # that name too would be a second variable of the name, which the cluster refuses
        for db in _list(app.get("databases")):
            secret = self.database_secrets.get(db) if isinstance(db, str) else None
            if isinstance(secret, str) and secret in settings and secret not in secrets:
                yield self.problem(
                    [(*w, "env", secret) for w in where],
                    f"{label}.env: '{secret}' is the connection URL of database '{db}' (its secret); "
                    "rename the setting, or remove it",
                )

    def _one_disk(self, label: str, app: dict[Any, Any], where: list[Path]) -> Iterator[Problem]:
        """A disk attaches to one instance at a time: more instances, written out next to a volume,
        is an error at the instances line, never silently one instance."""
        if not isinstance(app.get("volume"), dict):
            return
        instances = _dict(app.get("instances"))
        asked = {k: v for k, v in instances.items() if k in ("min", "max") and isinstance(v, int) and v > 1}
        if asked:
            field = "max" if "max" in asked else "min"
            yield self.problem(
                [(*w, "instances", field) for w in where],
                f"{label}.instances: {field} {asked[field]} is not possible for an app with a volume: "
                "its disk attaches to one instance at a time, so it runs exactly 1. Remove instances "
                "(or write {min: 1, max: 1}), or keep the data outside the app (an external database, "
                "or another app with the volume) to run more",
            )

    def _writable(self, label: str, app: dict[Any, Any], where: list[Path]) -> Iterator[Problem]:
        """Each writable folder is a folder of its own: not the whole filesystem, not inside
        another writable one or the volume (nor holding them), not /tmp, which is writable already;
        nor is the volume in /tmp."""
        volume = _dict(app.get("volume")).get("path")
        plain = _plainly(volume) if isinstance(volume, str) else None  # //tmp and /./tmp are /tmp
        if plain is not None and (plain == "/tmp" or plain.startswith("/tmp/")):
            # /tmp is every app's own empty folder already: two mounts there, the cluster refuses
            yield self.problem(
                [(*w, "volume", "path") for w in where],
                f"{label}.volume.path: '{volume}' {'is' if plain == '/tmp' else 'is inside'} /tmp, "
                "the app's own folder emptied at every start; keep the disk elsewhere, such as /data",
            )
        seen: list[str] = [volume] if isinstance(volume, str) else []
        for index, entry in enumerate(_list(app.get("writable"))):
            path = entry if isinstance(entry, str) else _dict(entry).get("path")
            if not isinstance(path, str) or not path.startswith("/"):
                continue  # (the model says what is wrong with it)
            paths = [(*w, "writable", index) for w in where]
            why = _writable_problem(path, seen, volume if isinstance(volume, str) else None)
            if why:
                yield self.problem(paths, f"{label}.writable: '{path}' {why}")
            seen.append(path)

    def _ordered(self, label: str, app: dict[Any, Any], where: list[Path]) -> Iterator[Problem]:
        low, high = _dict(app.get("instances")).get("min"), _dict(app.get("instances")).get("max")
        if isinstance(low, int) and isinstance(high, int) and low > high:
            yield self.problem(
                [(*w, "instances", "max") for w in where],
                f"{label}.instances: min ({low}) is larger than max ({high})",
            )


def _cycle(waits: dict[str, list[str]]) -> list[str]:
    """One circle in the graph app -> the apps it waits for (in spec order), or []."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(app: str) -> list[str]:
        state[app] = 1
        path.append(app)
        for other in waits.get(app, []):
            if state.get(other) == 1:
                return path[path.index(other) :]
            if other not in state:
                found = visit(other)
                if found:
                    return found
        state[app] = 2
        path.pop()
        return []

    for app in waits:
        if app not in state:
            found = visit(app)
            if found:
                return found
    return []


def _plainly(path: str) -> str:
    """*path* as the file system reads it: empty and `.` parts dropped."""
    return "/" + "/".join(part for part in path.split("/") if part not in ("", "."))


def _writable_problem(path: str, seen: list[str], volume: str | None) -> str:
    """Why `path` cannot be a writable folder next to `seen` (the volume's path first), or ""."""
    if path != "/" and (path.endswith("/") or "//" in path or "/./" in f"{path}/"):
        return f"is not written plainly; write {_plainly(path)}"
    if path == "/":
        return "would make the whole filesystem writable; list the folders the app writes to"
    if path == "/tmp" or path.startswith("/tmp/"):
        return "is inside /tmp, which every app can write to already; remove it"
    for other in seen:
        inside, holds = path.startswith(other.rstrip("/") + "/"), other.startswith(path + "/")
        if path == other or inside or holds:
            what = "the volume's path" if other == volume else f"'{other}'"
            relation = "is" if path == other else "is inside" if inside else "holds"
            return f"{relation} {what}; each writable folder stands on its own"
    return ""


class _Places:
    """Where each part of one value stands as written, found left to right: on the value's line
    from where it starts, or, for a block of lines (`|`, `>`), on the lines below its header
    indented deeper than its key. Each search goes on from the last part found, so a value of
    many parts is read once; one that is not found (folded across lines) ends the searching,
    and it and those after it are said at the value's start."""

    def __init__(self, lines: list[str], file: str, line: int, col: int) -> None:
        self.lines, self.file, self.line, self.col = lines, file, line, col
        first = lines[line - 1] if 1 <= line <= len(lines) else ""
        self.block = first[col - 1 :].lstrip()[:1] in ("|", ">")
        self.indent = len(first) - len(first.lstrip(" "))
        self.cursor: tuple[int, int] | None = (line + 1, 0) if self.block else (line, col - 1)

    def skip(self, written: str) -> None:
        """Go past the next *written* (a literal `$${`, which is no reference)."""
        self._find(written)

    def problem(self, written: str, message: str) -> Problem:
        found = self._find(written) if written else None
        return Problem(self.file, *(found or (self.line, self.col)), message)

    def _find(self, written: str) -> tuple[int, int] | None:
        while self.cursor is not None and 1 <= self.cursor[0] <= len(self.lines):
            number, start = self.cursor
            text = self.lines[number - 1]
            if (
                self.block
                and start == 0
                and text.strip()
                and len(text) - len(text.lstrip(" ")) <= self.indent
            ):
                break  # the block ended (asked once a line: a line of many parts is read once)
            at = text.find(written, start)
            if at >= 0:
                self.cursor = (number, at + len(written))
                return number, at + 1
            if not self.block:
                break
            self.cursor = (number + 1, 0)
        self.cursor = None
        return None


def _references_in(part: str) -> tuple[list[str], str | None]:
    """What each `${...}` in *part* holds, and the rest from a `${` that nothing closes. Found by
    walking the text once: a pattern would search to the end from every unclosed `${`, which
    took hours on a hostile value of 100,000 of them."""
    found: list[str] = []
    at = 0
    while (start := part.find("${", at)) >= 0:
        end = part.find("}", start + 2)
        if end < 0:
            return found, part[start:]
        found.append(part[start + 2 : end])
        at = end + 1
    return found, None
