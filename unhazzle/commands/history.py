"""`unhazzle history --repo ENV_REPO [--env ENV] [APP] [--output text|json]`: each deploy of each
environment, newest first, from the environment repo."""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import sys
from typing import Any

from unhazzle.commands.flags import checked_by
from unhazzle.commands.publish import add_env_repo, push_flags
from unhazzle.commands.target import Target, add_target, resolve
from unhazzle.errors import InputError, UsageError, at_once

DEFAULT_LIMIT = 20


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "history",
        help="each deploy of each environment: when, from which commit, what changed, by whom",
        description="Each deploy of each environment (or those that changed APP), newest first, read "
        "from the environment repo: when, its revision and the source commit it was published from, "
        "what changed in words, who published it, and whether it was rolled back; and, from the "
        "cluster when it can be read, how the deploy ended as the reconciler saw it (healthy in 40 s, "
        "failed and why, rolled back automatically).",
    )
    add_target(parser)
    add_env_repo(parser, pushes=False)
    parser.add_argument(
        "--limit", type=int, default=DEFAULT_LIMIT, metavar="N", help="deploys per environment (20)"
    )
    parser.add_argument("--output", choices=["text", "json"], default="text", help="text (default) or json")
    parser.set_defaults(run=run, check_flags=checked_by(_check))


def _check(args: argparse.Namespace) -> dict[str, Any]:
    """The Git flags as PublishOptions takes them; every bad value, --limit's too, at once."""

    def limit() -> None:
        if not 1 <= args.limit <= 1000:
            raise UsageError(f"--limit: {args.limit} is not between 1 and 1000")

    flags, _ = at_once(lambda: push_flags(args), limit)
    return dict(flags)


def collect(args: argparse.Namespace) -> dict[str, Any]:
    from unhazzle.compiler.publishing import deploys
    from unhazzle.compiler.publishing.publish import PublishOptions, fetched

    target, gone = _target(args)
    options = PublishOptions(**_check(args))
    found = []
    records, unread = _records(args, target)
    with fetched(args.repo, options, flag="--repo") as (repo, tip):
        for name in _environments(target):
            history = deploys.read(repo, tip, target.project, name, limit=args.limit)
            if gone is not None and not history:
                raise gone  # in neither the spec nor the environment repo
            if target.app:
                history = [d for d in history if d.touches(target.app)]
            rows = [d.as_json() for d in history]
            if records is not None:
                from unhazzle.observe import outcomes

                carried = functools.partial(deploys.carried, repo, project=target.project, environment=name)
                outcomes.attach(rows, records.get(name, []), carried)
            found.append({"environment": name, "deploys": rows})
    data = {"format": 1, "project": target.project, "environments": found}
    if unread:
        data["outcomes_unread"] = unread
    return data


def _records(args: argparse.Namespace, target: Target) -> tuple[dict[str, list[dict[str, Any]]] | None, str]:
    """Each environment's deploy records from the cluster, or None and why they cannot be read
    (history still answers from the environment repo)."""
    from unhazzle.errors import OperationError
    from unhazzle.observe import outcomes
    from unhazzle.observe.reads import connect
    from unhazzle.shared.names import namespace_for

    try:
        reader = connect(args.kubeconfig, timeout=5.0)
        return {
            name: outcomes.records(reader, namespace_for(target.project, name))
            for name in _environments(target)
        }, ""
    except OperationError as err:
        return None, str(err)


def _target(args: argparse.Namespace) -> tuple[Target, InputError | None]:
    """What the flags name, and for an --env the spec does not have (one it no longer has, or a
    preview), the spec's error: its history is still the repo's history of its folder."""
    try:
        return resolve(args), None
    except InputError as exc:
        if args.env is None:
            raise
        try:
            target = resolve(argparse.Namespace(**{**vars(args), "env": None}))
        except InputError:
            raise exc from None
        return dataclasses.replace(target, environments=[], env=args.env), exc


def _environments(target: Target) -> list[str]:
    """The spec's (or --env's); the environment repo, not the cluster, is asked about them."""
    if target.environments:
        return [e.name for e in target.environments]
    if target.env is None:
        raise UsageError("--env: say which environment when there is no spec at hand")
    return [target.env]


def text(data: dict[str, Any]) -> str:
    lines = []
    for env in data["environments"]:
        lines.append(f"{data['project']}/{env['environment']}:")
        if not env["deploys"]:
            lines.append("  no deploy yet")
        for d in env["deploys"]:
            source = f" from {d['source_commit'][:12]}" if d["source_commit"] else ""
            back = d["rollback_of"]
            what = f"rollback of {back['what']} to {back['to']}" if back else "; ".join(d["changes"])
            if not what:
                from unhazzle.compiler.publishing.deploys import unrecorded

                edited = unrecorded(d.get("files", []))
                what = (
                    f"{', '.join(edited)} changed by hand (nothing its index records)"
                    if edited
                    else "no change to its apps (the environment's own settings)"
                )
            when = d["when"][:16].replace("T", " ")
            lines.append(f"  {when}  {d['revision'][:12]}{source}  by {d['author']}  [{d['outcome']}]")
            lines.append(f"      {what}")
            if d.get("result"):
                said = d["result"]["words"].splitlines()
                lines += [f"      {said[0]}", *(f"      {line}" for line in said[1:])]
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    data = collect(args)
    if data.get("outcomes_unread"):
        print(f"(how each deploy ended is not shown: {data['outcomes_unread']})", file=sys.stderr)
    print(json.dumps(data, indent=2, sort_keys=True) if args.output == "json" else text(data).rstrip("\n"))
    return 0
