"""`unhazzle install-manifests`: print what installs the reconciler in a cluster (a name of its
own: `reconcile` runs it, this sets it up)."""

from __future__ import annotations

import argparse
from pathlib import Path

from unhazzle.commands.flags import checked_by
from unhazzle.errors import UsageError, at_once


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    m = sub.add_parser(
        "install-manifests",
        help="print what installs the reconciler in a cluster, for `kubectl apply -f -`",
        description="Namespace, ServiceAccount, narrow RBAC and admission policies, the Deployment "
        "that runs `unhazzle reconcile`, and its metrics Service.",
    )
    m.add_argument(
        "--repo", default="https://git.example.com/acme/environments.git", help="environment repo URL"
    )
    m.add_argument("--branch", default="main")
    m.add_argument("--image", default="ghcr.io/unhazzle/reconciler:latest")
    m.add_argument("--namespace", default="unhazzle-system")
    m.add_argument(
        "--replicas", type=int, default=2, help="2 or more: a standby takes over in seconds (0 pauses it)"
    )
    m.add_argument(
        "--shards",
        type=int,
        default=1,
        metavar="N",
        help="N reconcilers splitting the environments, one Deployment and leader Lease each "
        "(default 1, at most 100; see the reconciler docs, 'Large fleets: sharding')",
    )
    m.add_argument(
        "--trusted-signers",
        type=Path,
        metavar="FILE",
        help="SSH allowed_signers: the reconciler applies only a tip signed by one of these keys",
    )
    m.add_argument(
        "--trusted-gpg-keys",
        type=Path,
        metavar="FILE",
        help="armored GPG public keys: the reconciler applies only a tip signed by one of them",
    )
    m.add_argument(
        "--secrets-key-secret",
        metavar="NAME",
        help="the Secret holding the cluster's age key as key.txt (kubectl create secret generic NAME "
        "-n unhazzle-system --from-file=key.txt=KEYFILE), which opens the environments' secrets",
    )
    m.set_defaults(run=run, check_flags=checked_by(_check))


# A reconciler per shard: a hundred is far past any fleet one cluster's API server carries, and
# a typo of a few more digits must not print a million Deployments.
MAX_SHARDS = 100
MAX_REPLICAS = 10  # one leader works at a time; the others only stand by (0 pauses it)


def _check(args: argparse.Namespace) -> None:
    def shards() -> None:
        if not 1 <= args.shards <= MAX_SHARDS:
            raise UsageError(f"--shards: {args.shards} is out of range; give 1 to {MAX_SHARDS}")

    def replicas() -> None:
        if not 0 <= args.replicas <= MAX_REPLICAS:
            raise UsageError(
                f"--replicas: {args.replicas} is out of range; give 0 to {MAX_REPLICAS} (2 keeps a standby)"
            )

    at_once(shards, replicas)


def run(args: argparse.Namespace) -> int:
    _check(args)
    from unhazzle.reconciler.install import InstallOptions, render
    from unhazzle.reconciler.source.signatures import read_trusted_keys

    signers, gpg_keys = read_trusted_keys(args.trusted_signers, args.trusted_gpg_keys)
    opts = InstallOptions(
        image=args.image,
        repo=args.repo,
        branch=args.branch,
        namespace=args.namespace,
        replicas=args.replicas,
        trusted_signers=signers,
        trusted_gpg_keys=gpg_keys,
        secrets_key_secret=args.secrets_key_secret,
        shards=args.shards,
    )
    print(render(opts), end="")
    return 0
