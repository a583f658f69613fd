"""`unhazzle run APP --env ENV [--yes] -- COMMAND...`: a command once, in the app's image with its
settings and secrets (a console, a data fix); its output streamed, its exit code returned."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from unhazzle.commands.flags import checked_by
from unhazzle.commands.target import add_target, environments, one_environment, resolve
from unhazzle.errors import UsageError

MAX_TIMEOUT_S = 24 * 3600


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "run",
        help="run a command once with an app's image, settings and secrets, and return its exit code",
        description="Starts COMMAND once in ENV with APP's image, settings and secrets, as the app "
        "runs now; streams what it prints and exits with its exit code. Ctrl-C stops it; it is "
        "removed afterwards. An environment with the production badge asks first (--yes skips).",
        usage="unhazzle run APP --env ENV [--yes] [--timeout SECONDS] -- COMMAND [ARG...]",
    )
    add_target(parser, app="required")
    parser.add_argument("--yes", action="store_true", help="do not ask before running in production")
    parser.add_argument(
        "--timeout",
        type=int,
        default=3600,
        metavar="SECONDS",
        help="stop the run after this long (default 3600)",
    )
    parser.set_defaults(
        run=run, check_flags=checked_by(_check)
    )  # the command itself comes after `--` (cli.PASSTHROUGH)


def _check(args: argparse.Namespace) -> None:
    if not 1 <= args.timeout <= MAX_TIMEOUT_S:
        raise UsageError(f"--timeout: {args.timeout} is out of range (1-{MAX_TIMEOUT_S} seconds)")


def run(args: argparse.Namespace) -> int:
    from unhazzle.observe.reads import connect
    from unhazzle.operate import oneoff
    from unhazzle.reconciler.cluster.client import connect as connect_client

    command = args.passthrough or []
    if not command:
        raise UsageError(
            "give the command after --, e.g. unhazzle run api --env staging -- ./manage.py shell"
        )
    _check(args)
    target = resolve(args)
    reader = connect(args.kubeconfig)
    envs = environments(target, reader)
    name = one_environment([e.name for e in envs], "run")
    env = next(e for e in envs if e.name == name)
    if env.badge == "production" and not args.yes and not _confirmed(env.name, command):
        return 2
    client = connect_client(args.kubeconfig)
    return oneoff.run(
        client, reader, namespace=env.namespace, app=args.app, command=command, timeout_s=args.timeout
    )


def _confirmed(env: str, command: list[str]) -> bool:
    """Asked on a terminal; without one, refused (pass --yes)."""
    if not sys.stdin.isatty():
        raise UsageError(
            f"--env: error: {env} has the production badge; pass --yes to run there without a question"
        )
    from unhazzle.prompt import Prompter

    try:
        return Prompter().confirm(f"Run `{' '.join(command)}` in {env} (production)?", default=False)
    except KeyboardInterrupt:
        return False
