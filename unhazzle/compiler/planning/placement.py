"""What the shared cluster can place: an instance must fit on one of its servers, and a host name
can serve one app of one environment. Either mistake is an error in the spec, not a surprise in
the cluster (an instance that never starts, two apps fighting over an address). Pure: plan, rates
and positions in, located problems out."""

from __future__ import annotations

from unhazzle.compiler.planning.cost import Rates
from unhazzle.compiler.planning.plan import Plan
from unhazzle.compiler.spec.positions import Path, Positions
from unhazzle.errors import Problem


def placement_problems(plan: Plan, rates: Rates, positions: Positions) -> list[Problem]:
    return shared_hosts(plan, positions) + oversized(plan, rates, positions)


def oversized(plan: Plan, rates: Rates, positions: Positions) -> list[Problem]:
    """One problem per app and resource too big for a server, reported once per place in the
    file (a base app's size is the same in every environment)."""
    server = f"one {rates.node_type} server has ({rates.node_vcpu:g} vCPU and {rates.node_memory_gb:g} GB)"
    seen: set[tuple[int, int, str]] = set()
    problems: list[Problem] = []
    for env in plan.environments:
        for app in env.apps:
            asked = {
                "cpu": (app.sizing.cpu_request, rates.node_vcpu, f"{app.sizing.cpu_request:g} vCPU"),
                "memory": (
                    app.sizing.memory_request_mb,
                    rates.node_memory_gb * 1024,
                    f"{app.sizing.memory_request_mb / 1024:g} GB",
                ),
            }
            for resource, (wanted, limit, said) in asked.items():
                if wanted <= limit:
                    continue
                line, col, overridden = _where(positions, env.name, app.name, "size", resource)
                if (line, col, resource) in seen:
                    continue
                seen.add((line, col, resource))
                label = f"apps.{app.name} (in {env.name})" if overridden else f"apps.{app.name}"
                problems.append(
                    Problem(
                        positions.file,
                        line,
                        col,
                        f"{label}.size.{resource}: {said} is more than {server}, and an "
                        "instance runs on one server; use a smaller size and more instances",
                    )
                )
    return problems


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


def _where(positions: Positions, env: str, app: str, *field: str | int) -> tuple[int, int, bool]:
    """Line and column of an app's *field* as *env* sees it (its override first, then the base
    app), and whether the override spells it out."""
    override: Path = ("environments", env, "apps", app, *field)
    line, col = positions.first_of([override, ("apps", app, *field)], key=False)
    return line, col, override in positions.values
