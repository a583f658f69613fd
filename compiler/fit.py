"""Every instance must fit on one of the cluster's servers: an instance asking for more CPU or
memory than a whole server has can never start, so that is an error in the spec, not a surprise
in the cluster. Pure: plan, rates and positions in, located problems out."""

from __future__ import annotations

from unhazzle.compiler.cost import Rates
from unhazzle.compiler.plan import Plan
from unhazzle.compiler.positions import Path, Positions
from unhazzle.errors import Problem


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
                paths: list[Path] = [
                    ("environments", env.name, "apps", app.name, "size", resource),
                    ("apps", app.name, "size", resource),
                ]
                line, col = positions.first_of(paths, key=False)
                if (line, col, resource) in seen:
                    continue
                seen.add((line, col, resource))
                label = (
                    f"apps.{app.name} (in {env.name})" if paths[0] in positions.values else f"apps.{app.name}"
                )
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
