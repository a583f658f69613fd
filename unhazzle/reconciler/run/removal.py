"""Remove an environment whose folder left the environment repo: prune what its inventory lists
(volumes and the namespace stay), only for inventories this source recorded. A preview
environment (its namespace labelled so) is disposable: when its folder leaves, or its marker says
it expired, everything of it goes, volumes and namespace included."""

from __future__ import annotations

from datetime import UTC, datetime

from unhazzle.reconciler.cluster.client import Client, ClusterError
from unhazzle.reconciler.objects import Obj, Ref, labels
from unhazzle.reconciler.run.applying import Applying
from unhazzle.reconciler.run.state import EnvOutcome
from unhazzle.reconciler.source.git import Environment
from unhazzle.reconciler.sync import prune
from unhazzle.reconciler.sync.inventory import Inventory
from unhazzle.reconciler.sync.ownership import namespace_refusal
from unhazzle.shared.names import ALLOW_DELETE_ENVIRONMENT, PREVIEW_LABEL


def disposable(namespace: Obj | None) -> bool:
    """A preview environment's namespace: removing it removes everything of it."""
    return namespace is not None and labels(namespace).get(PREVIEW_LABEL) == "true"


class Removal(Applying):
    def _remove_dropped(self) -> list[EnvOutcome]:
        """Environments with an inventory from this source whose folder the tip no longer has."""
        outcomes = []
        for inventory in self._our_inventories():
            if (
                inventory.environment in self.good
                or inventory.environment in self.problems
                or not inventory.refs
                or not self.mine(inventory.environment)  # another shard's to remove
            ):
                continue
            outcome = EnvOutcome(inventory.environment, inventory.namespace, self.tip, removed=True)
            if waiting := self.held_elsewhere(inventory):  # the old layout's shard keeps it for now
                outcome.errors.append(waiting)
                outcome.removed, outcome.not_ours = False, True
                self._log_outcome(outcome)
                outcomes.append(outcome)
                continue
            try:
                if self._refuse(outcome, self._removal_refusal(inventory)):
                    outcome.removed = False  # it stays, as it is
                else:
                    self._remove(inventory, outcome)
            except ClusterError as err:
                outcome.errors.append(str(err))
            self._log_outcome(outcome)
            outcomes.append(outcome)
        return outcomes

    def expired(self, env: Environment) -> bool:
        return env.preview is not None and env.preview.expired(datetime.now(UTC))

    def expire(self, commit: str, env: Environment) -> EnvOutcome:
        """A preview past its expiry: removed whole, however its folder stands; never applied
        again (its folder must be published anew, which moves the expiry on)."""
        outcome = EnvOutcome(env.key, env.namespace, commit, removed=True, disposed="expired")
        try:
            namespace = self.client.get(Ref("v1", "Namespace", "", env.namespace))
            project, _, name = env.key.partition("/")
            why = namespace_refusal(namespace, namespace=env.namespace, project=project, environment=name)
            if namespace is None:
                pass  # gone already: nothing to do, nothing to say again (nothing was pruned)
            elif self._refuse(outcome, why):  # another environment's namespace (a-b/c and a/b-c)
                outcome.removed, outcome.disposed, outcome.not_ours = False, "", True
            elif not disposable(namespace):
                outcome.removed, outcome.disposed = False, ""
                outcome.errors.append(
                    f"{env.key}: its folder marks it a preview that expired, but its namespace "
                    f"{env.namespace} is not labelled {PREVIEW_LABEL}: true; nothing of it is removed"
                )
            else:
                client = self.tenancy.prepare(env.namespace, live=namespace, read=False)
                client = client or self.tenancy.client_for(env.namespace)
                inventory = self._read_inventory(client, env.namespace)
                if inventory is None or inventory.environment != env.key:
                    inventory = Inventory(env.key, env.namespace, commit, frozenset())
                self._prune_all(client, inventory, outcome, namespace)  # the namespace read and checked above
        except ClusterError as err:
            outcome.errors.append(str(err))
        self._log_outcome(outcome)
        return outcome

    def _remove(self, inventory: Inventory, outcome: EnvOutcome) -> None:
        namespace = self.client.get(Ref("v1", "Namespace", "", inventory.namespace))
        project, _, name = inventory.environment.partition("/")
        why = namespace_refusal(namespace, namespace=inventory.namespace, project=project, environment=name)
        if namespace is None or self._refuse(outcome, why):
            outcome.not_ours = namespace is not None
            return  # gone already, or not ours to prune in
        client = self.tenancy.prepare(inventory.namespace, live=namespace, read=False)
        self._prune_all(client or self.tenancy.client_for(inventory.namespace), inventory, outcome, namespace)

    def _prune_all(self, client: Client, inventory: Inventory, outcome: EnvOutcome, namespace: Obj) -> None:
        """Everything *inventory* lists, in the (checked) *namespace*; a preview's namespace too."""
        whole = disposable(namespace)
        live = self._fetch_live(client, sorted(inventory.refs))
        pruning = prune.plan(inventory.refs, frozenset(), live, apps=None, disposable=whole)
        result = prune.execute(client, pruning, dry_run=self.options.dry_run)
        outcome.pruned, outcome.errors = result.deleted, list(result.failed.values())
        if whole and not result.failed:
            outcome.disposed = outcome.disposed or "its folder left the environment repo"
            if not self.options.dry_run:  # then the namespace, with what the inventory did not list
                uid = str((namespace.get("metadata") or {}).get("uid", "")) or None
                self.client.delete(Ref("v1", "Namespace", "", inventory.namespace), uid=uid)
            outcome.pruned.append(Ref("v1", "Namespace", "", inventory.namespace))
            return
        left = inventory.with_refs(frozenset(result.failed), revision=self.tip)
        self._write_inventory(client, left, inventory)

    def _removal_refusal(self, inventory: Inventory) -> str:
        """Why a folder gone from the repo does not remove its environment ("" when it does): no
        commit since the inventory last changed said so (publish --allow-delete-environment
        writes the trailer; a hand commit must carry it too)."""
        key = inventory.environment
        if f"environment {key}" in self.source.opt_ins(inventory.revision, self.tip):
            return ""
        return (
            f"{key}: its folder left the environment repo, but no commit allowed the environment to "
            f"be removed: everything of it keeps running. To remove it, publish with "
            f"--allow-delete-environment, or commit with the trailer '{ALLOW_DELETE_ENVIRONMENT}: "
            f"{key}'; to keep it, restore the folder"
        )
