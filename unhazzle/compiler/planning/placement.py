"""What the shared cluster can place: an instance must fit on one of its servers, and a host name
can serve one app of one environment. Either mistake is an error in the spec, not a surprise in
the cluster (an instance that never starts, two apps fighting over an address). Pure: plan, rates
and positions in, located problems out."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from unhazzle.compiler.planning.cost import Rates
from unhazzle.compiler.planning.plan import Plan
from unhazzle.compiler.spec.merge import deep_merge
from unhazzle.compiler.spec.model import Size
from unhazzle.compiler.spec.positions import Path, Positions
from unhazzle.errors import Problem


def placement_problems(plan: Plan, rates: Rates, positions: Positions) -> list[Problem]:
    return shared_hosts(plan, positions) + oversized(plan, rates, positions)


# One instance's ask: its environment (None: the base app, where no environment is known), its
# app, and the vCPU and MB it asks for (None: not known).
Ask = tuple[str | None, str, float | None, float | None]


def oversized(plan: Plan, rates: Rates, positions: Positions) -> list[Problem]:
    """One problem per app and resource too big for a server, reported once per place in the
    file (a base app's size is the same in every environment)."""
    asks: list[Ask] = [
        (env.name, app.name, app.sizing.cpu_request, app.sizing.memory_request_mb)
        for env in plan.environments
        for app in env.apps
    ]
    return _too_big(asks, rates, positions)


def oversized_as_written(data: Any, rates: Rates, positions: Positions) -> list[Problem]:
    """The same check on the sizes the spec writes out (`size:`, merged per environment), read
    from its raw data: it needs nothing but each size, so it still runs, and reports, while
    other parts of the spec do not validate. A value that is not a size itself is left to the
    model's own error."""
    spec = data if isinstance(data, dict) else {}
    apps, environments = _entries(spec.get("apps")), _entries(spec.get("environments"))
    places: dict[str | None, dict[str, Any]] = dict(environments.items()) or {None: {}}
    asks: list[Ask] = []
    for env_name, env in places.items():
        overrides = _entries(env.get("apps"))
        for name, app in apps.items():
            merged = deep_merge(_mapping(app.get("size")), _mapping(overrides.get(name, {}).get("size")))
            asks.append((env_name, name, _size_alone(merged, "cpu"), _size_alone(merged, "memory")))
    return _too_big(asks, rates, positions)


def _too_big(asks: list[Ask], rates: Rates, positions: Positions) -> list[Problem]:
    kept = f"{rates.node_reserved_vcpu:g} vCPU and {rates.node_reserved_mb:g} MB"
    server = (
        f"one {rates.node_type} server gives an instance ({rates.node_vcpu:g} vCPU and "
        f"{rates.node_memory_gb:g} GB, less the {kept} the cluster keeps there for itself)"
    )
    seen: set[tuple[int, int, str]] = set()
    problems: list[Problem] = []
    for env, app, cpu, memory_mb in asks:
        for resource, wanted, limit in (
            ("cpu", cpu, rates.node_vcpu - rates.node_reserved_vcpu),
            ("memory", memory_mb, rates.node_memory_gb * 1024 - rates.node_reserved_mb),
        ):
            if wanted is None or wanted <= limit:
                continue
            said = f"{wanted:g} vCPU" if resource == "cpu" else f"{wanted / 1024:g} GB"
            line, col, overridden = _where(positions, env, app, "size", resource)
            if (line, col, resource) in seen:
                continue
            seen.add((line, col, resource))
            label = f"apps.{app} (in {env})" if overridden else f"apps.{app}"
            problems.append(
                Problem(
                    positions.file,
                    line,
                    col,
                    f"{label}.size.{resource}: {said} is more than {server}, and an instance runs on "
                    "one server; use a smaller size and more instances",
                )
            )
    return problems


def _entries(value: Any) -> dict[str, dict[str, Any]]:
    """A raw mapping of named entries (apps, environments): those named by text, each a mapping."""
    entries = value if isinstance(value, dict) else {}
    return {name: _mapping(entry) for name, entry in entries.items() if isinstance(name, str)}


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _size_alone(size: dict[str, Any], resource: str) -> float | None:
    """One resource of a raw `size:`, as the model reads it, or None when it is absent or invalid."""
    if resource not in size:
        return None
    try:
        found = getattr(Size.model_validate({resource: size[resource]}), resource)
    except ValidationError:
        return None
    return found if isinstance(found, int | float) else None


def shared_hosts(plan: Plan, positions: Positions) -> list[Problem]:
    """A host name serves one app of one environment: two claiming the same domain would fight
    over it on the shared cluster (a staging override that repeats production's domain, too)."""
    problems: list[Problem] = []
    owner: dict[str, tuple[str, str]] = {}
    for env in plan.environments:
        for app in env.apps:
            for host in app.public_hosts:
                first, first_env = owner.setdefault(host, (app.name, env.name))
                if (first, first_env) == (app.name, env.name):
                    continue
                index = app.app.domains.index(host) if host in app.app.domains else 0
                line, col, _ = _where(positions, env.name, app.name, "domains", index)
                where = f"apps.{app.name} (in {env.name}).domains: '{host}'"
                if first == app.name:  # base domains shared by two production environments
                    fix = f"give it domains of its own under environments.{env.name}.apps.{app.name}"
                    message = f"{where} already serves this app in {first_env}; {fix}"
                else:
                    taken = f"is already the address of app '{first}' in {first_env}"
                    message = f"{where} {taken}; give each app its own domain"
                problems.append(Problem(positions.file, line, col, message))
    return problems


def _where(positions: Positions, env: str | None, app: str, *field: str | int) -> tuple[int, int, bool]:
    """Line and column of an app's *field* as *env* sees it (its override first, then the base
    app), and whether the override spells it out."""
    base: Path = ("apps", app, *field)
    if env is None:
        return (*positions.first_of([base], key=False), False)
    override: Path = ("environments", env, "apps", app, *field)
    line, col = positions.first_of([override, base], key=False)
    return line, col, override in positions.values
