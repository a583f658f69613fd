"""What the shared cluster can place: an instance must fit on one of its servers, and a host name
can serve one app of one environment. Either mistake is an error in the spec, not a surprise in
the cluster (an instance that never starts, two apps fighting over an address). Pure: plan, rates
and positions in, located problems out."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import FiniteFloat, TypeAdapter, ValidationError

from unhazzle.compiler.planning.cost import Rates
from unhazzle.compiler.planning.plan import Plan
from unhazzle.compiler.spec.merge import deep_merge
from unhazzle.compiler.spec.model import MAX_NUMBER_DIGITS, NO_BOOL, Megabytes
from unhazzle.compiler.spec.positions import Path, Positions
from unhazzle.errors import Problem


def placement_problems(plan: Plan, rates: Rates, positions: Positions) -> list[Problem]:
    return shared_hosts(plan, positions) + oversized(plan, rates, positions)


# One instance's ask: its environment (None: the base spec, where no environment is known), what
# asks (("apps", NAME), ("apps", NAME, "release"), ("jobs", NAME) or ("previews",)), and the vCPU
# and MB it asks for (None: not known, or not its own).
Ask = tuple[str | None, tuple[str, ...], float | None, float | None]


def oversized(plan: Plan, rates: Rates, positions: Positions) -> list[Problem]:
    """One problem per app, release step or job and resource too big for a server, reported once
    per place in the file (a base app's size is the same in every environment)."""
    asks: list[Ask] = []
    for env in plan.environments:
        for app in env.apps:
            asks.append((env.name, ("apps", app.name), app.sizing.cpu_request, app.sizing.memory_request_mb))
            if app.release and app.app.release:  # a step's own size; the app's is said for the app
                own = app.app.release.size
                asks.append((
                    env.name,
                    ("apps", app.name, "release"),
                    app.release.size.cpu_request if own.cpu is not None else None,
                    app.release.size.memory_mb if own.memory is not None else None,
                ))  # fmt: skip
        asks += [(env.name, ("jobs", job.name), job.size.cpu_request, job.size.memory_mb) for job in env.jobs]
    previews = plan.spec.previews
    if previews is not None:  # every app of every preview, at this size
        asks.append((None, ("previews",), previews.size.cpu, previews.size.memory))
    return _too_big(asks, rates, positions)


def oversized_as_written(data: Any, rates: Rates, positions: Positions) -> list[Problem]:
    """The same check on the sizes the spec writes out (`size:`, merged per environment), read
    from its raw data: it needs nothing but each size, so it still runs, and reports, while
    other parts of the spec do not validate. A value that is not a size itself is left to the
    model's own error."""
    spec = data if isinstance(data, dict) else {}
    environments = _entries(spec.get("environments"))
    places: dict[str | None, dict[str, Any]] = dict(environments.items()) or {None: {}}
    asks: list[Ask] = []
    for env_name, env in places.items():
        for section, owner in (("apps", ()), ("apps", ("release",)), ("jobs", ())):
            overrides = _entries(env.get(section))
            for name, entry in _entries(spec.get(section)).items():
                merged = deep_merge(_size_of(entry, owner), _size_of(overrides.get(name, {}), owner))
                cpu, memory = _size_alone(merged, "cpu"), _size_alone(merged, "memory")
                asks.append((env_name, (section, name, *owner), cpu, memory))
    previews = _size_of(_mapping(spec.get("previews")), ())
    asks.append((None, ("previews",), _size_alone(previews, "cpu"), _size_alone(previews, "memory")))
    return _too_big(asks, rates, positions)


def _size_of(entry: dict[str, Any], owner: tuple[str, ...]) -> dict[str, Any]:
    """The raw `size:` of an app or job (*owner* empty) or of its release step."""
    for key in owner:
        entry = _mapping(entry.get(key))
    return _mapping(entry.get("size"))


def _too_big(asks: list[Ask], rates: Rates, positions: Positions) -> list[Problem]:
    kept = f"{rates.node_reserved_vcpu:g} vCPU and {rates.node_reserved_mb:g} MB"
    server = (
        f"one {rates.node_type} server gives an instance ({rates.node_vcpu:g} vCPU and "
        f"{rates.node_memory_gb:g} GB, less the {kept} the cluster keeps there for itself)"
    )
    seen: set[tuple[int, int, str]] = set()
    problems: list[Problem] = []
    for env, owner, cpu, memory_mb in asks:
        for resource, wanted, limit in (
            ("cpu", cpu, rates.node_vcpu - rates.node_reserved_vcpu),
            ("memory", memory_mb, rates.node_memory_gb * 1024 - rates.node_reserved_mb),
        ):
            if wanted is None or wanted <= limit:
                continue
            said = f"{wanted:g} vCPU" if resource == "cpu" else f"{wanted / 1024:g} GB"
            line, col, overridden = _where(positions, env, owner, "size", resource)
            if (line, col, resource) in seen:
                continue
            seen.add((line, col, resource))
            label = ".".join([".".join(owner[:2]) + (f" (in {env})" if overridden else ""), *owner[2:]])
            if owner[0] == "apps" and len(owner) == 2:
                fix = "an instance runs on one server; use a smaller size and more instances"
            elif owner[0] == "previews":
                fix = "an instance runs on one server; use a smaller size"
            else:
                fix = "a run is one instance on one server; use a smaller size"
            problems.append(
                Problem(
                    positions.file,
                    line,
                    col,
                    f"{label}.size.{resource}: {said} is more than {server}, and {fix}",
                )
            )
    return problems


def _entries(value: Any) -> dict[str, dict[str, Any]]:
    """A raw mapping of named entries (apps, environments): those named by text, each a mapping."""
    entries = value if isinstance(value, dict) else {}
    return {name: _mapping(entry) for name, entry in entries.items() if isinstance(name, str)}


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


# A size's values as the model reads them, without its bounds: a size beyond the model's largest
# (`cpu: 99`) is still said as too big for a server, which is what the user needs to know.
SATURATED = 10**MAX_NUMBER_DIGITS
_READ: dict[str, TypeAdapter[Any]] = {
    "cpu": TypeAdapter(Annotated[FiniteFloat, NO_BOOL]),
    "memory": TypeAdapter(Megabytes),
}


def _size_alone(size: dict[str, Any], resource: str) -> float | None:
    """One resource of a raw `size:`, as the model reads it, or None when it is absent or invalid."""
    if resource not in size:
        return None
    try:
        found = _READ[resource].validate_python(size[resource])
    except ValidationError:
        return None
    if not isinstance(found, int | float) or isinstance(found, bool) or found >= SATURATED:
        return None  # (more digits than any limit: the model's "too large" quotes what was written)
    return found


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
                line, col, _ = _where(positions, env.name, ("apps", app.name), "domains", index)
                where = f"apps.{app.name} (in {env.name}).domains: '{host}'"
                if first == app.name:  # base domains shared by two production environments
                    fix = f"give it domains of its own under environments.{env.name}.apps.{app.name}"
                    message = f"{where} already serves this app in {first_env}; {fix}"
                else:
                    taken = f"is already the address of app '{first}' in {first_env}"
                    message = f"{where} {taken}; give each app its own domain"
                problems.append(Problem(positions.file, line, col, message))
    return problems


def _where(
    positions: Positions, env: str | None, owner: tuple[str, ...], *field: str | int
) -> tuple[int, int, bool]:
    """Line and column of the *field* of *owner* (("apps", NAME), ...) as *env* sees it (its
    override first, then the base spec), and whether the override spells it out."""
    base: Path = (*owner, *field)
    if env is None:
        return (*positions.first_of([base], key=False), False)
    override: Path = ("environments", env, *owner, *field)
    line, col = positions.first_of([override, base], key=False)
    return line, col, override in positions.values
