"""Which objects to delete: only those in the previous inventory, gone from the new revision, and
still labelled as ours. Pure planning; `execute` does the deletes through the client.

Conservative rules, each for a failure Flux and Argo CD users have met:
- Namespaces are never deleted: that would take everything in them, ours or not.
- A volume (PersistentVolumeClaim) is data: it is deleted only when its app was removed from an
  environment that still exists; a removed environment keeps its volumes and namespace.
- An object that lost our label was taken over by someone: dropped from the inventory, kept.
- A failed delete stays in the inventory and is tried again next time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from unhazzle.reconciler.cluster.client import Client, ClusterError
from unhazzle.reconciler.objects import Obj, Ref, is_ours, labels
from unhazzle.shared.names import APP_LABEL, MANAGED_BY, OURS


@dataclass(frozen=True)
class PrunePlan:
    delete: list[tuple[Ref, str]] = field(default_factory=list)  # (ref, uid)
    keep: list[tuple[Ref, str]] = field(default_factory=list)  # (ref, why) -- leaves the inventory


def plan(
    previous: frozenset[Ref],
    desired: frozenset[Ref],
    live: dict[Ref, Obj | None],
    *,
    apps: frozenset[str] | None,
) -> PrunePlan:
    """`apps` is the environment's apps in the new revision, or None when it was removed."""
    result = PrunePlan()
    for ref in sorted(previous - desired):
        obj = live.get(ref)
        if obj is None:
            continue  # already gone
        why = _reason_to_keep(ref, obj, apps)
        if why:
            result.keep.append((ref, why))
        else:
            result.delete.append((ref, str((obj.get("metadata") or {}).get("uid", ""))))
    return result


def _reason_to_keep(ref: Ref, obj: Obj, apps: frozenset[str] | None) -> str:
    if ref.kind == "Namespace":
        return "namespaces are never deleted by the reconciler"
    if not is_ours(obj):
        return f"no longer labelled {MANAGED_BY}={OURS}"
    if ref.kind == "PersistentVolumeClaim":
        app = labels(obj).get(APP_LABEL, "")
        if apps is None:
            return "volumes of a removed environment are kept (data)"
        if app in apps or not app:
            return f"volume of app '{app}' which still exists: kept (data)"
    return ""


@dataclass(frozen=True)
class PruneResult:
    deleted: list[Ref]
    failed: dict[Ref, str]


def execute(client: Client, prune_plan: PrunePlan, *, dry_run: bool = False) -> PruneResult:
    deleted: list[Ref] = []
    failed: dict[Ref, str] = {}
    for ref, uid in prune_plan.delete:
        if dry_run:
            deleted.append(ref)
            continue
        try:
            client.delete(ref, uid=uid or None)
            deleted.append(ref)
        except ClusterError as err:
            failed[ref] = str(err)
    return PruneResult(deleted, failed)
