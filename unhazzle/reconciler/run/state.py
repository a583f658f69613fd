"""What one reconciler knows between passes, and the options and outcomes every verb shares.

The reconciler is one class split by verb, one module each, as fluxcd/pkg ssa splits its
ResourceManager (manager_apply.go, manager_delete.go, ...): revisions.py (Git), applying.py,
removal.py, waiting.py, reporting.py and records.py (inventory and status), joined in
reconciler.py; loop.py runs it once or for ever. This module holds their shared state."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TextIO

from unhazzle.reconciler.cluster.client import Client
from unhazzle.reconciler.cluster.watch import NamespaceWatch
from unhazzle.reconciler.objects import Obj, Ref
from unhazzle.reconciler.run.leader import LeaderElector
from unhazzle.reconciler.run.telemetry import Log, Metrics
from unhazzle.reconciler.run.webhooks import Webhook
from unhazzle.reconciler.source.git import Environment, GitSource
from unhazzle.reconciler.sync import health as health_mod
from unhazzle.reconciler.sync import status
from unhazzle.reconciler.sync.apply import Change, Digests, Verified
from unhazzle.reconciler.sync.secrets import Decryptor
from unhazzle.reconciler.sync.shards import WHOLE, Shard
from unhazzle.reconciler.sync.tenancy import Tenancy


@dataclass(frozen=True)
class LoopOptions:
    """once: one pass, then wait for health (exit status says whether all converged).
    interval: seconds between passes. dry_run: print what would change, write nothing.
    timeout: how long to wait for health after a change. poll_during_wait: how often a health
    wait asks Git for a new commit (which interrupts it). workers: parallel requests per stage."""

    once: bool = False
    interval: float = 30.0
    dry_run: bool = False
    timeout: float = 300.0
    poll_during_wait: float = 2.0
    workers: int = 8
    own_namespace: str = ""  # where the reconciler itself runs: never an environment's
    human: bool = False  # `--once` for a person: a line per environment and a summary on stdout
    shard: Shard = WHOLE  # the environments this reconciler owns (sharding.py); 0/1: all of them


@dataclass
class EnvOutcome:
    key: str
    namespace: str
    commit: str
    changes: list[Change] = field(default_factory=list)
    pruned: list[Ref] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    health: health_mod.Health | None = None
    timings: dict[str, float] = field(default_factory=dict)
    removed: bool = False
    refused: bool = False  # the cluster holds what this environment may not touch (ownership.py)
    not_ours: bool = False  # ... its very namespace: nothing, not even a status, is written there
    # Objects of this revision refused, none written, the last revision applied instead:
    # "commit" (the API server refused them: not tried again before a new commit) or "pass" (for
    # what the cluster holds now, which can change: tried again every pass).
    rejected: str = ""
    fallback: bool = False  # the tip's revision was refused: the last good one was applied instead
    releasing: list[str] = field(default_factory=list)  # apps held back for their release step, in words
    ordered: list[str] = field(default_factory=list)  # apps held back for the apps they come after
    rolled_back: list[tuple[str, str]] = field(default_factory=list)  # (app, why) rolled back this pass
    refused_commit: str = ""  # the revision refused when `fallback`: the one in force runs instead
    disposed: str = ""  # a preview removed whole (namespace and volumes): why ("expired", ...)
    # What health reads of the kinds the pass listed anyway: (api_version, kind) -> essentials
    # (health.seen); kept only when the pass wrote nothing, so they are still what runs
    seen: dict[tuple[str, str], list[Obj]] = field(default_factory=dict)

    @property
    def applied(self) -> int:
        return sum(c.action in ("created", "configured") for c in self.changes)

    @property
    def drift(self) -> int:
        return sum(c.drift for c in self.changes)

    @property
    def ok(self) -> bool:
        healthy = self.health is not None and self.health.healthy and not self.ordered
        return not self.errors and (self.removed or healthy)


@dataclass
class Followed:
    """A changed environment on its way to health: the commit applied and since when."""

    commit: str
    since: float  # time.monotonic()
    said: tuple[str, ...] = ()  # what the log last said it waits for


class State:
    """The state every verb reads and writes."""

    def __init__(
        self,
        client: Client,
        source: GitSource,
        options: LoopOptions,
        *,
        log: Log,
        metrics: Metrics | None = None,
        webhook: Webhook | None = None,
        decrypt: Decryptor | None = None,
        leader: LeaderElector | None = None,
        stop: threading.Event | None = None,
        out: TextIO | None = None,
        tenancy: Tenancy | None = None,
    ) -> None:
        self.client, self.source, self.options = client, source, options
        # Who writes each environment's namespace; by default the client's own identity.
        self.tenancy = tenancy or Tenancy(client, impersonate=False, dry_run=options.dry_run)
        self.log, self.metrics, self.webhook, self.decrypt = log, metrics, webhook, decrypt
        self.leader = leader
        self.stop = stop or threading.Event()
        self.out = out
        self.good: dict[str, tuple[str, Environment]] = {}  # env key -> (commit, last good folder)
        self.tip = ""  # the newest commit read successfully
        self.bad_tip = ""  # a commit known unreadable: not re-read every interval
        self.source_error = ""
        self.tip_refusal = ""  # why the tip may not be applied (unsigned, no environments), if so
        self.statuses: dict[str, status.EnvStatus] = {}
        self.notified: dict[str, tuple[str, str]] = {}
        self.problems: dict[str, list[str]] = {}  # env key -> problems of its folder in the tip
        self.applied: dict[str, tuple[str, Environment]] = {}  # env key -> the revision last applied
        self.following: dict[str, Followed] = {}  # env key -> its wait for health (waiting.py)
        # env key -> the watch its health is followed by while followed, and what it last said
        self.watches: dict[str, NamespaceWatch] = {}
        self.assessed: dict[str, tuple[int, health_mod.Health]] = {}  # env key -> (watch version, verdict)
        self.health_changed = threading.Event()  # set by the watches on every change they see
        # (env key, commit) -> passes started early for it (waiting.released): bounded, so a
        # condition that does not clear can never make passes run back to back
        self.early: dict[tuple[str, str], int] = {}
        self.verified = Verified()  # objects proved up to date: skipped until they change (apply.py)
        self.digests = Digests()  # the revision's objects' hashes, worked out once (apply.py)
        # The addresses the cluster's Ingresses serve (ownership.served), and our writes when
        # they were listed: listed again after any write of ours, and each pass (None)
        self.serving: tuple[int, dict[str, set[str]]] | None = None
        # Read once a pass (sharding.py): env key -> its Namespace's shard pin; Lease -> its holder
        self.pins: dict[str, str] = {}
        self.lease_holders: dict[str, str] = {}
