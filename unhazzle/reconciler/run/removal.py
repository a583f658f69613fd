"""Remove an environment whose folder left the environment repo: prune what its inventory lists
(volumes and the namespace stay), only for inventories this source recorded."""

from __future__ import annotations

from unhazzle.reconciler.cluster.client import ClusterError
from unhazzle.reconciler.objects import Ref
from unhazzle.reconciler.run.applying import Applying
from unhazzle.reconciler.run.state import EnvOutcome
from unhazzle.reconciler.sync import prune
from unhazzle.reconciler.sync.inventory import Inventory
from unhazzle.reconciler.sync.ownership import namespace_refusal


class Removal(Applying):
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
