"""`unhazzle retry-release APP --env ENV`: run an app's failed release step again."""

from __future__ import annotations

import argparse
from typing import Any

from unhazzle.commands.target import add_target, environments, one_environment, resolve


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "retry-release",
        help="run an app's failed release step again (same version)",
        description="A failed release step is not run again by itself, so a broken migration does "
        "not run in a loop. This removes the failed step; the reconciler starts it again on its next "
        "pass, and rolls the version out if it succeeds.",
    )
    add_target(parser, app="required")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from unhazzle.observe.reads import connect
    from unhazzle.operate.retry import retry_release
    from unhazzle.reconciler.cluster.client import connect as connect_client

    target = resolve(args)
    envs = environments(target, connect(args.kubeconfig))
    one_environment([e.name for e in envs], "retry")
    name = retry_release(connect_client(args.kubeconfig), namespace=envs[0].namespace, app=args.app)
    print(f"removed the failed release step {name}; the reconciler runs it again on its next pass")
    return 0
