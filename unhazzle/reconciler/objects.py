"""Plain Kubernetes objects as dicts, and the reference that names one. Pure: no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from unhazzle.shared.names import APP_LABEL, MANAGED_BY, OURS

Obj = dict[str, Any]


# Applied first, in this order: what everything else lives in or refers to.
CLUSTER_WIDE_FIRST = ("Namespace", "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding")
STAGE_ONE = frozenset(
    {"ServiceAccount", "ResourceQuota", "LimitRange", "Secret", "ConfigMap", "PersistentVolumeClaim"}
)
# What starts containers: applied last, once everything it uses and everything guarding it (its
# network policies, its disruption budget) was taken; nothing of a revision runs before that.
RUNS_CODE = frozenset({"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod"})


@dataclass(frozen=True, order=True)
class Ref:
    """apiVersion/kind/namespace/name: one object, printed as `Kind/namespace/name`."""

    api_version: str
    kind: str
    namespace: str
    name: str

    @classmethod
    def of(cls, obj: Obj) -> Ref:
        meta = obj.get("metadata") or {}
        return cls(
            str(obj["apiVersion"]), str(obj["kind"]), str(meta.get("namespace") or ""), str(meta["name"])
        )

    def __str__(self) -> str:
        return "/".join(p for p in (self.kind, self.namespace, self.name) if p)

    def key(self) -> str:
        """The stable text form stored in an inventory."""
        return f"{self.api_version}|{self.kind}|{self.namespace}|{self.name}"

    @classmethod
    def parse(cls, text: str) -> Ref:
        api_version, kind, namespace, name = text.split("|")
        return cls(api_version, kind, namespace, name)


def labels(obj: Obj) -> dict[str, str]:
    return dict((obj.get("metadata") or {}).get("labels") or {})


def is_ours(obj: Obj) -> bool:
    return labels(obj).get(MANAGED_BY) == OURS


def stage(obj: Obj) -> int:
    """0 for namespaces and cluster-wide objects, 1 for what other objects refer to, 2 for the
    rest, 3 for what starts containers."""
    kind = obj.get("kind", "")
    if kind in CLUSTER_WIDE_FIRST:
        return 0
    if kind in RUNS_CODE:
        return 3
    return 1 if kind in STAGE_ONE else 2


def runs_code(obj: Obj) -> bool:
    return obj.get("kind", "") in RUNS_CODE


def without_apps(objects: list[Obj], apps: set[str]) -> list[Obj]:
    """`objects` less what makes `apps` run and serve (their Deployment, Service, autoscaler, ...):
    an app held back keeps its current version. Its Secret and volume stay (first stages)."""
    if not apps:
        return objects
    return [o for o in objects if not (stage(o) >= 2 and labels(o).get(APP_LABEL) in apps)]
