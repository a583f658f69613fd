"""`unhazzle env import|set|unset|list`: an app's plain settings, edited in the spec itself (its
comments and layout kept), the same verbs as `unhazzle secrets`."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

from unhazzle.commands.common import (
    DEFAULT_SPEC,
    add_spec_option,
    compile_for,
    compiled_and_read,
    json_text,
    select_envs,
)
from unhazzle.compiler.editing.flatjson import Entry
from unhazzle.compiler.editing.secrets import import_settings, unset_settings
from unhazzle.compiler.pipeline import Compiled
from unhazzle.compiler.spec.model import ENV_VAR_RE
from unhazzle.compiler.spec.resolve import setting_origins
from unhazzle.errors import UsageError


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
    put = verbs.add_parser(
        "set",
        help="set settings of an app: NAME=VALUE ...",
        description="Set settings of APP in apps.APP.env, or in the environment's override with --env.",
    )
    put.add_argument("app", metavar="APP")
    put.add_argument("pairs", nargs="+", metavar="NAME=VALUE")
    _common(put, "write to this environment's override instead")
    put.set_defaults(run=run_set)
    drop = verbs.add_parser(
        "unset",
        help="remove settings of an app",
        description="Remove settings of APP from apps.APP.env, or from the environment's override "
        "with --env.",
    )
    drop.add_argument("app", metavar="APP")
    drop.add_argument("names", nargs="+", metavar="NAME")
    _common(drop, "remove from this environment's override instead")
    drop.set_defaults(run=run_unset)
    show = verbs.add_parser(
        "list",
        help="every setting of the apps, and where each comes from",
        description="Each app's settings per environment, as written, and the place in the spec each "
        "value comes from (the app's own, an environment's change, or a shared one).",
    )
    show.add_argument("app", metavar="APP", nargs="?", help="only this app")
    show.add_argument("--env", metavar="ENV", help="only this environment")
    show.add_argument("--output", choices=["text", "json"], default="text", help="text (default) or json")
    add_spec_option(show)
    show.set_defaults(run=run_list)


def _common(parser: argparse.ArgumentParser, env_help: str) -> None:
    parser.add_argument("--env", metavar="ENV", help=env_help)
    parser.add_argument("--dry-run", action="store_true", help="show what would change; write nothing")
    add_spec_option(parser)


def _compiled(args: argparse.Namespace) -> Compiled:
    return compile_for(args.spec, env=args.env, app=args.app, jobs=False)  # (a job's settings are its own)


def run_set(args: argparse.Namespace) -> int:
    entries = []
    for pair in args.pairs:
        name, sep, value = pair.partition("=")
        if not sep or not re.match(ENV_VAR_RE, name):
            raise UsageError(
                f"unhazzle env set: '{pair}' is not NAME=VALUE (a name of letters, digits and _)"
            )
        undecoded = next((ch for ch in value if "\udc80" <= ch <= "\udcff"), None)
        if undecoded is not None:  # a byte the system could not decode as UTF-8 (surrogateescape)
            raise UsageError(
                f"unhazzle env set: the value of {name} is not UTF-8 text "
                f"(byte 0x{ord(undecoded) - 0xDC00:02x}); settings are text"
            )
        entries.append(Entry(key=name, value=value, text=value))
    compiled = _compiled(args)
    edit = import_settings(
        compiled, Path(args.spec), entries=entries, app=args.app, environment=args.env, dry_run=args.dry_run
    )
    return _said(args, edit.added, edit.changed, edit.unchanged, ("added", "changed", "already so"))


def run_unset(args: argparse.Namespace) -> int:
    compiled = _compiled(args)
    edit = unset_settings(
        compiled, Path(args.spec), names=args.names, app=args.app, environment=args.env, dry_run=args.dry_run
    )
    return _said(args, [], edit.changed, edit.unchanged, ("", "removed", "not set there"))


def _said(
    args: argparse.Namespace, first: list[str], second: list[str], third: list[str], labels: tuple[str, ...]
) -> int:
    where = f"apps.{args.app}.env" if args.env is None else f"environments.{args.env}.apps.{args.app}.env"
    print(f"{args.spec}: {where}:")
    for label, names in zip(labels, (first, second, third), strict=True):
        if names:
            print(f"  {label:<13}  {', '.join(names)}")
    if args.dry_run:
        print("dry run: nothing written")
    return 0


def run_list(args: argparse.Namespace) -> int:
    compiled = _compiled(args)
    rows: list[dict[str, Any]] = []
    for env in select_envs(compiled, args.env):
        for plan in env.apps:
            if args.app is not None and plan.name != args.app:
                continue
            origins = setting_origins(compiled.spec, env.name, plan.name)
            for name, value in sorted(plan.app.env.items()):
                where = origins.get(name, f"apps.{plan.name}.env")
                rows.append(
                    {"environment": env.name, "app": plan.name, "name": name, "value": value, "from": where}
                )
    if args.output == "json":
        print(json_text({"format": 1, "settings": rows}))
        return 0
    if not rows:
        print("no settings")
        return 0
    table = [
        [r["environment"], r["app"], r["name"], json.dumps(r["value"], ensure_ascii=False), r["from"]]
        for r in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(4)]
    for row in table:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False))
            + "  from "
            + row[4]
        )
    return 0


def run_import(args: argparse.Namespace) -> int:
    compiled, entries = compiled_and_read(lambda: _compiled(args), args.file)
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
