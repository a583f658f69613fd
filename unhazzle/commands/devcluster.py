"""`unhazzle dev-cluster up|down|kubeconfig|build`: the local cluster the tests use, for humans."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "dev-cluster",
        help="start or stop a local cluster to try the reconciler on a laptop",
        description="A real local control plane (built by `unhazzle dev-cluster build`) with a real machine "
        "where this computer can run one (Linux, root), else two simulated ones, so `unhazzle reconcile` "
        "can be tried without any cloud.",
    )
    parser.add_argument(
        "action",
        choices=["up", "down", "kubeconfig", "build"],
        help="build: the cluster's binaries from Go modules, into a cache (once; needs Go)",
    )
    parser.add_argument("--state-dir", metavar="DIR", help="where its state lives")
    parser.add_argument(
        "--machines",
        choices=["auto", "real", "simulated"],
        default="auto",
        help="what runs the instances: real (containers), simulated, or auto: real where possible",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from unhazzle.devcluster.cluster import main  # starts nothing at import; kept lazy like other commands

    state_dir = ["--state-dir", args.state_dir] if args.state_dir else []
    return main([args.action, "--machines", args.machines, *state_dir])
