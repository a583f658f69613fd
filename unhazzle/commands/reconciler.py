"""`unhazzle reconciler manifests`: print what installs the reconciler in a cluster."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("reconciler", help="install the reconciler in a cluster")
    inner = p.add_subparsers(dest="reconciler_command", metavar="SUBCOMMAND", parser_class=type(p))
    inner.required = True
    m = inner.add_parser(
        "manifests",
        help="print install manifests for `kubectl apply -f -`",
        description="Namespace, ServiceAccount, narrow RBAC, Deployment and metrics Service.",
    )
    m.add_argument(
        "--repo", default="https://git.example.com/acme/environments.git", help="environment repo URL"
    )
    m.add_argument("--branch", default="main")
    m.add_argument("--image", default="ghcr.io/unhazzle/reconciler:latest")
    m.add_argument("--namespace", default="unhazzle-system")
    m.add_argument("--replicas", type=int, default=2, help="2 or more: a standby takes over in seconds")
    m.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from unhazzle.reconciler.manifests import InstallOptions, render

    opts = InstallOptions(
        image=args.image, repo=args.repo, branch=args.branch, namespace=args.namespace, replicas=args.replicas
    )
    print(render(opts), end="")
    return 0
