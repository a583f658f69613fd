"""`unhazzle env import FILE.json --app APP [--env ENV] [--dry-run]`: merge plain settings into
the spec, keeping its comments and layout."""

from __future__ import annotations

import argparse
from pathlib import Path

from unhazzle.commands.common import DEFAULT_SPEC, app_not_found, compile_spec, select_envs
from unhazzle.compiler.editing.flatjson import read_flat_json
from unhazzle.compiler.editing.secrets import import_settings


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "env", help="plain settings of an app", description="Manage apps' plain settings."
    )
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", parser_class=type(parser))
    verbs.required = True
    imp = verbs.add_parser(
        "import",
        help="merge settings from a JSON file into the spec",
        description='Merge a JSON object of settings ({"NAME": "value", ...}) into apps.APP.env, or '
        "into the environment's override with --env. Comments and layout of the spec stay as they are.",
    )
    imp.add_argument(
        "file", metavar="FILE.json", help="a JSON object of names to text, numbers or true/false"
    )
    imp.add_argument("--app", required=True, metavar="APP", help="the app the settings belong to")
    imp.add_argument("--env", metavar="ENV", help="write to this environment's override instead")
    imp.add_argument("--dry-run", action="store_true", help="show what would change; write nothing")
    imp.add_argument(
        "--spec", default=DEFAULT_SPEC, metavar="SPEC", help=f"the spec (default: ./{DEFAULT_SPEC})"
    )
    imp.set_defaults(run=run_import)


def run_import(args: argparse.Namespace) -> int:
    compiled = compile_spec(args.spec)
    if args.app not in compiled.spec.apps:
        raise app_not_found(compiled, args.app)
    if args.env is not None:
        select_envs(compiled, args.env)
    entries = read_flat_json(Path(args.file), display=args.file)
    edit = import_settings(
        compiled, Path(args.spec), entries=entries, app=args.app, environment=args.env, dry_run=args.dry_run
    )
    where = f"apps.{args.app}.env" if args.env is None else f"environments.{args.env}.apps.{args.app}.env"
    counts = f"{len(edit.added)} added, {len(edit.changed)} changed, {len(edit.unchanged)} left alone"
    print(f"{args.spec}: {where}: {counts}")
    for label, names in (("added", edit.added), ("changed", edit.changed), ("left alone", edit.unchanged)):
        if names:
            print(f"  {label:<10}  {', '.join(names)}")
    if args.dry_run:
        print("dry run: nothing written")
    return 0
