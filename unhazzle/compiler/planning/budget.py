"""The budget guardrail: the cost at maximum scale must stay within each `budget:`.

Pure: spec, cost and positions in, located problems out. Each problem sits at the budget's own
line and names the apps that drive the cost, largest first.
"""

from __future__ import annotations

from decimal import Decimal

from unhazzle.compiler.planning.cost import EnvCost, PlanCost, cents
from unhazzle.compiler.spec.model import Spec
from unhazzle.compiler.spec.positions import Positions
from unhazzle.errors import Problem

DRIVERS = 3  # how many apps a budget error names


def budget_problems(spec: Spec, cost: PlanCost, positions: Positions) -> list[Problem]:
    problems: list[Problem] = []
    if spec.budget:
        _, high = cost.total()
        drivers = [
            (f"{name} in {env}", eur) for env, e in cost.environments.items() for name, eur in _drivers(e)
        ]
        problem = _over(("budget",), "the project", spec.budget.max_monthly_eur, high, drivers, positions)
        problems += [problem] if problem else []
    for name, env in spec.environments.items():
        if env.budget and name in cost.environments:
            env_cost = cost.environments[name]
            drivers = _drivers(env_cost)
            path = ("environments", name, "budget")
            problem = _over(path, name, env.budget.max_monthly_eur, env_cost.max, drivers, positions)
            problems += [problem] if problem else []
    return problems


def _drivers(env: EnvCost) -> list[tuple[str, Decimal]]:
    """What an environment's cost is made of: each app at maximum scale, each job a month."""
    return [
        *((app, c.max) for app, c in env.apps.items()),
        *((f"job {j}", c.month) for j, c in env.jobs.items()),
    ]


def _over(
    path: tuple[str, ...],
    what: str,
    limit: float,
    high: Decimal,
    drivers: list[tuple[str, Decimal]],
    positions: Positions,
) -> Problem | None:
    if cents(high) <= Decimal(str(limit)):
        return None
    line, col = positions.of_value((*path, "max_monthly_eur"))
    top = sorted(drivers, key=lambda d: (-d[1], d[0]))[:DRIVERS]
    named = ", ".join(f"{name} ({cents(eur)} EUR)" for name, eur in top)
    where = ".".join(path)
    return Problem(
        positions.file,
        line,
        col,
        f"{where}.max_monthly_eur: at maximum scale {what} would cost {cents(high)} EUR a month, "
        f"over its budget of {limit:g} EUR; the largest costs: {named}",
    )
