"""`unhazzle plan [SPEC] [--env ENV] [--output text|json|markdown]`."""

from __future__ import annotations

import argparse
import dataclasses
from typing import TYPE_CHECKING, Any

from unhazzle.commands.common import (
    add_env,
    add_pin_digests,
    add_spec,
    compile_for,
    json_text,
    maybe_pin,
    over_budget,
    select_envs,
)
from unhazzle.compiler.presentation.report import plan_json, plan_text

if TYPE_CHECKING:
    from unhazzle.compiler.pipeline import Compiled


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "plan",
        help="sizing, instances, URLs, monthly cost and warnings per environment",
        description="Show what each app gets in each environment.",
    )
    add_spec(parser)
    add_env(parser)
    parser.add_argument("--output", choices=["text", "json", "markdown"], default="text")
    add_pin_digests(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    compiled = compile_for(args.spec, env=args.env, enforce_budget=False)
    plan = dataclasses.replace(compiled.plan, environments=select_envs(compiled, args.env))
    plan = maybe_pin(plan, args)
    previews = _previews(compiled) if args.env is None and args.output != "markdown" else None
    if args.output == "json":
        data = plan_json(plan, compiled.cost)
        if previews is not None:
            data["previews"] = previews
        print(json_text(data))
    elif args.output == "markdown":
        from unhazzle.compiler.presentation.markdown import plan_markdown  # only this output needs it

        print(plan_markdown(plan, compiled.cost), end="")
    else:
        print(plan_text(plan, compiled.cost), end="")
        if previews is not None:
            print(_previews_text(previews))
    return over_budget(compiled)


def _previews(compiled: Compiled) -> dict[str, Any] | None:
    """What one preview environment runs and costs (docs/previews.md), when the spec has them."""
    spec = compiled.spec.previews
    if spec is None:
        return None
    from unhazzle.compiler.pipeline import SAMPLE_PREVIEW, compile_preview
    from unhazzle.compiler.planning.cost import cost_json

    preview, made = compile_preview(compiled, SAMPLE_PREVIEW)
    [env] = preview.plan.environments
    cost = preview.cost.environments[env.name]
    return {
        "copies": spec.from_,
        "apps": made.apps,
        "reached_in_copied_environment": made.reached,
        "instances": {"min": spec.instances.min, "max": spec.instances.max},
        "ttl_s": spec.ttl,
        "cost_eur_month_each": cost_json(cost.min, cost.max),
        "budget_eur_month_each": spec.budget.max_monthly_eur if spec.budget else None,
        "limits": {"count": spec.limits.count, "max_monthly_eur": spec.limits.max_monthly_eur},
    }


def _previews_text(data: dict[str, Any]) -> str:
    cost = data["cost_eur_month_each"]
    budget = data["budget_eur_month_each"]
    cap = data["limits"]["max_monthly_eur"]
    days = data["ttl_s"] / 86400
    return (
        f"previews: a copy of {data['copies']} running {', '.join(data['apps'])}, "
        f"up to {cost['max']:.2f} EUR a month each"
        + (f" (budget {budget:g})" if budget is not None else "")
        + f"; at most {data['limits']['count']} at once"
        + (f", {cap:g} EUR a month together" if cap is not None else "")
        + f"; removed {days:g} days after their last update"
    )
