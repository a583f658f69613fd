"""Apply one environment: check what the cluster holds is ours to write, apply in stages as the
environment's own identity, then prune what its inventory lists and the revision dropped."""

from __future__ import annotations

import time
from dataclasses import replace

from unhazzle.reconciler.cluster.client import Client, ClusterError, refuses_object
from unhazzle.reconciler.objects import RUNS_CODE, Obj, Ref, runs_code, stage
from unhazzle.reconciler.run.sharding import Sharding
from unhazzle.reconciler.run.state import EnvOutcome
from unhazzle.reconciler.source.git import Environment
from unhazzle.reconciler.sync import health as health_mod
from unhazzle.reconciler.sync import order, prune, release, rollback
from unhazzle.reconciler.sync.apply import ApplyOptions, Change, apply_objects, fetch_live, preflight
from unhazzle.reconciler.sync.inventory import Inventory
from unhazzle.reconciler.sync.ownership import (
    host_refusal,
    hosts,
    namespace_refusal,
    served,
    takeover_refusal,
)
from unhazzle.reconciler.sync.secrets import secret_objects
from unhazzle.reconciler.sync.server_words import in_words
from unhazzle.shared.names import APP_LABEL, RELEASE_LABEL, SECRETS_FILE

RELEASE_LINES = 20  # of a failed release step's output, in the status and the webhook


class Applying(Sharding):
    def reconcile_env(self, commit: str, env: Environment) -> EnvOutcome:
        outcome = EnvOutcome(env.key, env.namespace, commit)
        started, writes = time.monotonic(), self.client.writes()
        try:
            self._apply_env(env, outcome)
        except ClusterError as err:
            outcome.errors.append(str(err))
        if self.client.writes() != writes:
            outcome.seen = {}  # listed before a write: health reads the cluster afresh
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
        if waiting := self.held_elsewhere(previous):  # the old layout's shard keeps it (sharding.py)
            outcome.errors.append(waiting)
            outcome.not_ours = True  # its status is the other shard's to write
            return
        if previous is not None and previous.refs and not (previous.refs & desired):
            outcome.errors.append(
                f"{env.key}: the new revision shares no object with what is applied; refusing"
            )
            return
        old = previous.refs if previous else frozenset()
        listed: dict[tuple[str, str, str], list[Obj]] = {}
        live = cluster_wide | self._fetch_live(tenant, sorted((desired | old) - cluster_wide.keys()), listed)
        outcome.seen = health_mod.seen(listed, env.namespace)
        taken = [(ref, takeover_refusal(ref, live.get(ref), old)) for ref in sorted(desired)]
        if self._reject(env, outcome, [*taken, *self._host_refusals(objects)], until="pass"):
            return
        union = old | desired
        applied = self._apply_stages(
            objects, live, outcome, env, union, tenant=tenant, previous=previous, new=namespace is None
        )
        if applied is None or self.stop.is_set():
            return
        tenant, recorded = applied
        if self.adopting(previous):  # recorded by another shard: now by this one, pruned next pass
            self.log.info("environment.adopted", environment=env.key, shard=str(self.options.shard),
                          recorded_by=previous.shard if previous else "")  # fmt: skip
            return
        self._prune(tenant, env, outcome, previous, desired, live, recorded=recorded)

    def _host_refusals(self, objects: list[Obj]) -> list[tuple[Ref, str]]:
        """An address served elsewhere on the cluster may not be claimed (ownership.host_refusal).
        One cluster-wide LIST, and only when the environment routes any address at all."""
        ingresses = [o for o in objects if o.get("kind") == "Ingress" and hosts(o)]
        if not ingresses:
            return []
        return [(Ref.of(ingress), host_refusal(ingress, self._serving())) for ingress in ingresses]

    def _serving(self) -> dict[str, set[str]]:
        """What the cluster's Ingresses serve: listed once a pass, not once an environment (with
        N environments that was N LISTs of every Ingress on the cluster a pass), and again after
        any write of ours, so an address an environment took or let go earlier in the pass is
        seen as the per-environment LIST saw it."""
        writes = self.client.writes()
        if self.serving is None or self.serving[0] != writes:
            self.serving = (writes, served(self.client.list_kind("networking.k8s.io/v1", "Ingress")))
        return self.serving[1]

    def _refuse(self, outcome: EnvOutcome, *reasons: str) -> bool:
        """Refuse the whole environment for what the cluster holds: nothing of it is written."""
        found = [reason for reason in reasons if reason]
        outcome.errors += found
        outcome.refused = outcome.refused or bool(found)
        return bool(found)

    def _fetch_live(
        self,
        tenant: Client | None,
        refs: list[Ref],
        listed: dict[tuple[str, str, str], list[Obj]] | None = None,
    ) -> dict[Ref, Obj | None]:
        """Cluster-wide objects (the Namespace) are read as the reconciler itself, the rest as the
        environment's applier; with no applier yet (a new namespace), nothing of it is live.
        `listed`: as fetch_live's."""
        live = fetch_live(self.client, [r for r in refs if not r.namespace])
        if tenant is not None:
            live |= fetch_live(tenant, [r for r in refs if r.namespace], listed=listed)
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
        new: bool,
    ) -> tuple[Client, Inventory | None] | None:
        """Stage 0 (the Namespace) as the reconciler, the rest as the environment's applier.
        The client that applied and the inventory now recorded, or None when a stage failed.
        `new`: the namespace did not exist when the pass began (nothing of the environment can)."""
        options = ApplyOptions(
            dry_run=self.options.dry_run,
            workers=self.options.workers,
            diffs=self.options.dry_run,
            verified=self.verified,
            digests=self.digests,
        )
        first = [o for o in objects if stage(o) == 0]
        outcome.changes += apply_objects(self.client, first, live, options)
        if self._failed(outcome):
            return None
        # The namespace may be new: its applier comes now. A dry run makes none (so every
        # object of a new environment counts as created, and cannot be asked about yet).
        tenant = tenant or self.tenancy.prepare(env.namespace) or self.tenancy.client_for(env.namespace)
        rest = [o for o in objects if stage(o) > 0]
        # One object the server refuses refuses the whole revision (the environment stays on its
        # last good revision), so the revision is put to it before any of it is written. A new
        # environment has nothing yet, so what the server took of it can be taken back: only what
        # starts containers is asked first (no code of a refused revision ever runs); the rest is
        # simply created, and deleted again if anything is refused (_taken_back). One request an
        # object, not two, on a first sync.
        asked = [o for o in rest if runs_code(o)] if new else rest
        checked = preflight(tenant, asked, live, options) if not (new and self.options.dry_run) else None
        if checked and checked.refused:
            self._refused_by_server(env, outcome, checked.refused, {Ref.of(o): o for o in rest}, live)
            return None
        # Before anything else is created, record it: a crash mid-apply still knows what to prune.
        recorded = self._write_inventory(
            tenant, Inventory(env.key, env.namespace, outcome.commit, union), previous, keep_revision=True
        )
        rest = self._release_gate(tenant, rest, outcome, env)
        rest, ordered = order.gate(rest, live)
        outcome.ordered = sorted(ordered.values())
        rest = self._roll_back_stalled(tenant, rest, live, outcome, env)
        changes = apply_objects(tenant, rest, live, options, known=checked)
        if new and self._taken_back(tenant, env, outcome, changes, rest, recorded):
            return None
        # An object this environment had applied, deleted by hand and now made again: drift healed.
        recorded_before = previous.refs if previous else frozenset()
        outcome.changes += [
            replace(c, drift=True)
            if c.action == "created" and c.ref in recorded_before
            else replace(c, error=f"{env.place(c.ref)}: {c.error}")
            if c.error
            else c
            for c in changes
        ]
        return None if self._failed(outcome) else (tenant, recorded)

    def _taken_back(
        self,
        client: Client,
        env: Environment,
        outcome: EnvOutcome,
        changes: list[Change],
        objects: list[Obj],
        recorded: Inventory | None,
    ) -> bool:
        """A new environment of which an object failed: what this pass made of it is deleted
        again, last stage first (True), so a new environment is left as a failed dry-run leaves
        it. A refusal of the object refuses the revision until a new commit; anything else (the
        identity's rights, the connection) is an error, tried again next pass. Only while nothing
        ran: no object that starts containers was sent (they come last) and no instance exists in
        the namespace, so no volume holds data; otherwise it stays as a failed apply leaves it.
        The namespace did not exist when this pass began: what is deleted is what it made."""
        failed = [c for c in changes if c.action == "failed"]
        sent_code = any(c.ref.kind in RUNS_CODE and c.action != "skipped" for c in changes)
        if not failed or self.options.dry_run or sent_code:
            return False
        if client.list_kind("v1", "Pod", namespace=env.namespace):
            return False
        made = [c.ref for c in changes if c.action == "created"]
        left = set()
        for ref in reversed(made):
            try:
                client.delete(ref)
            except ClusterError as err:  # still listed in the inventory: pruned by a later revision
                left.add(ref)
                outcome.errors.append(f"{env.place(ref)}: not removed again: {err}")
        # Nothing of the revision is in force: the inventory lists only what could not be removed.
        self._write_inventory(client, Inventory(env.key, env.namespace, "", frozenset(left)), recorded)
        self.log.info("environment.taken_back", environment=env.key, objects=len(made) - len(left))
        refused = {c.ref: c.cause for c in failed if c.cause is not None and refuses_object(c.cause)}
        if refused:
            self._refused_by_server(env, outcome, refused, {Ref.of(o): o for o in objects}, {})
        else:
            outcome.errors += [f"{env.place(c.ref)}: {c.cause or c.error}" for c in failed]
        return True

    def _release_gate(
        self, client: Client, objects: list[Obj], outcome: EnvOutcome, env: Environment
    ) -> list[Obj]:
        """Hold back each app whose release step has not succeeded (sync/release.py); a failed
        step is an error of the environment, with the step's last lines, every pass until a new
        commit or a retry (it is never run again by itself)."""
        if not any(release.release_of(o) for o in objects):
            return objects
        jobs = client.list_kind("batch/v1", "Job", namespace=env.namespace, selector=RELEASE_LABEL)
        result = release.gate(objects, jobs)
        outcome.releasing = sorted(result.waiting.values())
        by_name = {job["metadata"]["name"]: job for job in jobs}
        for app, name in sorted(result.failed.items()):
            outcome.errors.append(self._release_failure(client, env, app, by_name[name]))
        return result.apply

    def _roll_back_stalled(
        self,
        client: Client,
        objects: list[Obj],
        live: dict[Ref, Obj | None],
        outcome: EnvOutcome,
        env: Environment,
    ) -> list[Obj]:
        """An app whose new version stalled goes back to its previous one (sync/rollback.py); a
        version rolled back is not applied again before a new commit. Either is an error of the
        environment, in words, every pass until then."""
        out = []
        for obj in objects:
            found = live.get(Ref.of(obj)) if obj.get("kind") == "Deployment" else None
            name = str(obj["metadata"]["name"])
            if found is not None and rollback.holds(obj, found):
                outcome.errors.append(self._rolled_back_words(env, name, rollback.reason(found)))
                continue  # what runs stays
            if found is not None and rollback.due(obj, found):
                selector = f"{APP_LABEL}={name}"
                sets = client.list_kind("apps/v1", "ReplicaSet", namespace=env.namespace, selector=selector)
                pods = client.list_kind("v1", "Pod", namespace=env.namespace, selector=selector)
                template = rollback.previous_template(found, sets)
                why = rollback.why(pods) + ("" if template else "; there is no earlier version to go back to")
                obj = rollback.rolled_back(obj, template, why)
                outcome.errors.append(self._rolled_back_words(env, name, why))
                outcome.rolled_back.append((name, why))
                self.log.error(
                    "app.rolled_back", environment=env.key, app=name, reason=why, commit=outcome.commit
                )
                if self.metrics:
                    self.metrics.rollbacks.labels(env.key).inc()
            out.append(obj)
        return out

    def _rolled_back_words(self, env: Environment, app: str, why: str) -> str:
        done = "left as it is" if "no earlier version" in why else "rolled back to its previous version"
        return (
            f"{env.key}: app {app}: its new version {why}; {done}. This version is not deployed "
            "again before a new commit (fix it and publish, or `unhazzle rollback`)"
        )

    def _release_failure(self, client: Client, env: Environment, app: str, job: Obj) -> str:
        name = job["metadata"]["name"]
        pods = client.list_kind("v1", "Pod", namespace=env.namespace, selector=f"job-name={name}")
        environment = env.key.partition("/")[2]
        said = release.last_words(pods, lines=RELEASE_LINES)
        return (
            f"{env.key}: app {app}: its release step {release.failure_reason(job, pods)}; the running "
            f"version keeps serving and the new one is not rolled out. It runs again with a new commit, "
            f"or `unhazzle retry-release {app} --env {environment}`."
            + (f" Its last lines:\n{said}" if said else "")
        )

    def _reject(
        self, env: Environment, outcome: EnvOutcome, reasons: list[tuple[Ref, str]], *, until: str
    ) -> bool:
        """Refuse this revision of the environment for `reasons` (ref, why; "" for none): none of
        it is written, each reason is said at the file and line of its object, and reconciler.py
        applies the last revision instead. `until`: "commit" or "pass" (EnvOutcome.rejected)."""
        found = [(ref, why) for ref, why in reasons if why]
        if found:
            outcome.errors += [f"{env.place(ref)}: {why}" for ref, why in found]
            outcome.refused, outcome.rejected = True, until
        return bool(found)

    def _refused_by_server(
        self,
        env: Environment,
        outcome: EnvOutcome,
        refused: dict[Ref, ClusterError],
        desired: dict[Ref, Obj],
        live: dict[Ref, Obj | None],
    ) -> None:
        """The server refused objects of this revision: it is not tried again before a new commit."""
        words = {
            ref: in_words(ref, err.message, desired=desired[ref], live=live.get(ref))
            for ref, err in refused.items()
        }
        self._reject(env, outcome, sorted(words.items()), until="commit")

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
        deletable = self._deletable_volumes(env, previous, outcome.commit, old - desired)
        pruning = prune.plan(old, desired, live, apps=env.apps, scope=env.key, deletable=deletable)
        result = prune.execute(client, pruning, dry_run=self.options.dry_run)
        outcome.pruned = result.deleted
        outcome.errors += list(result.failed.values())
        self._refuse(outcome, *(why for _, why in pruning.hold))
        for ref, why in [*pruning.keep, *pruning.wait]:
            self.log.info("prune.kept", environment=env.key, object=str(ref), reason=why)
        waiting = frozenset(ref for ref, _ in [*pruning.hold, *pruning.wait])
        refs = desired | frozenset(result.failed) | waiting
        self._write_inventory(client, Inventory(env.key, env.namespace, outcome.commit, refs), recorded)
        outcome.timings["prune_s"] = round(time.monotonic() - started, 3)

    def _deletable_volumes(
        self, env: Environment, previous: Inventory | None, commit: str, gone: frozenset[Ref]
    ) -> frozenset[str]:
        """The apps whose volumes the commits since the inventory last changed allowed to be
        deleted (publish --allow-delete-volume, or a hand commit's trailer). Git is asked only
        when a volume is about to go."""
        if not any(ref.kind == "PersistentVolumeClaim" for ref in gone):
            return frozenset()
        allowed = self.source.opt_ins(previous.revision if previous else "", commit)
        prefix = f"volume {env.key}/"
        return frozenset(item.removeprefix(prefix) for item in allowed if item.startswith(prefix))

    def _with_secrets(self, env: Environment, outcome: EnvOutcome) -> list[Obj] | None:
        if env.secrets is None:
            return list(env.objects)
        if self.decrypt is None:
            keys = ", ".join(str(r) for r in (env.secrets.get("recipients") or [])[:5]) or "the cluster's"
            outcome.errors.append(
                f"{env.key}/{SECRETS_FILE}: its secret values cannot be opened here: pass "
                f"--secrets-key-file FILE, the age key of one of {keys}; environment left as it is"
            )
            return None
        try:
            values = self.decrypt(env.secrets)
        except Exception as exc:  # any decryption failure: report it, touch nothing
            outcome.errors.append(f"{env.key}/{SECRETS_FILE}: cannot decrypt: {exc}")
            return None
        project, _, name = env.key.partition("/")
        return [*env.objects, *secret_objects(env.namespace, values, project=project, environment=name)]

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
