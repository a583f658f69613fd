"""Which environments this reconciler acts on when N reconcilers split a fleet (sync/shards.py).

A shard applies, prunes and removes only the environments it owns; every shard lists every folder
of the commit (parsing only its own: revisions.py), so an environment another shard owns is
never mistaken for one whose folder left.
Handing an environment over (N changed, or a pin moved) is safe in both directions:
- the inventory names the shard that recorded it, and only that shard prunes by it: a new owner
  first applies (idempotent) and records itself, and prunes from its next pass on. Every shard
  reads the pins at the start of each pass, so when one moves, the old owner acts at most once
  more, in a pass already under way; neither prunes by the other's record then, so neither
  deletes what the other applied;
- while the shard named there belongs to another N (a reconciler of the old layout) and its Lease
  is still renewed, the new owner waits: the old layout keeps the environment until it is stopped.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from unhazzle.reconciler.cluster.client import ClusterError
from unhazzle.reconciler.objects import Ref, labels
from unhazzle.reconciler.run.records import Records
from unhazzle.reconciler.sync.inventory import Inventory
from unhazzle.reconciler.sync.shards import SHARD_LABEL, Shard, recorded
from unhazzle.shared.names import ENVIRONMENT_LABEL, PLATFORM_NAMESPACE, PROJECT_LABEL

# A Lease renewed this long after its duration ran out counts as held: clocks of two pods differ.
CLOCK_SLACK = timedelta(seconds=5)


class Sharding(Records):
    def read_pins(self) -> None:
        """Once a pass, before anything is decided: the pins on Namespaces (one LIST, and none
        when this reconciler is the only one), and the Leases read afresh."""
        self.lease_holders = {}
        if self.options.shard.count == 1:
            self.pins = {}
            return
        try:
            pinned = self.client.list_kind("v1", "Namespace", selector=SHARD_LABEL)
        except ClusterError as err:  # the pins last read stay; a wrong guess is caught by `adopting`
            self.log.error("shard.pins_unread", error=str(err))
            return
        found = {}
        for namespace in pinned:
            have = labels(namespace)
            found[f"{have.get(PROJECT_LABEL)}/{have.get(ENVIRONMENT_LABEL)}"] = have[SHARD_LABEL]
        self.pins = found

    def mine(self, environment: str) -> bool:
        """Whether this shard owns `environment` ("project/environment")."""
        return self.options.shard.owns(environment, self.pins.get(environment))

    def adopting(self, inventory: Inventory | None) -> bool:
        """The environment was last recorded by another shard: this pass takes it over, and
        prunes nothing by a record it did not write."""
        return inventory is not None and recorded(inventory.shard) != self.options.shard

    def held_elsewhere(self, inventory: Inventory | None) -> str:
        """Why this shard may not take the environment over yet ("" when it may): the shard that
        recorded it belongs to another layout (another N) and still renews its Lease."""
        if inventory is None:
            return ""
        before = recorded(inventory.shard)
        if before.count == self.options.shard.count:
            return ""
        holder = self._lease_holder(before)
        if not holder:
            return ""
        return (
            f"{inventory.environment}: now shard {self.options.shard}'s, but shard {before} (Lease "
            f"{before.lease_name}, held by {holder}) still runs and keeps it; it is taken over once that "
            "reconciler stops"
        )

    def _lease_holder(self, shard: Shard) -> str:
        name = shard.lease_name
        if name not in self.lease_holders:
            self.lease_holders[name] = self._read_holder(name)
        return self.lease_holders[name]

    @property
    def _lease_namespace(self) -> str:
        return self.options.own_namespace or PLATFORM_NAMESPACE

    def _read_holder(self, name: str) -> str:
        """Who renews the Lease `name` ("" when nobody has within its duration). A Lease that cannot
        be read counts as held: the environment waits rather than risk two owners."""
        try:
            lease = self.client.get(Ref("coordination.k8s.io/v1", "Lease", self._lease_namespace, name))
        except ClusterError as err:
            return f"(unknown: {err})"
        spec = (lease or {}).get("spec") or {}
        holder = str(spec.get("holderIdentity") or "")
        try:
            renewed = datetime.fromisoformat(str(spec.get("renewTime")))
        except ValueError:
            return holder  # held and never renewed in a form we read: trust the holder's name
        lapses = renewed + timedelta(seconds=float(spec.get("leaseDurationSeconds") or 0)) + CLOCK_SLACK
        return holder if datetime.now(UTC) < lapses else ""
