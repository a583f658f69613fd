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

from unhazzle.reconciler.objects import Obj
from unhazzle.reconciler.source.guard import ALLOWED_KINDS
from unhazzle.reconciler.sync.health import HEALTH_KINDS
from unhazzle.shared.names import APPLIER_NAME, MANAGED_BY, OURS, PLATFORM_NAMESPACES, PREVIEW_LABEL

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
        *(
            {"apiGroups": [group], "resources": sorted(resources), "verbs": list(APPLY_VERBS)}
            for group, resources in sorted(groups.items())
        ),
        # Read only: why a release step or a new version failed is in its instances' last words
        # (release.py, rollback.py); the version to go back to, in its earlier ReplicaSet.
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]},
        {"apiGroups": ["apps"], "resources": ["replicasets"], "verbs": ["list"]},
        # Watch, the kinds health reads: a change's health is followed by watches, not lists.
        *(
            {"apiGroups": [api_version.rpartition("/")[0]], "resources": [plural(kind)], "verbs": ["watch"]}
            for api_version, kind in sorted(HEALTH_KINDS)
        ),
    ]


def applier_user(namespace: str) -> str:
    return f"system:serviceaccount:{namespace}:{APPLIER}"


def _meta(name: str, namespace: str | None = None) -> Obj:
    meta: Obj = {"name": name, "labels": {MANAGED_BY: OURS, "app.kubernetes.io/name": name}}
    if namespace:
        meta["namespace"] = namespace
    return meta


def applier_cluster_role() -> Obj:
    """Installed once per cluster (`unhazzle install-manifests`); granted per namespace."""
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


def reconciler_rules(*, sharded: bool = False) -> list[Obj]:
    """The reconciler's own cluster-wide rights: nothing it could use to write a tenant's objects.
    `resourceNames` pins each right to the applier's objects (a create by server-side apply is
    authorized with the name, so it holds for creation too). `sharded`: it also lists Namespaces,
    to read the shard pins on them once a pass (run/sharding.py); one reconciler never needs to."""
    namespaces = (
        ["get", "list", "create", "patch", "delete"] if sharded else ["get", "create", "patch", "delete"]
    )
    return [
        # delete: a preview environment's, whole (the admission policy below allows no other).
        {"apiGroups": [""], "resources": ["namespaces"], "verbs": namespaces},
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
        # Read-only: an address another environment serves is never claimed (ownership.py).
        {"apiGroups": ["networking.k8s.io"], "resources": ["ingresses"], "verbs": ["list"]},
        # get: check the API server's own namespace checks are installed (it cannot change them).
        {"apiGroups": ["admissionregistration.k8s.io"],
         "resources": ["validatingadmissionpolicies", "validatingadmissionpolicybindings"],
         "verbs": ["get"], "resourceNames": [APPLIER_POLICY, RECONCILER_POLICY]},
    ]  # fmt: skip


# -- the API server's own check that the applier stays in Unhazzle's namespaces -----------------
# RBAC grants per namespace but cannot say "only namespaces with this label". A
# ValidatingAdmissionPolicy can: so even if our own checks (guard.py, ownership.py) had a bug and
# an applier binding landed in `kube-system` or in someone's namespace, the API server would
# refuse every write it made there.
ADMISSION_API = "admissionregistration.k8s.io/v1"
APPLIER_POLICY = "unhazzle-applier-namespaces"
RECONCILER_POLICY = "unhazzle-reconciler-namespaces"
_OURS_CEL = (
    "has({o}.metadata.labels) && '{label}' in {o}.metadata.labels"
    " && {o}.metadata.labels['{label}'] == '{ours}'"
)
_NOT_RESERVED_CEL = "!{o}.metadata.name.startsWith('kube-') && !({o}.metadata.name in {platform})"


def _ours(obj: str) -> str:
    return _OURS_CEL.format(o=obj, label=MANAGED_BY, ours=OURS)


def _not_reserved(obj: str) -> str:
    platform = sorted(PLATFORM_NAMESPACES | {"default"})
    return _NOT_RESERVED_CEL.format(o=obj, platform="[" + ", ".join(f"'{n}'" for n in platform) + "]")


def _policy(name: str, spec: Obj) -> list[Obj]:
    """A policy that denies what fails its validations, and the binding that puts it in force
    for every request it matches."""
    policy = {
        "apiVersion": ADMISSION_API,
        "kind": "ValidatingAdmissionPolicy",
        "metadata": _meta(name),
        "spec": {"failurePolicy": "Fail", **spec},
    }
    binding = {
        "apiVersion": ADMISSION_API,
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": _meta(name),
        "spec": {"policyName": name, "validationActions": ["Deny"]},
    }
    return [policy, binding]


def _rule(group: str, resources: list[str], *, scope: str = "*", delete: bool = False) -> Obj:
    operations = ["CREATE", "UPDATE", *(["DELETE"] if delete else [])]
    return {"apiGroups": [group], "apiVersions": ["*"], "resources": resources,
            "operations": operations, "scope": scope}  # fmt: skip


def _denied_unless(expression: str, message: str) -> Obj:
    return {"expression": expression, "reason": "Forbidden", "message": message}


def applier_policy() -> list[Obj]:
    """Any applier (`system:serviceaccount:*:unhazzle-applier`) writes only in its own namespace,
    and only when that namespace is labelled as Unhazzle's and is not one of the cluster's own."""
    own = f"'system:serviceaccount:' + namespaceObject.metadata.name + ':{APPLIER}'"
    check = f"request.userInfo.username == {own} && {_ours('namespaceObject')}"
    check += f" && {_not_reserved('namespaceObject')}"
    is_applier = "request.userInfo.username.startsWith('system:serviceaccount:')"
    is_applier += f" && request.userInfo.username.endsWith(':{APPLIER}')"
    message = f"{APPLIER} writes only in its own namespace, and only when it is labelled {MANAGED_BY}={OURS}"
    return _policy(
        APPLIER_POLICY,
        {
            "matchConstraints": {"resourceRules": [_rule("*", ["*/*"], scope="Namespaced", delete=True)]},
            "matchConditions": [{"name": "the-applier", "expression": is_applier}],
            "validations": [_denied_unless(check, message)],
        },
    )


def reconciler_policy(user: str) -> list[Obj]:
    """The reconciler's own identity (`user`) creates only namespaces labelled as ours (never one
    of the cluster's own), never labels an existing namespace as ours (adopting one is an
    administrator's step), deletes only a preview environment's namespace, and puts the
    applier's account and binding only in our namespaces."""
    marked = f"oldObject.metadata.labels['{PREVIEW_LABEL}']"
    preview = f"'{PREVIEW_LABEL}' in oldObject.metadata.labels && {marked} == 'true'"
    gone = f"{_ours('oldObject')} && {_not_reserved('oldObject')} && {preview}"
    kept = f"{_ours('object')} && {_not_reserved('object')}"
    kept += f" && (request.operation == 'CREATE' || ({_ours('oldObject')}))"
    # A preview is made so, never turned into one: the label that allows the delete is not changed.
    label = "('{l}' in {o}.metadata.labels ? {o}.metadata.labels['{l}'] : '')"
    same = f"{label.format(l=PREVIEW_LABEL, o='object')} == {label.format(l=PREVIEW_LABEL, o='oldObject')}"
    kept += f" && (request.operation == 'CREATE' || {same})"
    namespace = f"request.operation == 'DELETE' ? ({gone}) : ({kept})"
    inside = f"{_ours('namespaceObject')} && {_not_reserved('namespaceObject')}"
    return _policy(
        RECONCILER_POLICY,
        {
            "matchConstraints": {
                "resourceRules": [
                    _rule("", ["namespaces"], delete=True),
                    _rule("", ["serviceaccounts"]),
                    _rule("rbac.authorization.k8s.io", ["rolebindings"]),
                ]
            },
            "matchConditions": [
                {"name": "the-reconciler", "expression": f"request.userInfo.username == '{user}'"}
            ],
            "validations": [
                _denied_unless(
                    f"request.resource.resource != 'namespaces' || ({namespace})",
                    f"the reconciler creates only namespaces labelled {MANAGED_BY}={OURS}, never "
                    f"takes over one made by someone else, and deletes only a preview's "
                    f"({PREVIEW_LABEL}=true, set when it is created, never after)",
                ),
                _denied_unless(
                    f"request.resource.resource == 'namespaces' || ({inside})",
                    f"the reconciler binds {APPLIER} only in namespaces labelled {MANAGED_BY}={OURS}",
                ),
            ],
        },
    )
