"""`unhazzle validate [SPEC] [--output text|json]`: check the spec, the one check CI runs: every
error (exit 2) and every warning `plan` prints, so an OK hides nothing."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from unhazzle.commands.common import add_spec, compile_spec, print_warnings, problem_json
from unhazzle.compiler.presentation.report import warnings
from unhazzle.errors import InputError, Problem


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "validate",
        help="check the spec",
        description="Check the spec: every error, and every warning `plan` would print; "
        "one line when it is valid.",
    )
    add_spec(parser)
    parser.add_argument(
        "--output", choices=["text", "json"], default="text", help="text (default) or json, for scripts"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        compiled = compile_spec(args.spec)
        if args.output != "json":  # said even when the secrets then fail (a file for other keys)
            for notice in compiled.secrets.notices:
                print(notice, file=sys.stderr)
        compiled.require_secrets()
        if compiled.spec.previews is not None:  # so that an OK holds for `preview-env up` too
            from unhazzle.compiler.pipeline import SAMPLE_PREVIEW, compile_preview

            compile_preview(compiled, SAMPLE_PREVIEW)
    except InputError as err:
        if args.output != "json":
            raise
        print(json.dumps(_result(args.spec, errors=err.problems), indent=2))
        return 2
    located, planned = compiled.secrets.notices, warnings(compiled.plan)
    envs, apps = len(compiled.spec.environments), len(compiled.spec.apps)
    if args.output == "json":
        found = [problem_json(n) for n in located] + [
            {"app": w["app"], "environments": w["environments"], "message": w["message"]} for w in planned
        ]
        print(json.dumps(_result(args.spec, warnings=found, environments=envs, apps=apps), indent=2))
        return 0
    print_warnings(planned)
    count = len(located) + len(planned)
    counted = f", {count} warning{'s' * (count != 1)}" if count else ""
    print(f"{args.spec}: OK ({envs} environment{'s' * (envs != 1)}, {apps} app{'s' * (apps != 1)}{counted})")
    return 0


def _result(
    spec: str,
    *,
    errors: list[Problem] | None = None,
    warnings: list[dict[str, Any]] | None = None,
    environments: int = 0,
    apps: int = 0,
) -> dict[str, Any]:
    return {
        "format": 1,
        "spec": spec,
        "ok": not errors,
        "errors": [problem_json(p) for p in errors or []],
        "warnings": warnings or [],
        "environments": environments,
        "apps": apps,
    }
