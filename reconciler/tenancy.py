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

from unhazzle.reconciler import diff, rbac
from unhazzle.reconciler.client import Client, ClusterError, Forbidden
from unhazzle.reconciler.inventory import INVENTORY_NAME
from unhazzle.reconciler.objects import Obj, Ref

RIGHTS_WAIT_S = 15.0  # a new RoleBinding reaches the API server's authorizer within about a second

NOT_INSTALLED = (
    "the cluster is not set up for Unhazzle yet, or for an older version: install the reconciler "
    "with `unhazzle reconciler manifests | kubectl apply -f -` (the role unhazzle-applier is "
    "missing or outdated)"
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

    def prepare(self, namespace: str, *, present: bool | None = None) -> Client | None:
        """The client for `namespace` once its applier is in place (created or repaired here);
        None while the namespace does not exist. A dry run writes nothing, not even the applier:
        where it is not in place yet (an environment applied before impersonation), the dry run
        looks with the reconciler's own credentials.
        `present` is whether the namespace exists, when the caller has just read it; else it is
        read here. A no-change pass costs the applier's two objects' reads and no write."""
        if not self.impersonate:
            return self.client
        if present is None:
            present = self.client.get(Ref("v1", "Namespace", "", namespace)) is not None
        if not present:
            return None
        self._check_role()
        wrote = False
        for obj in rbac.applier_objects(namespace):
            desired = diff.with_hash(obj)
            live = self.client.get(Ref.of(obj))
            if diff.up_to_date(desired, live):
                continue
            if self.dry_run:
                if live is None:
                    return self.client
                continue
            self.client.apply(desired)
            wrote = True
        tenant = self.client_for(namespace)
        if wrote:
            _await_rights(tenant, namespace)
        return tenant

    def _check_role(self) -> None:
        """The applier ClusterRole must hold exactly this version's rules. Credentials that may
        write RBAC (an admin's kubeconfig) install it; the reconciler's own narrow identity
        cannot (that would take `escalate`), so it reports how to install it."""
        if self._role_ok:
            return
        desired = rbac.applier_cluster_role()
        ref = Ref.of(desired)
        live = self.client.get(ref)
        if live is None or _rules(live) != _rules(desired):
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


def _rules(role: Obj) -> list[Obj]:
    keys = ("apiGroups", "resources", "verbs", "resourceNames", "nonResourceURLs")
    return [{k: sorted(rule[k]) for k in keys if rule.get(k)} for rule in role.get("rules") or []]
