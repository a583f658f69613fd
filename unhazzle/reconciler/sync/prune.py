"""Which objects to delete: only those in the previous inventory, gone from the new revision, and
still labelled as ours. Pure planning; `execute` does the deletes through the client.

Conservative rules, each for a failure Flux and Argo CD users have met:
- Namespaces are never deleted: that would take everything in them, ours or not.
- A volume (PersistentVolumeClaim) is data: it is deleted only when its app was removed from an
  environment that still exists, and a commit said so (publish --allow-delete-volume writes the
  trailer; a hand commit must carry it too). Without that it is held: kept, still listed, and
  deleted by the first pass after a commit that says so. A removed environment keeps its volumes
  and namespace.
- An object that lost our label was taken over by someone: dropped from the inventory, kept.
- A failed delete stays in the inventory and is tried again next time.
- A run in progress is never stopped by a deploy: a release step, or a scheduled job with a run
  going, that left the revision waits, still listed, and goes with the first pass after it ends.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from unhazzle.reconciler.cluster.client import Client, ClusterError
from unhazzle.reconciler.objects import Obj, Ref, is_ours, labels
from unhazzle.shared.names import ALLOW_DELETE_VOLUME, APP_LABEL, MANAGED_BY, OURS


@dataclass(frozen=True)
class PrunePlan:
    delete: list[tuple[Ref, str]] = field(default_factory=list)  # (ref, uid)
    keep: list[tuple[Ref, str]] = field(default_factory=list)  # (ref, why) -- leaves the inventory
    hold: list[tuple[Ref, str]] = field(default_factory=list)  # (ref, why) -- kept, stays listed
    wait: list[tuple[Ref, str]] = field(default_factory=list)  # (ref, why) -- likewise, not a refusal


def plan(
    previous: frozenset[Ref],
    desired: frozenset[Ref],
    live: dict[Ref, Obj | None],
    *,
    apps: frozenset[str] | None,
    scope: str = "",
    deletable: frozenset[str] = frozenset(),
    disposable: bool = False,
) -> PrunePlan:
    """`apps` is the environment's apps in the new revision, or None when it was removed.
    `scope` is the environment ("project/environment"); `deletable`, the apps whose volumes a
    commit allowed to be deleted. `disposable`: a preview environment going away, whose volumes
    and running jobs go with it (the namespace too, deleted by the caller)."""
    result = PrunePlan()
    for ref in sorted(previous - desired):
        obj = live.get(ref)
        if obj is None:
            continue  # already gone
        why = _reason_to_keep(ref, obj, None if disposable else apps, disposable=disposable)
        held = "" if why or disposable else _reason_to_hold(ref, obj, scope, deletable)
        running = "" if why or held or disposable else _still_running(ref, obj)
        if why:
            result.keep.append((ref, why))
        elif held:
            result.hold.append((ref, held))
        elif running:
            result.wait.append((ref, running))
        else:
            result.delete.append((ref, str((obj.get("metadata") or {}).get("uid", ""))))
    return result


def _reason_to_hold(ref: Ref, obj: Obj, scope: str, deletable: frozenset[str]) -> str:
    if ref.kind != "PersistentVolumeClaim":
        return ""
    app = labels(obj).get(APP_LABEL, "")
    if app in deletable:
        return ""
    return (
        f"{scope}: app '{app}' left the environment repo, but no commit allowed its volume to be "
        f"deleted: the volume and its data are kept. To delete them, publish with "
        f"--allow-delete-volume, or commit with the trailer '{ALLOW_DELETE_VOLUME}: {scope}/{app}'; "
        "to keep using them, add the app back"
    )


def _still_running(ref: Ref, obj: Obj) -> str:
    status = obj.get("status") or {}
    if ref.kind == "CronJob" and status.get("active"):
        return "a run of this job is in progress: the job is removed when it ends"
    if ref.kind == "Job" and status.get("active"):
        return "this release step is running: it is removed when it ends"
    return ""


def _reason_to_keep(ref: Ref, obj: Obj, apps: frozenset[str] | None, *, disposable: bool = False) -> str:
    if ref.kind == "Namespace":
        return "namespaces are never pruned (a preview's is deleted whole once it is empty)"
    if not is_ours(obj):
        return f"no longer labelled {MANAGED_BY}={OURS}"
    if ref.kind == "PersistentVolumeClaim" and not disposable:
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
