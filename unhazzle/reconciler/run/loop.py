"""The reconcile loop: poll Git, apply each environment, prune by inventory, wait for health,
report. One `Reconciler` per process; `run()` is the steady loop or a single pass (`once`).

Safety rules, in the order they bite:
- Git trouble (unreachable, empty or unreadable commit, or a tip not signed by a trusted key when
  signatures are required) never reaches the cluster: the last good revision stays in force and
  drift is still corrected from it.
- An environment whose folder in a new commit has problems keeps its last good revision.
- A failed apply stops that environment before pruning; a SIGTERM stops before the next step.
- Pruning deletes only what the previous inventory lists (see prune.py for what is kept).
- An environment disappears (its objects are pruned) only when a readable commit with at least
  one environment no longer has its folder, and only for inventories this source recorded.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TextIO

from unhazzle.reconciler.cluster.client import Client, ClusterError
from unhazzle.reconciler.objects import Obj, Ref, stage
from unhazzle.reconciler.run.leader import LeaderElector
from unhazzle.reconciler.run.telemetry import Log, Metrics
from unhazzle.reconciler.run.webhook import Webhook
from unhazzle.reconciler.source.git import Environment, GitSource, Revision, SignatureError, SourceError
from unhazzle.reconciler.sync import health as health_mod
from unhazzle.reconciler.sync import inventory as inv_mod
from unhazzle.reconciler.sync import prune, status
from unhazzle.reconciler.sync.apply import ApplyOptions, Change, Verified, apply_objects, fetch_live
from unhazzle.reconciler.sync.inventory import INVENTORY_LABEL, INVENTORY_NAME, STATUS_NAME, Inventory
from unhazzle.reconciler.sync.ownership import namespace_refusal, takeover_refusal
from unhazzle.reconciler.sync.secrets import Decryptor, secret_objects
from unhazzle.reconciler.sync.tenancy import Tenancy
from unhazzle.shared.names import MANAGED_BY, OURS, SECRETS_FILE


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

    @property
    def applied(self) -> int:
        return sum(c.action in ("created", "configured") for c in self.changes)

    @property
    def drift(self) -> int:
        return sum(c.drift for c in self.changes)

    @property
    def ok(self) -> bool:
        return not self.errors and (self.removed or (self.health is not None and self.health.healthy))


class Reconciler:
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
        self.statuses: dict[str, status.EnvStatus] = {}
        self.notified: dict[str, tuple[str, str]] = {}
        self.problems: dict[str, list[str]] = {}  # env key -> problems of its folder in the tip
        self.verified = Verified()  # objects proved up to date: skipped until they change (apply.py)

    # -- Git ---------------------------------------------------------------------------------

    def poll(self) -> bool:
        """Ask for the tip; fetch and read it only when it moved. True when a new revision
        was taken in. Errors are reported and leave the last good revision in force."""
        try:
            tip = self.source.remote_tip()
        except SourceError as err:
            self._source_failed(str(err))
            return self._fall_back_to_mirror()
        if tip in (self.tip, self.bad_tip):
            self.source_error = "" if tip == self.tip else self.source_error
            return False
        try:
            self.source.fetch(tip)
            revision = self.source.read(tip)
        except SignatureError as err:
            return self._refuse_tip(tip, str(err))
        except SourceError as err:
            return self._source_failed(str(err))
        return self._take(revision)

    def _refuse_tip(self, tip: str, message: str) -> bool:
        """A tip that must not be applied (not signed by a trusted key, or no environments at
        all): remembered, so it is not read again every interval and does not cut health waits
        short; the last good revision stays (after a restart: recovered from the status)."""
        self.bad_tip = tip
        if not self.good:
            self.good = self._recover_all()
        return self._source_failed(message)

    def _fall_back_to_mirror(self) -> bool:
        """Just started and Git is down: the mirror's last fetched commit is the last good one."""
        local = None if self.good else self.source.local_tip()
        if local is None or local == self.bad_tip:
            return False
        try:
            revision = self.source.read(local)
        except SourceError:
            return False
        error = self.source_error
        taken = self._take(revision)
        self.source_error = error  # still an error to report: the remote is unreachable
        return taken

    def _source_failed(self, message: str) -> bool:
        self.source_error = message
        self.log.error("source.error", error=message, keeping=self.tip or None)
        return False

    def _take(self, revision: Revision) -> bool:
        if not revision.environments:
            return self._refuse_tip(
                revision.commit,
                f"{self.source.url}@{revision.commit[:12]}: the commit has no environments; "
                "refusing to remove everything",
            )
        self.tip, self.source_error = revision.commit, ""
        fresh = {}
        for key, env in list(revision.environments.items()):
            if env.namespace and env.namespace == self.options.own_namespace:
                problem = f"{key}: refused: the namespace '{env.namespace}' is the reconciler's own"
                env = revision.environments[key] = replace(env, problems=[*env.problems, problem])
            if env.problems:
                for problem in env.problems:
                    self.log.error("source.problem", environment=key, commit=revision.commit, error=problem)
                last = self.good.get(key) or self._recover(key, env.namespace)
                if last:
                    fresh[key] = last
                continue
            fresh[key] = (revision.commit, env)
        self.good = fresh
        self.problems = {k: e.problems for k, e in revision.environments.items() if e.problems}
        self.log.info("source.revision", commit=revision.commit, environments=sorted(revision.environments))
        return True

    def _recover(self, key: str, namespace: str) -> tuple[str, Environment] | None:
        """After a restart: an environment's last good revision is the commit its status says
        was applied, read back from the mirror."""
        try:
            old = self._read_status(namespace) if namespace else None
            if old is None or not old.revision:
                return None
            env = self.source.read(old.revision).environments.get(key)
        except (SourceError, ClusterError):
            return None
        return (old.revision, env) if env is not None and not env.problems else None

    def _recover_all(self) -> dict[str, tuple[str, Environment]]:
        recovered = {}
        for inventory in self._our_inventories():
            last = self._recover(inventory.environment, inventory.namespace)
            if last:
                recovered[inventory.environment] = last
        return recovered

    def _our_inventories(self) -> list[Inventory]:
        """Inventories this source recorded (another repo's environments are not ours)."""
        found = []
        for obj in self.client.list_kind("v1", "ConfigMap", selector=f"{INVENTORY_LABEL}=true"):
            if (obj.get("data") or {}).get("source") == self.source.url:
                try:
                    found.append(inv_mod.from_configmap(obj))
                except ValueError as err:
                    self.log.error("inventory.unreadable", error=str(err))
        return found

    # -- one pass ----------------------------------------------------------------------------

    def reconcile(self) -> list[EnvOutcome]:
        """Apply every environment of the last good revision, then remove dropped ones."""
        outcomes = []
        for key, (commit, env) in sorted(self.good.items()):
            if not self._may_write():
                break
            outcome = self.reconcile_env(commit, env)
            outcome.errors = [*self.problems.get(key, []), *outcome.errors]
            outcomes.append(outcome)
        for key in sorted(set(self.problems) - set(self.good)):  # broken, and nothing to fall back on
            outcomes.append(EnvOutcome(key, "", self.tip, errors=list(self.problems[key])))
        if self.tip and self._may_write():
            outcomes += self._remove_dropped()
        return outcomes

    def _may_write(self) -> bool:
        return not self.stop.is_set() and (self.leader is None or self.leader.is_leader())

    def reconcile_env(self, commit: str, env: Environment) -> EnvOutcome:
        outcome = EnvOutcome(env.key, env.namespace, commit)
        started = time.monotonic()
        try:
            self._apply_env(env, outcome)
        except ClusterError as err:
            outcome.errors.append(str(err))
        outcome.timings["apply_s"] = round(time.monotonic() - started, 3)
        self._log_outcome(outcome)
        return outcome

    def _apply_env(self, env: Environment, outcome: EnvOutcome) -> None:
        objects = self._with_secrets(env, outcome)
        if objects is None:
            return
        desired = frozenset(Ref.of(o) for o in objects)
        # Cluster-wide objects (the Namespace) first, read as the reconciler: whether the
        # namespace exists decides whether its applier can act yet.
        cluster_wide = fetch_live(self.client, sorted(r for r in desired if not r.namespace))
        namespace = cluster_wide.get(Ref("v1", "Namespace", "", env.namespace))
        project, _, name = env.key.partition("/")
        why = namespace_refusal(namespace, namespace=env.namespace, project=project, environment=name)
        if self._refuse(outcome, why):
            outcome.not_ours = True
            return
        tenant = self.tenancy.prepare(env.namespace, live=namespace, read=False)  # None: no namespace yet
        previous = self._read_inventory(tenant, env.namespace) if tenant else None
        if previous is not None and previous.environment != env.key:
            outcome.errors.append(
                f"Namespace/{env.namespace}: recorded as environment '{previous.environment}'; refusing"
            )
            return
        if previous is not None and previous.refs and not (previous.refs & desired):
            outcome.errors.append(
                f"{env.key}: the new revision shares no object with what is applied; refusing"
            )
            return
        old = previous.refs if previous else frozenset()
        live = cluster_wide | self._fetch_live(tenant, sorted((desired | old) - cluster_wide.keys()))
        if self._refuse(outcome, *(takeover_refusal(ref, live.get(ref), old) for ref in sorted(desired))):
            return
        union = old | desired
        applied = self._apply_stages(objects, live, outcome, env, union, tenant=tenant, previous=previous)
        if applied is None or self.stop.is_set():
            return
        tenant, recorded = applied
        self._prune(tenant, env, outcome, previous, desired, live, recorded=recorded)

    def _refuse(self, outcome: EnvOutcome, *reasons: str) -> bool:
        """Refuse the whole environment for what the cluster holds: nothing of it is written."""
        found = [reason for reason in reasons if reason]
        outcome.errors += found
        outcome.refused = outcome.refused or bool(found)
        return bool(found)

    def _fetch_live(self, tenant: Client | None, refs: list[Ref]) -> dict[Ref, Obj | None]:
        """Cluster-wide objects (the Namespace) are read as the reconciler itself, the rest as the
        environment's applier; with no applier yet (a new namespace), nothing of it is live."""
        live = fetch_live(self.client, [r for r in refs if not r.namespace])
        if tenant is not None:
            live |= fetch_live(tenant, [r for r in refs if r.namespace])
        return live

    def _apply_stages(
        self,
        objects: list[Obj],
        live: dict[Ref, Obj | None],
        outcome: EnvOutcome,
        env: Environment,
        union: frozenset[Ref],
        *,
        tenant: Client | None,
        previous: Inventory | None,
    ) -> tuple[Client, Inventory | None] | None:
        """Stage 0 (the Namespace) as the reconciler, the rest as the environment's applier.
        The client that applied and the inventory now recorded, or None when a stage failed."""
        options = ApplyOptions(
            dry_run=self.options.dry_run,
            workers=self.options.workers,
            diffs=self.options.dry_run,
            verified=self.verified,
        )
        first = [o for o in objects if stage(o) == 0]
        outcome.changes += apply_objects(self.client, first, live, options)
        if self._failed(outcome):
            return None
        # The namespace may be new: its applier comes now. A dry run makes none (so every
        # object of a new environment counts as created).
        tenant = tenant or self.tenancy.prepare(env.namespace) or self.tenancy.client_for(env.namespace)
        # Before anything else is created, record it: a crash mid-apply still knows what to prune.
        recorded = self._write_inventory(
            tenant, Inventory(env.key, env.namespace, outcome.commit, union), previous, keep_revision=True
        )
        outcome.changes += apply_objects(tenant, [o for o in objects if stage(o) > 0], live, options)
        return None if self._failed(outcome) else (tenant, recorded)

    def _failed(self, outcome: EnvOutcome) -> bool:
        for change in outcome.changes:
            if change.action in ("failed", "waiting") and change.error not in outcome.errors:
                outcome.errors.append(change.error)
        return any(c.action == "failed" for c in outcome.changes)

    def _prune(
        self,
        client: Client,
        env: Environment,
        outcome: EnvOutcome,
        previous: Inventory | None,
        desired: frozenset[Ref],
        live: dict[Ref, Obj | None],
        *,
        recorded: Inventory | None,
    ) -> None:
        started = time.monotonic()
        old = previous.refs if previous else frozenset()
        pruning = prune.plan(old, desired, live, apps=env.apps)
        result = prune.execute(client, pruning, dry_run=self.options.dry_run)
        outcome.pruned = result.deleted
        outcome.errors += list(result.failed.values())
        for ref, why in pruning.keep:
            self.log.info("prune.kept", environment=env.key, object=str(ref), reason=why)
        refs = desired | frozenset(result.failed)
        self._write_inventory(client, Inventory(env.key, env.namespace, outcome.commit, refs), recorded)
        outcome.timings["prune_s"] = round(time.monotonic() - started, 3)

    def _with_secrets(self, env: Environment, outcome: EnvOutcome) -> list[Obj] | None:
        if env.secrets is None:
            return list(env.objects)
        if self.decrypt is None:
            outcome.errors.append(
                f"{env.key}/{SECRETS_FILE}: encrypted secrets cannot be decrypted here "
                "(no secrets key configured); "
                "environment left as it is"
            )
            return None
        try:
            values = self.decrypt(env.secrets)
        except Exception as exc:  # any decryption failure: report it, touch nothing
            outcome.errors.append(f"{env.key}/{SECRETS_FILE}: cannot decrypt: {exc}")
            return None
        project, _, name = env.key.partition("/")
        return [*env.objects, *secret_objects(env.namespace, values, project=project, environment=name)]

    # -- inventory ---------------------------------------------------------------------------

    def _read_inventory(self, client: Client, namespace: str) -> Inventory | None:
        obj = client.get(Ref("v1", "ConfigMap", namespace, INVENTORY_NAME))
        if obj is None:
            return None
        try:
            return inv_mod.from_configmap(obj)
        except ValueError as err:
            raise ClusterError(str(Ref("v1", "ConfigMap", namespace, INVENTORY_NAME)), 0, str(err)) from None

    def _write_inventory(
        self, client: Client, inventory: Inventory, old: Inventory | None, *, keep_revision: bool = False
    ) -> Inventory | None:
        """Record *inventory* unless *old*, the one this pass already read or wrote, lists the same
        objects; returns what is recorded now (nothing new in a dry run)."""
        if self.options.dry_run:
            return old
        if keep_revision and old is not None:
            inventory = inventory.with_refs(inventory.refs, revision=old.revision)
        if inv_mod.same(old, inventory):
            return old
        body = inv_mod.to_configmap(inventory)
        body["data"]["source"] = self.source.url
        client.apply(body)
        return inventory

    def _remove_dropped(self) -> list[EnvOutcome]:
        """Environments with an inventory from this source whose folder the tip no longer has."""
        outcomes = []
        for inventory in self._our_inventories():
            if (
                inventory.environment in self.good
                or inventory.environment in self.problems
                or not inventory.refs
            ):
                continue
            outcome = EnvOutcome(inventory.environment, inventory.namespace, self.tip, removed=True)
            try:
                self._remove(inventory, outcome)
            except ClusterError as err:
                outcome.errors.append(str(err))
            self._log_outcome(outcome)
            outcomes.append(outcome)
        return outcomes

    def _remove(self, inventory: Inventory, outcome: EnvOutcome) -> None:
        namespace = self.client.get(Ref("v1", "Namespace", "", inventory.namespace))
        project, _, name = inventory.environment.partition("/")
        why = namespace_refusal(namespace, namespace=inventory.namespace, project=project, environment=name)
        if namespace is None or self._refuse(outcome, why):
            outcome.not_ours = namespace is not None
            return  # gone already, or not ours to prune in
        client = self.tenancy.prepare(inventory.namespace, live=namespace, read=False)
        client = client or self.tenancy.client_for(inventory.namespace)
        live = self._fetch_live(client, sorted(inventory.refs))
        pruning = prune.plan(inventory.refs, frozenset(), live, apps=None)
        result = prune.execute(client, pruning, dry_run=self.options.dry_run)
        outcome.pruned, outcome.errors = result.deleted, list(result.failed.values())
        left = inventory.with_refs(frozenset(result.failed), revision=self.tip)
        self._write_inventory(client, left, inventory)

    # -- health and status -------------------------------------------------------------------

    def assess(self, outcome: EnvOutcome) -> None:
        objects: list[Obj] = []
        for api_version, kind in health_mod.HEALTH_KINDS:
            objects += self.tenancy.client_for(outcome.namespace).list_kind(
                api_version,
                kind,
                namespace=outcome.namespace,
                selector=f"{MANAGED_BY}={OURS}",
            )
        outcome.health = health_mod.assess(objects)

    def wait_healthy(self, outcomes: list[EnvOutcome], *, timeout: float) -> bool:
        """Assess until every environment is healthy, the timeout passes, a stop is asked, or a
        new commit arrives (True: interrupted by a new commit)."""
        deadline = time.monotonic() + timeout
        next_poll = time.monotonic() + self.options.poll_during_wait
        while True:
            pending = [o for o in outcomes if not o.errors and not o.removed]
            for outcome in pending:
                try:
                    self.assess(outcome)
                except ClusterError as err:
                    outcome.health = health_mod.Health(waiting=[str(err)])
            if all(o.health and o.health.healthy for o in pending) or time.monotonic() >= deadline:
                return False
            if time.monotonic() >= next_poll:
                next_poll = time.monotonic() + self.options.poll_during_wait
                if self._tip_moved():
                    self.log.info("health.wait.interrupted", reason="new commit")
                    return True
            if self.stop.wait(1.0):
                return False

    def _tip_moved(self) -> bool:
        try:
            return self.source.remote_tip() not in (self.tip, self.bad_tip)
        except SourceError:
            return False

    def report(self, outcomes: list[EnvOutcome]) -> None:
        for outcome in outcomes:
            if not outcome.namespace or outcome.not_ours:  # nowhere of ours to write: the log only
                self.log.error("status", environment=outcome.key, errors=outcome.errors)
                continue
            old = self.statuses.get(outcome.key) or self._read_status(outcome.namespace)
            new = self._status(outcome, old)
            if old is not None:
                new = replace(new, drift_corrected=old.drift_corrected + outcome.drift)
                if not (outcome.applied or outcome.pruned):  # `applied`/`pruned` describe the last change
                    new = replace(new, applied=old.applied, pruned=old.pruned, timings_s=old.timings_s)
            if old is None or old.essence() != new.essence():
                if not self._write_status(new):
                    continue  # not remembered as written: the next pass tries again
                self.log.info("status", **{k: v for k, v in new.__dict__.items() if k != "timings_s"})
            self.statuses[outcome.key] = new
            self._metrics(outcome, new)
            self._notify(outcome, new)

    def _write_status(self, new: status.EnvStatus) -> bool:
        # A namespace being deleted, or a flaky API server, must not stop the loop: report it.
        if self.options.dry_run:
            return True
        try:
            self.tenancy.client_for(new.namespace).apply(status.to_configmap(new))
        except ClusterError as err:
            self.log.error("status.write_failed", environment=new.environment, error=str(err))
            return False
        return True

    def _status(self, outcome: EnvOutcome, previous: status.EnvStatus | None) -> status.EnvStatus:
        health = outcome.health
        applied = not outcome.errors
        return status.EnvStatus(
            environment=outcome.key,
            namespace=outcome.namespace,
            revision=outcome.commit if applied else (previous.revision if previous else ""),
            wanted_revision=self.tip or outcome.commit,
            health="removed" if outcome.removed else health.word if health else "unknown",
            waiting=list(health.waiting + health.failed) if health else [],
            errors=sorted({*outcome.errors, *([self.source_error] if self.source_error else [])}),
            objects=len(outcome.changes),
            applied=outcome.applied,
            pruned=len(outcome.pruned),
            updated_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            timings_s=outcome.timings,
        )

    def _read_status(self, namespace: str) -> status.EnvStatus | None:
        try:
            client = self.tenancy.client_for(namespace)
            return status.from_configmap(client.get(Ref("v1", "ConfigMap", namespace, STATUS_NAME)))
        except ClusterError:
            return None

    def _metrics(self, outcome: EnvOutcome, new: status.EnvStatus) -> None:
        if self.metrics is None:
            return
        self.metrics.applied.labels(outcome.key).inc(outcome.applied)
        self.metrics.pruned.labels(outcome.key).inc(len(outcome.pruned))
        self.metrics.drift.labels(outcome.key).inc(outcome.drift)
        self.metrics.healthy.labels(outcome.key).set(1 if new.health == "healthy" else 0)
        if new.revision:
            self.metrics.set_revision(outcome.key, new.revision)

    def _notify(self, outcome: EnvOutcome, new: status.EnvStatus) -> None:
        if self.webhook is None or self.options.dry_run:
            return
        # One notice per commit and verdict: a deploy that converges, or fails, is reported once.
        verdict = ""
        if outcome.errors or new.health == "failed":
            verdict = "failed"
        elif new.health in ("healthy", "removed"):
            verdict = "succeeded"
        if not verdict or self.notified.get(outcome.key) == (outcome.commit, verdict):
            return
        self.notified[outcome.key] = (outcome.commit, verdict)
        self.webhook.send({"event": f"deploy.{verdict}", **{k: v for k, v in new.__dict__.items()}})

    def _log_outcome(self, outcome: EnvOutcome) -> None:
        counts: dict[str, int] = {}
        for change in outcome.changes:
            counts[change.action] = counts.get(change.action, 0) + 1
        event = self.log.error if outcome.errors else self.log.info
        event(
            "environment.reconciled",
            environment=outcome.key,
            commit=outcome.commit,
            counts=counts,
            drift_corrected=outcome.drift,
            pruned=[str(r) for r in outcome.pruned],
            changed=[f"{c.action} {c.ref}" for c in outcome.changes if c.action in ("created", "configured")][
                :50
            ],
            errors=outcome.errors,
            timings_s=outcome.timings,
        )


# -- the two ways to run ---------------------------------------------------------------------


def run_once(rec: Reconciler) -> int:
    """One pass and a health wait: 0 when every environment converged and is healthy."""
    rec.poll()
    if not rec.good:
        rec.log.error("reconcile.nothing", error=rec.source_error or "no environment to apply")
        return _exit_code(rec, ok=False)
    outcomes = _pass(rec)
    if rec.options.dry_run:
        print_dry_run(rec, outcomes)
        return _exit_code(rec, ok=all(not o.errors for o in outcomes), outcomes=outcomes)
    deadline = time.monotonic() + rec.options.timeout
    while rec.wait_healthy(outcomes, timeout=max(0.0, deadline - time.monotonic())):
        rec.poll()  # a new commit cut the wait short: apply it, then wait for it instead
        outcomes = _pass(rec)
    rec.report(outcomes)
    if rec.webhook:
        rec.webhook.drain()
    return _exit_code(rec, ok=all(o.ok for o in outcomes), outcomes=outcomes)


def _exit_code(rec: Reconciler, *, ok: bool, outcomes: Sequence[EnvOutcome] = ()) -> int:
    """2 when a folder of the tip was refused for what it holds, or for what it would touch in
    the cluster (bad input, like a bad spec: it is the commit to fix, not the cluster), else 0
    when all is well and 1 for any other trouble."""
    refusals = {p for problems in rec.problems.values() for p in problems}
    refusals |= {error for o in outcomes if o.refused for error in o.errors}
    if refusals:
        # Also as plain lines, like a bad spec's: the JSON log is for machines watching the loop.
        for refusal in sorted(refusals):
            print(refusal, file=sys.stderr)
        return 2
    return 0 if ok and not rec.source_error else 1


def run_loop(rec: Reconciler) -> int:
    """Poll, apply, wait for health (a new commit cuts the wait short), report, sleep; until a
    stop is asked (SIGTERM), which is honoured between steps."""
    if rec.leader:
        rec.leader.start()
    was_leader = None
    try:
        while not rec.stop.is_set():
            started = time.monotonic()
            leading = rec.leader is None or rec.leader.is_leader()
            if leading != was_leader:
                rec.log.info(
                    "leader" if leading else "standby", identity=rec.leader.identity if rec.leader else ""
                )
                if rec.metrics:
                    rec.metrics.leader.set(1 if leading else 0)
                was_leader = leading
            if not leading:
                rec.stop.wait(min(rec.options.interval, 1.0))
                continue
            try:
                interrupted = _steady_pass(rec)
            except ClusterError as err:  # the loop outlives any one failed pass; the next one retries
                rec.log.error("reconcile.pass_failed", error=str(err))
                interrupted = False
            if not interrupted:  # start to start: a push waits at most one interval to be seen
                rec.stop.wait(max(0.0, rec.options.interval - (time.monotonic() - started)))
    finally:
        if rec.leader:
            rec.leader.stop()
    rec.log.info("stopped")
    return 0


def _steady_pass(rec: Reconciler) -> bool:
    """One pass of the loop; True when a new commit cut its health wait short."""
    rec.poll()
    outcomes = _pass(rec)
    interrupted = False
    if any(o.applied or o.pruned for o in outcomes):
        interrupted = rec.wait_healthy(outcomes, timeout=rec.options.timeout)
    else:
        for outcome in outcomes:
            if not outcome.errors and not outcome.removed:
                _assess_quietly(rec, outcome)
    rec.report(outcomes)
    return interrupted


def _assess_quietly(rec: Reconciler, outcome: EnvOutcome) -> None:
    try:
        rec.assess(outcome)
    except ClusterError as err:
        outcome.errors.append(str(err))


def _pass(rec: Reconciler) -> list[EnvOutcome]:
    started, cpu = time.monotonic(), time.process_time()
    writes_before = rec.client.writes()
    outcomes = rec.reconcile()
    elapsed = time.monotonic() - started
    result = "error" if any(o.errors for o in outcomes) or rec.source_error else "ok"
    if rec.metrics:
        rec.metrics.reconciles.labels(result).inc()
        rec.metrics.duration.observe(elapsed)
    rec.log.info(
        "reconcile.pass",
        commit=rec.tip,
        result=result,
        environments=len(outcomes),
        writes=rec.client.writes() - writes_before,
        requests=dict(rec.client.requests),
        duration_s=round(elapsed, 3),
        cpu_s=round(time.process_time() - cpu, 3),  # all threads; on a busy machine wall time misleads
    )
    return outcomes


def print_dry_run(rec: Reconciler, outcomes: list[EnvOutcome]) -> None:
    """What a real pass would do, per environment; Secret values masked in every diff."""
    write = rec.out.write if rec.out else print
    for outcome in outcomes:
        changes = [c for c in outcome.changes if c.action != "unchanged"]
        unchanged = len(outcome.changes) - len(changes)
        head = f"{outcome.key} (namespace {outcome.namespace}) at {outcome.commit[:12]}"
        write(f"{head}: {len(changes)} to change, {len(outcome.pruned)} to delete, {unchanged} unchanged\n")
        for change in changes:
            write(
                f"  {change.action}: {change.ref}{' (error: ' + change.error + ')' if change.error else ''}\n"
            )
            if change.diff:
                write("".join(f"    {line}" for line in change.diff.splitlines(keepends=True)))
        for ref in outcome.pruned:
            write(f"  deleted: {ref}\n")
        for error in outcome.errors:
            write(f"  error: {error}\n")
