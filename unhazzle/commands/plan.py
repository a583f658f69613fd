"""`unhazzle plan [SPEC] [--env ENV] [--output text|json|markdown]`."""

from __future__ import annotations

import argparse
import dataclasses
import json

from unhazzle.commands.common import (
    add_env,
    add_pin_digests,
    add_spec,
    compile_spec,
    maybe_pin,
    over_budget,
    select_envs,
)
from unhazzle.compiler.presentation.report import plan_json, plan_text


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
    compiled = compile_spec(args.spec, enforce_budget=False)
    plan = dataclasses.replace(compiled.plan, environments=select_envs(compiled, args.env))
    plan = maybe_pin(plan, args)
    if args.output == "json":
        print(json.dumps(plan_json(plan, compiled.cost), indent=2, ensure_ascii=False))
    elif args.output == "markdown":
        from unhazzle.compiler.presentation.markdown import plan_markdown  # only this output needs it

        print(plan_markdown(plan, compiled.cost), end="")
    else:
        print(plan_text(plan, compiled.cost), end="")
    return over_budget(compiled)
