"""Wiring: settings from the command line in, a running reconciler out. The one place that
builds the client, the Git source, metrics, webhooks and leader election, so `loop.py` stays
testable with whatever parts a test hands it."""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from unhazzle.errors import OperationError, UsageError
from unhazzle.reconciler.cluster.client import connect
from unhazzle.reconciler.run.leader import LeaderElector, LeaseOptions
from unhazzle.reconciler.run.loop import run_loop, run_once
from unhazzle.reconciler.run.reconciler import Reconciler
from unhazzle.reconciler.run.state import LoopOptions
from unhazzle.reconciler.run.telemetry import Log, Metrics, QuietLog
from unhazzle.reconciler.run.webhooks import Format, Webhook
from unhazzle.reconciler.source.git import GitSource, NoSuchBranch, NoSuchRepo, SourceError
from unhazzle.reconciler.source.signatures import load as load_trust
from unhazzle.reconciler.sync.secrets import Decryptor
from unhazzle.reconciler.sync.shards import WHOLE, Shard
from unhazzle.reconciler.sync.tenancy import Tenancy
from unhazzle.shared import readlimit, sealed


@dataclass(frozen=True)
class Settings:
    repo: str
    branch: str
    once: bool
    interval: float
    dry_run: bool
    timeout: float
    kubeconfig: str | None
    context: str | None
    metrics_addr: str | None
    webhook: str | None
    webhook_secret: bytes | None
    webhook_format: Format
    cache_dir: Path
    leader_election: bool
    lease_namespace: str
    lease_duration: float
    identity: str
    workers: int
    secrets_key_file: Path | None = None
    impersonate: bool = True
    trusted_signers: Path | None = None  # SSH allowed_signers: the tip must be signed by one of them
    trusted_gpg_keys: Path | None = None  # armored GPG public keys, likewise
    human: bool = False  # --once for a person: a line per environment, no JSON log
    shard: Shard = WHOLE  # which environments this reconciler owns (sync/shards.py); 0/1: all


def decryptor(key_file: Path | None) -> Decryptor | None:
    """Decryption of `_secrets.json` with an age key file (shared/sealed.py, as publish sealed it); no
    key file, no decryption (environments that have secrets are then refused, not half-applied)."""
    if key_file is None:
        return None
    try:
        identity = readlimit.read_text(key_file, readlimit.SMALL_FILE)
    except OSError as exc:
        raise UsageError(f"{key_file}: cannot read the secrets key: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise UsageError(f"{key_file}: cannot read the secrets key: not text, so not an age key") from None

    def decrypt(document: dict[str, Any]) -> Mapping[str, Mapping[str, str]]:
        return sealed.decrypt(json.dumps(document), identity)

    return decrypt


def build(settings: Settings, *, stop: threading.Event, log: Log | None = None) -> Reconciler:
    log = log or (QuietLog() if settings.human else Log())
    trust = load_trust(settings.trusted_signers, settings.trusted_gpg_keys, settings.cache_dir / "trust")
    client = connect(settings.kubeconfig, settings.context)
    metrics = Metrics()
    if settings.metrics_addr:
        try:
            metrics.serve(settings.metrics_addr)
        except OSError as exc:
            raise OperationError(f"{settings.metrics_addr}: cannot serve metrics: {exc.strerror}") from None
    leader = None
    if settings.leader_election:
        # A client of its own: lease renewals must not queue behind a long apply.
        lease_client = connect(
            settings.kubeconfig, settings.context, timeout=max(2.0, settings.lease_duration / 3)
        )
        duration = settings.lease_duration
        lease = LeaseOptions(
            namespace=settings.lease_namespace,
            name=settings.shard.lease_name,  # one Lease per shard: each elects its own leader
            duration=duration,
            renew_every=duration / 3,
        )
        leader = LeaderElector(lease_client, settings.identity, lease)
    options = LoopOptions(
        once=settings.once,
        interval=settings.interval,
        dry_run=settings.dry_run,
        timeout=settings.timeout,
        workers=settings.workers,
        own_namespace=settings.lease_namespace,
        human=settings.human,
        shard=settings.shard,
    )
    return Reconciler(
        client,
        GitSource(settings.repo, settings.branch, settings.cache_dir, trust=trust),
        options,
        log=log,
        metrics=metrics,
        webhook=_webhook(settings),
        decrypt=decryptor(settings.secrets_key_file),
        leader=leader,
        stop=stop,
        tenancy=Tenancy(client, impersonate=settings.impersonate, dry_run=settings.dry_run),
    )


def _webhook(settings: Settings) -> Webhook | None:
    if not settings.webhook:
        return None
    secret = (settings.webhook_secret or b"").decode("utf-8", errors="replace")
    return Webhook(settings.webhook, secret, settings.webhook_format)


def check_source(source: GitSource, *, once: bool) -> None:
    """Refuse, before the first pass, a repo that is not there (and for one pass, a branch that
    is not) when it was never read: a typo, bad input, exit 2. One read before (its mirror is in
    the cache) that has gone is an outage, which the pass reports and rides out on the mirror;
    and a loop waits for a missing branch (the first publish creates it)."""
    try:
        source.remote_tip()
    except (NoSuchRepo, NoSuchBranch) as err:
        if source.local_tip() is None and (once or isinstance(err, NoSuchRepo)):
            raise
    except SourceError:
        pass


def serve(settings: Settings, *, stop: threading.Event) -> int:
    reconciler = build(settings, stop=stop)
    check_source(reconciler.source, once=settings.once)
    reconciler.log.info(
        "start",
        repo=settings.repo,
        branch=settings.branch,
        once=settings.once,
        dry_run=settings.dry_run,
        shard=str(settings.shard),
    )
    return run_once(reconciler) if settings.once else run_loop(reconciler)
