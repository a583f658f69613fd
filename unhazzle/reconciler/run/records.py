"""What the reconciler keeps in each environment's namespace: its inventory (what it applied,
so it knows what to prune) and its status (what `unhazzle status` reads)."""

from __future__ import annotations

from dataclasses import replace

from unhazzle.reconciler.cluster.client import Client, ClusterError, Forbidden
from unhazzle.reconciler.objects import Ref
from unhazzle.reconciler.run.state import State
from unhazzle.reconciler.sync import inventory as inv_mod
from unhazzle.reconciler.sync import status
from unhazzle.reconciler.sync.inventory import INVENTORY_LABEL, INVENTORY_NAME, STATUS_NAME, Inventory

NO_NAMESPACE = "nothing of it was applied, so its namespace does not exist yet to hold a status"


class Records(State):
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
        inventory = replace(inventory, shard=str(self.options.shard))  # this shard keeps it now
        if inv_mod.same(old, inventory):
            return old
        body = inv_mod.to_configmap(inventory)
        body["data"]["source"] = self.source.url
        client.apply(body)
        return inventory

    def _read_status(self, namespace: str) -> status.EnvStatus | None:
        try:
            client = self.tenancy.client_for(namespace)
            return status.from_configmap(client.get(Ref("v1", "ConfigMap", namespace, STATUS_NAME)))
        except ClusterError:
            return None

    def _namespace_exists(self, namespace: str) -> bool:
        try:
            return self.client.get(Ref("v1", "Namespace", "", namespace)) is not None
        except ClusterError:
            return True  # cannot tell: the write's own error is the one to report

    def _write_status(self, new: status.EnvStatus) -> bool | None:
        """True when written (or when there is no namespace to hold it), False when the server
        refused it, None when the server did not answer. A namespace being deleted, or a flaky
        API server, must not stop the loop: each is reported."""
        if self.options.dry_run:
            return True
        try:
            self.tenancy.client_for(new.namespace).apply(status.to_configmap(new))
        except Forbidden as err:
            # Refused before anything was applied, the environment has no namespace yet, and so
            # no identity to write there (the 403 `unhazzle-applier` gets): the log says it all.
            if not self._namespace_exists(new.namespace):
                self.log.info("status.not_written", environment=new.environment, reason=NO_NAMESPACE)
                return True
            self.log.error("status.write_failed", environment=new.environment, error=str(err))
            return False
        except ClusterError as err:
            self.log.error("status.write_failed", environment=new.environment, error=str(err))
            return None if err.status == 0 else False
        return True
