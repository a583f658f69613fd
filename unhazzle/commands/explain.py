"""`unhazzle explain [SPEC] APP [--env ENV]`: each sizing number and why."""

from __future__ import annotations

import argparse
from typing import Any

from unhazzle.commands.common import (
    DEFAULT_SPEC,
    add_env,
    add_spec_option,
    compile_for,
    json_text,
    over_budget,
    select_envs,
)
from unhazzle.compiler.pipeline import Compiled
from unhazzle.compiler.presentation.explain import (
    explain_job_json,
    explain_job_text,
    explain_json,
    explain_text,
)
from unhazzle.compiler.spec.resolve import setting_origins
from unhazzle.errors import UsageError


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "explain",
        help="why an app got its instances and size (or a job its schedule and size)",
        description="Show each sizing number of APP and the answer or rule that chose it.",
        usage="unhazzle explain [-h] [--env ENV] [--spec SPEC] [SPEC] APP",
    )
    parser.add_argument(
        "names", nargs="+", metavar="[SPEC] APP", help="the spec (default: ./unhazzle.yaml) and the app"
    )
    add_env(parser, "the environment to explain (default: every environment)")
    add_spec_option(parser)
    parser.add_argument("--output", choices=["text", "json"], default="text", help="text (default) or json")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if len(args.names) > 2:
        raise UsageError("unhazzle explain: error: give one spec (SPEC or --spec) and one APP")
    if args.spec_option and len(args.names) == 2 and args.names[0] != args.spec_option:
        twice = f"the spec is given twice (also as {args.names[0]}); give it once"
        raise UsageError(f"--spec {args.spec_option}: error: {twice}")
    spec, app = args.names if len(args.names) == 2 else [args.spec_option or DEFAULT_SPEC, args.names[0]]
    compiled = compile_for(spec, env=args.env, app=app, enforce_budget=False)
    if app in compiled.spec.jobs:
        return _explain_job(compiled, app, args)
    texts, found = [], []
    for env in select_envs(compiled, args.env):
        plan = next(a for a in env.apps if a.name == app)
        origins = setting_origins(compiled.spec, env.name, app)
        texts.append(explain_text(env, plan, origins))
        found.append(explain_json(env, plan, origins))
    return _print(compiled, args, ("app", app), texts, found)


def _explain_job(compiled: Compiled, job: str, args: argparse.Namespace) -> int:
    texts, found = [], []
    for env in select_envs(compiled, args.env):
        plan = next(j for j in env.jobs if j.name == job)
        origins = setting_origins(compiled.spec, env.name, job, section="jobs")
        texts.append(explain_job_text(env, plan, origins))
        found.append(explain_job_json(env, plan, origins))
    return _print(compiled, args, ("job", job), texts, found)


def _print(
    compiled: Compiled, args: argparse.Namespace, named: tuple[str, str], texts: list[str], found: list[Any]
) -> int:
    """Each environment's explanation, as text or as one JSON document ({"app": ...} or {"job": ...})."""
    if args.output == "json":
        data = {"format": 1, named[0]: named[1], "environments": found}
        print(json_text(data))
    else:
        print("\n".join(texts), end="")
    return over_budget(compiled)
