"""Which identity writes an environment's namespace (rights in rbac.py).

With impersonation (the default) the reconciler, as itself, only makes sure each environment
namespace holds the applier's ServiceAccount and RoleBinding; everything of the environment --
apply, dry-run, prune, inventory, status, health reads -- then goes through a client acting as
that namespace's applier. So even an object our own check (guard.py) let through by mistake meets
an API server that refuses it: the applier has no rights outside its namespace or the allowlist.
"""

from __future__ import annotations

import threading
import time

from unhazzle.reconciler.cluster.client import Client, ClusterError, Forbidden
from unhazzle.reconciler.objects import Obj, Ref, is_ours
from unhazzle.reconciler.sync import diff, rbac
from unhazzle.reconciler.sync.inventory import INVENTORY_NAME
from unhazzle.shared.names import MANAGED_BY, OURS, reserved

RIGHTS_WAIT_S = 15.0  # a new RoleBinding reaches the API server's authorizer within about a second

NOT_INSTALLED = (
    "the cluster is not set up for Unhazzle yet, or for an older version: install the reconciler "
    "with `unhazzle install-manifests | kubectl apply -f -` (the role unhazzle-applier is "
    "missing or outdated, or the policy unhazzle-applier-namespaces)"
)
NOT_OURS = (
    "refused: the namespace is not labelled as Unhazzle's, so no environment is applied there "
    f"(the applier is bound only in namespaces labelled {MANAGED_BY}={OURS})"
)


class Tenancy:
    """Clients per environment namespace. `impersonate=False` applies with the reconciler's own
    credentials (which then need every right the applier has)."""

    def __init__(self, client: Client, *, impersonate: bool = True, dry_run: bool = False) -> None:
        self.client = client
        self.impersonate = impersonate
        self.dry_run = dry_run
        self._role_ok = False
        self._clients: dict[str, Client] = {}
        self._lock = threading.Lock()

    def client_for(self, namespace: str) -> Client:
        """The client that acts in `namespace` (no request is made here)."""
        if not self.impersonate:
            return self.client
        with self._lock:
            if namespace not in self._clients:
                self._clients[namespace] = self.client.impersonating(rbac.applier_user(namespace))
            return self._clients[namespace]

    def prepare(self, namespace: str, *, live: Obj | None = None, read: bool = True) -> Client | None:
        """The client for `namespace` once its applier is in place (created or repaired here);
        None while the namespace does not exist. A dry run writes nothing, not even the applier:
        where it is not in place yet (an environment applied before impersonation), the dry run
        looks with the reconciler's own credentials.
        `live` is the Namespace as the caller has just read it (`read=False`); else it is read
        here. A namespace not labelled as Unhazzle's is refused (ClusterError): the applier is
        bound only in our own (ownership.py says why in words first; this is the backstop, and
        the API server's policy, rbac.applier_policy, the last one). A no-change pass costs the
        applier's two objects' reads and no write."""
        if not self.impersonate:
            return self.client
        if read:
            live = self.client.get(Ref("v1", "Namespace", "", namespace))
        if live is None:
            return None
        if not is_ours(live) or reserved(namespace):
            raise ClusterError(f"Namespace/{namespace}", 0, NOT_OURS)
        self._check_role()
        wrote = False
        for obj in rbac.applier_objects(namespace):
            desired = diff.with_hash(obj)
            found = self.client.get(Ref.of(obj))
            if diff.up_to_date(desired, found):
                continue
            if self.dry_run:
                if found is None:
                    return self.client
                continue
            self.client.apply(desired)
            wrote = True
        tenant = self.client_for(namespace)
        if wrote:
            _await_rights(tenant, namespace)
        return tenant

    def _check_role(self) -> None:
        """The applier ClusterRole must hold exactly this version's rules, and the API server's
        policy that keeps the applier in our namespaces must be in force. Credentials that may
        write them (an admin's kubeconfig) install them; the reconciler's own narrow identity
        cannot (that would take `escalate`), so it reports how to install them."""
        if self._role_ok:
            return
        for desired in [rbac.applier_cluster_role(), *rbac.applier_policy()]:
            ref = Ref.of(desired)
            live = self.client.get(ref)
            if live is not None and _current(desired, live):
                continue
            if self.dry_run:
                raise ClusterError(str(ref), 0, NOT_INSTALLED)
            try:
                self.client.apply(desired)
            except Forbidden:
                raise ClusterError(str(ref), 403, NOT_INSTALLED) from None
        self._role_ok = True


def _await_rights(tenant: Client, namespace: str) -> None:
    """Until the API server's authorizer has seen a binding just written (it follows RBAC objects
    from a cache), the applier is refused: ask as it with a cheap read until it is not."""
    deadline = time.monotonic() + RIGHTS_WAIT_S
    while True:
        try:
            tenant.get(Ref("v1", "ConfigMap", namespace, INVENTORY_NAME))
            return
        except Forbidden:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.1)


def _current(desired: Obj, live: Obj) -> bool:
    """Installed as this version wants it, by us or by `kubectl apply` of the install manifests:
    a role by its rules (the API server keeps them as given), a policy by its spec."""
    if desired["kind"] == "ClusterRole":
        return _rules(live) == _rules(desired)
    return diff.contains(desired["spec"], live.get("spec"))


def _rules(role: Obj) -> list[Obj]:
    keys = ("apiGroups", "resources", "verbs", "resourceNames", "nonResourceURLs")
    return [{k: sorted(rule[k]) for k in keys if rule.get(k)} for rule in role.get("rules") or []]
