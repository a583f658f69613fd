"""`unhazzle reconcile --repo ENV_REPO ...`: make the cluster match the environment repo."""

from __future__ import annotations

import argparse
import math
import os
import re
import signal
import socket
import sys
import threading
from functools import partial
from pathlib import Path

from unhazzle.commands.flags import checked_by
from unhazzle.errors import UsageError, at_once
from unhazzle.reconciler.sync.shards import Shard
from unhazzle.shared import readlimit

DEFAULT_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "unhazzle" / "reconciler"


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "reconcile",
        help="apply the environment repo to the cluster, and keep it applied",
        description="Poll the environment repo and make the cluster match it: apply what changed, "
        "remove what was removed, repair manual changes, report health.",
    )
    p.add_argument("--repo", required=True, metavar="ENV_REPO", help="the environment repo (URL or path)")
    p.add_argument("--branch", default="main", help="the branch to follow (default: main)")
    p.add_argument(
        "--once",
        action="store_true",
        help="one pass; exit 0 when all is applied and healthy, 2 when the repo holds what may not be "
        "applied (each reason on stderr), 1 for any other trouble",
    )
    p.add_argument("--interval", type=float, default=30.0, metavar="SECONDS", help="seconds between checks")
    p.add_argument("--dry-run", action="store_true", help="print what would change; change nothing")
    p.add_argument(
        "--timeout", type=float, default=300.0, metavar="SECONDS", help="how long to wait for health"
    )
    p.add_argument(
        "--kubeconfig",
        metavar="PATH",
        help="cluster credentials (default: the cluster's own when run inside it, else $KUBECONFIG, "
        "else ~/.kube/config)",
    )
    p.add_argument("--context", metavar="NAME", help="the kubeconfig context to use")
    p.add_argument("--metrics-addr", metavar="HOST:PORT", help="serve Prometheus metrics at /metrics")
    p.add_argument("--webhook", metavar="URL", help="POST deploy results here (JSON, signed)")
    p.add_argument(
        "--webhook-secret-file",
        metavar="FILE",
        help="the key that signs webhook bodies (for --webhook-format datadog: the Datadog API key)",
    )
    p.add_argument(
        "--webhook-format",
        choices=("json", "slack", "datadog"),
        default="json",
        help="json (signed, documented in the docs), slack (an incoming webhook) or datadog (its Events API)",
    )
    p.add_argument("--secrets-key-file", type=Path, metavar="FILE", help="age key that opens _secrets.json")
    p.add_argument(
        "--trusted-signers",
        type=Path,
        metavar="FILE",
        help="apply only a tip signed by one of these SSH keys (an allowed_signers file)",
    )
    p.add_argument(
        "--trusted-gpg-keys",
        type=Path,
        metavar="FILE",
        help="apply only a tip signed by one of these GPG keys (armored public keys)",
    )
    p.add_argument(
        "--cache-dir", type=Path, default=DEFAULT_CACHE, metavar="DIR", help="local copy of the repo"
    )
    p.add_argument("--no-leader-election", action="store_true", help="apply even when other replicas run")
    p.add_argument(
        "--lease-namespace", default="unhazzle-system", metavar="NS", help="where the leader lease is"
    )
    p.add_argument(
        "--lease-duration", type=float, default=15.0, metavar="SECONDS", help="leader lease duration"
    )
    p.add_argument(
        "--identity", default=None, help="this replica's name in the lease (default: host and pid)"
    )
    p.add_argument(
        "--shard",
        default="0/1",
        metavar="K/N",
        help="run as shard K of N reconcilers splitting the environments by a stable hash, each "
        "with its own leader Lease (default 0/1: this reconciler owns them all)",
    )
    p.add_argument("--workers", type=int, default=8, help="parallel requests while applying (default: 8)")
    p.add_argument(
        "--no-impersonation",
        action="store_true",
        help="apply with these credentials themselves, not as each environment's own identity "
        "(for clusters where the reconciler may not create roles; its credentials then need every "
        "right an environment uses)",
    )
    p.add_argument(
        "--log-format",
        choices=("auto", "text", "json"),
        default="auto",
        help="text: for --once, one line per environment and a summary; json: one JSON object per "
        "event, for machines (auto, the default: text for --once at a terminal, else json)",
    )
    p.set_defaults(run=run, check_flags=checked_by(_check))


def one_pass(args: argparse.Namespace) -> bool:
    """`--once` and `--dry-run` make one pass and end; otherwise the loop runs until stopped."""
    return bool(args.once or args.dry_run)


def _human(args: argparse.Namespace) -> bool:
    """Whether `--once` speaks to a person: asked for, or at a terminal. The loop logs JSON."""
    once = one_pass(args)
    if args.log_format == "text" and not once:
        raise UsageError("--log-format text: error: text is for --once; the running loop logs JSON")
    return once and (args.log_format == "text" or (args.log_format == "auto" and sys.stderr.isatty()))


def _check(args: argparse.Namespace) -> None:
    """Every flag whose value is wrong, at once."""
    limits = [
        ("--interval", args.interval, 0.0, False),
        ("--timeout", args.timeout, 0.0, True),
        ("--lease-duration", args.lease_duration, 1.0, True),
        ("--workers", args.workers, 1, True),
    ]

    def within(flag: str, value: float, low: float, inclusive: bool) -> None:
        # `not (...)` so that nan, which compares false with everything, is refused too
        if not (math.isfinite(value) and (value >= low if inclusive else value > low)):
            wanted = f"at least {low:g}" if inclusive else f"more than {low:g}"
            raise UsageError(f"{flag}: {value:g} is out of range; give a number {wanted}")

    def metrics_addr() -> None:
        if args.metrics_addr and not re.fullmatch(r"[\w.:\[\]-]*:\d{1,5}", args.metrics_addr):
            raise UsageError(f"--metrics-addr: expected HOST:PORT, got '{args.metrics_addr}'")

    def webhook() -> None:
        if bool(args.webhook) != bool(args.webhook_secret_file):
            raise UsageError("unhazzle reconcile: --webhook and --webhook-secret-file go together")
        if args.webhook and not re.match(r"https?://", args.webhook):
            raise UsageError(f"--webhook: expected an http(s) URL, got '{args.webhook}'")

    at_once(*(partial(within, *limit) for limit in limits), lambda: _shard(args.shard), metrics_addr, webhook)


def _shard(value: str) -> Shard:
    try:
        return Shard.parse(value)
    except ValueError as exc:
        raise UsageError(f"--shard: {exc}") from None


def _repo(value: str) -> str:
    """A local path becomes absolute (the mirror fetches from elsewhere); URLs pass through."""
    if not value.strip():
        raise UsageError("--repo: empty; give the environment repo's URL or path")
    if re.match(r"^[\w+.-]+://", value) or re.match(r"^[\w.-]+@[\w.-]+:", value):
        return value
    return str(Path(value).resolve())


def run(args: argparse.Namespace) -> int:
    _check(args)
    repo = _repo(args.repo)
    from unhazzle.reconciler.run.service import Settings, serve  # the cluster client loads lazily

    secret = None
    if args.webhook_secret_file:
        try:
            secret = readlimit.read_bytes(args.webhook_secret_file, readlimit.SMALL_FILE).strip()
        except OSError as exc:
            raise UsageError(
                f"{args.webhook_secret_file}: cannot read the webhook secret: {exc.strerror}"
            ) from None
    stop = threading.Event()
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set()) if main else None
    settings = Settings(
        repo=repo,
        branch=args.branch,
        once=one_pass(args),
        interval=args.interval,
        dry_run=args.dry_run,
        timeout=args.timeout,
        kubeconfig=args.kubeconfig,
        context=args.context,
        metrics_addr=args.metrics_addr,
        webhook=args.webhook,
        webhook_secret=secret,
        webhook_format=args.webhook_format,
        cache_dir=args.cache_dir,
        leader_election=not (args.no_leader_election or args.dry_run),
        lease_namespace=args.lease_namespace,
        lease_duration=args.lease_duration,
        identity=args.identity or os.environ.get("POD_NAME") or f"{socket.gethostname()}-{os.getpid()}",
        workers=args.workers,
        secrets_key_file=args.secrets_key_file,
        impersonate=not args.no_impersonation,
        trusted_signers=args.trusted_signers,
        trusted_gpg_keys=args.trusted_gpg_keys,
        human=_human(args),
        shard=_shard(args.shard),
    )
    try:
        return serve(settings, stop=stop)
    finally:
        if main:
            signal.signal(signal.SIGTERM, previous)
