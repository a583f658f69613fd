"""What an environment applied, kept in the cluster: the ConfigMap `unhazzle-inventory` in the
environment's namespace. Pruning trusts this record, never labels alone (an object someone else
labelled like ours is not in it, so it is never deleted). Pure conversions; the loop reads and
writes it through the client."""

from __future__ import annotations

from dataclasses import dataclass, replace

from unhazzle.reconciler.objects import Obj, Ref
from unhazzle.shared.names import INVENTORY_NAME, MANAGED_BY, OURS, STATUS_NAME

__all__ = ["INVENTORY_NAME", "STATUS_NAME"]  # (their home is shared/names.py, with the guard's)
INVENTORY_LABEL = "unhazzle.io/inventory"
STATUS_LABEL = "unhazzle.io/status"
ENVIRONMENT_KEY_LABEL = "unhazzle.io/environment-key"


@dataclass(frozen=True)
class Inventory:
    environment: str  # "project/environment"
    namespace: str
    revision: str
    refs: frozenset[Ref]
    # The reconciler shard that recorded it (sync/shards.py): only that shard prunes by it; another
    # adopts it first. "0/1" (the whole fleet) for a single reconciler and for older inventories.
    shard: str = "0/1"

    def with_refs(self, refs: frozenset[Ref], *, revision: str | None = None) -> Inventory:
        return replace(self, revision=revision or self.revision, refs=refs)


def bookkeeping_configmap(
    name: str, namespace: str, environment: str, kind_label: str, data: dict[str, str]
) -> Obj:
    """One of the reconciler's own ConfigMaps in an environment's namespace."""
    labels = {MANAGED_BY: OURS, kind_label: "true", ENVIRONMENT_KEY_LABEL: environment.replace("/", ".")}
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "data": data,
    }


def to_configmap(inventory: Inventory) -> Obj:
    data = {
        "environment": inventory.environment,
        "revision": inventory.revision,
        "shard": inventory.shard,
        "objects": "".join(f"{ref.key()}\n" for ref in sorted(inventory.refs)),
    }
    return bookkeeping_configmap(
        INVENTORY_NAME, inventory.namespace, inventory.environment, INVENTORY_LABEL, data
    )


def from_configmap(obj: Obj) -> Inventory:
    """The inventory a ConfigMap holds; ValueError when it is not one of ours or is garbled."""
    data = obj.get("data") or {}
    meta = obj.get("metadata") or {}
    try:
        refs = frozenset(Ref.parse(line) for line in str(data.get("objects", "")).splitlines() if line)
        return Inventory(
            str(data["environment"]),
            str(meta["namespace"]),
            str(data.get("revision", "")),
            refs,
            shard=str(data.get("shard") or "0/1"),
        )
    except (KeyError, ValueError) as exc:
        raise ValueError(
            f"ConfigMap/{meta.get('namespace')}/{meta.get('name')}: not an inventory ({exc})"
        ) from None


def same(a: Inventory | None, b: Inventory) -> bool:
    """Equal lists need no write. `revision` is the commit that last *changed* the list (the
        status holds the applied one), so a commit that adds or removes nothing writes nothing here. A
    shard adopting the environment writes it once, to record itself."""
    return a is not None and (a.refs, a.namespace, a.shard) == (b.refs, b.namespace, b.shard)
