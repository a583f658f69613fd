"""`unhazzle validate [SPEC]`: check the spec; one line on success."""

from __future__ import annotations

import argparse
import sys

from unhazzle.commands.common import add_spec, compile_spec


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "validate", help="check the spec", description="Check the spec; prints one line when it is valid."
    )
    add_spec(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    compiled = compile_spec(args.spec)
    for notice in compiled.secrets.notices:
        print(notice, file=sys.stderr)
    compiled.require_secrets()
    envs, apps = len(compiled.spec.environments), len(compiled.spec.apps)
    print(f"{args.spec}: OK ({envs} environment{'s' * (envs != 1)}, {apps} app{'s' * (apps != 1)})")
    return 0
