"""Who may do what in the cluster: the rights of the identity each environment is applied as, and
of the reconciler itself. Pure: rules and objects out, no I/O.

Two identities, so that a hole in our own check (guard.py) is not a hole in the cluster:
- the **applier**, `system:serviceaccount:<namespace>:unhazzle-applier`, one per environment
  namespace, bound by a RoleBinding to the ClusterRole `unhazzle-applier`. A RoleBinding grants a
  ClusterRole's rules in its own namespace only, so the applier can write the kinds guard.py
  allows, there and nowhere else: no cluster-wide object, no RBAC, no other namespace.
- the **reconciler**, which applies nothing of a tenant itself: it creates Namespaces, and in each
  one the applier's ServiceAccount and RoleBinding (RBAC lets it bind the applier ClusterRole
  without holding its rights, through `bind` on that one role), then impersonates the applier.
"""

from __future__ import annotations

from unhazzle.compiler.namespace import APPLIER_NAME
from unhazzle.reconciler.guard import ALLOWED_KINDS
from unhazzle.reconciler.objects import MANAGED_BY, OURS, Obj

APPLIER = APPLIER_NAME
RBAC_API = "rbac.authorization.k8s.io/v1"
APPLY_VERBS = ["get", "list", "create", "patch", "delete"]
# What the reconciler writes into each namespace besides the folder's objects: its inventory and
# status ConfigMaps, and each app's Secret from `_secrets.json`.
OWN_KINDS = {("v1", "ConfigMap"), ("v1", "Secret")}
CLUSTER_WIDE = {("v1", "Namespace")}


def plural(kind: str) -> str:
    """The API's resource name of a kind (checked against the real API server by the tests)."""
    lower = kind.lower()
    if lower.endswith("y"):
        return lower[:-1] + "ies"
    return lower + ("es" if lower.endswith("s") else "s")


def applier_rules() -> list[Obj]:
    """One rule per API group: the allowlisted namespaced kinds, plus what the reconciler keeps."""
    groups: dict[str, list[str]] = {}
    for api_version, kind in sorted((ALLOWED_KINDS - CLUSTER_WIDE) | OWN_KINDS):
        group = api_version.rpartition("/")[0]
        groups.setdefault(group, []).append(plural(kind))
    return [
        {"apiGroups": [group], "resources": sorted(resources), "verbs": list(APPLY_VERBS)}
        for group, resources in sorted(groups.items())
    ]


def applier_user(namespace: str) -> str:
    return f"system:serviceaccount:{namespace}:{APPLIER}"


def _meta(name: str, namespace: str | None = None) -> Obj:
    meta: Obj = {"name": name, "labels": {MANAGED_BY: OURS, "app.kubernetes.io/name": name}}
    if namespace:
        meta["namespace"] = namespace
    return meta


def applier_cluster_role() -> Obj:
    """Installed once per cluster (`unhazzle reconciler manifests`); granted per namespace."""
    return {
        "apiVersion": RBAC_API,
        "kind": "ClusterRole",
        "metadata": _meta(APPLIER),
        "rules": applier_rules(),
    }


def applier_objects(namespace: str) -> list[Obj]:
    """The applier's ServiceAccount and RoleBinding in one environment namespace. No token is
    mounted into anything: nothing runs as the applier, the reconciler only impersonates it."""
    account: Obj = {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": _meta(APPLIER, namespace),
        "automountServiceAccountToken": False,
    }
    binding: Obj = {
        "apiVersion": RBAC_API,
        "kind": "RoleBinding",
        "metadata": _meta(APPLIER, namespace),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": APPLIER},
        "subjects": [{"kind": "ServiceAccount", "name": APPLIER, "namespace": namespace}],
    }
    return [account, binding]


def reconciler_rules() -> list[Obj]:
    """The reconciler's own cluster-wide rights: nothing it could use to write a tenant's objects.
    `resourceNames` pins each right to the applier's objects (a create by server-side apply is
    authorized with the name, so it holds for creation too)."""
    return [
        {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get", "create", "patch"]},
        {"apiGroups": [""], "resources": ["serviceaccounts"], "verbs": ["get", "create", "patch"],
         "resourceNames": [APPLIER]},
        {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["rolebindings"],
         "verbs": ["get", "create", "patch"], "resourceNames": [APPLIER]},
        # bind: create those RoleBindings without holding the applier's rights itself;
        # get: check the applier role is installed and current (it cannot change it).
        {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterroles"],
         "verbs": ["get", "bind"], "resourceNames": [APPLIER]},
        {"apiGroups": [""], "resources": ["serviceaccounts"], "verbs": ["impersonate"],
         "resourceNames": [APPLIER]},
        # Read-only: finds the inventories it recorded (by label) to remove dropped environments.
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["list"]},
    ]  # fmt: skip
