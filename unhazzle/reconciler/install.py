"""Install manifests for running the reconciler in a cluster, for one `kubectl apply -f -`. Pure.

RBAC is as narrow as the job allows (rbac.py says who may do what): the reconciler's own
ClusterRole creates and labels Namespaces (and deletes only a preview environment's, which an
admission policy enforces), puts the applier's ServiceAccount and RoleBinding in each, binds
and impersonates that applier, and lists ConfigMaps to find its inventories -- it cannot write a
tenant's objects itself. The applier ClusterRole, granted per
namespace, holds the kinds guard.py allows, and may list its instances (read only: a failed
release step's last words). No `escalate`, pod writes, exec or nodes anywhere. The Lease
lives in a Role in the reconciler's own namespace. Two admission policies (rbac.py) make the API
server itself keep both identities to namespaces labelled as Unhazzle's.
"""

from __future__ import annotations

from dataclasses import dataclass

import yaml

from unhazzle.reconciler.objects import Obj
from unhazzle.reconciler.sync import rbac
from unhazzle.reconciler.sync.shards import SHARD_LABEL, Shard
from unhazzle.shared.names import MANAGED_BY, OURS


@dataclass(frozen=True)
class InstallOptions:
    """image: the reconciler image. repo/branch: the environment repo to follow.
    namespace: where the reconciler runs. replicas: 2 or more for a hot standby (leader election),
    per shard."""

    image: str = "ghcr.io/unhazzle/reconciler:latest"
    repo: str = "https://git.example.com/acme/environments.git"
    branch: str = "main"
    namespace: str = "unhazzle-system"
    replicas: int = 2
    interval: int = 30
    trusted_signers: str | None = None  # allowed_signers text: only a tip signed by these applies
    trusted_gpg_keys: str | None = None  # armored GPG public keys, likewise
    # The Secret holding the cluster's age key (key `key.txt`), which opens `_secrets.json`;
    # made by the operator (`kubectl create secret generic NAME --from-file=key.txt=KEYFILE`).
    secrets_key_secret: str | None = None
    # N reconcilers splitting the environments (sync/shards.py): one Deployment per shard, each with
    # `--shard K/N` and a Lease of its own, all under the same identity and RBAC. 1: as before.
    shards: int = 1


TRUST_DIR = "/etc/unhazzle/trust"
KEY_DIR = "/etc/unhazzle/secrets-key"
TRUST_FILES = {"trusted_signers": "allowed_signers", "trusted_gpg_keys": "gpg-keys.asc"}


def _meta(name: str, namespace: str | None = None) -> Obj:
    meta: Obj = {"name": name, "labels": {MANAGED_BY: OURS, "app.kubernetes.io/name": "unhazzle-reconciler"}}
    if namespace:
        meta["namespace"] = namespace
    return meta


def objects(opts: InstallOptions) -> list[Obj]:
    name, ns = "unhazzle-reconciler", opts.namespace
    subject = [{"kind": "ServiceAccount", "name": name, "namespace": ns}]
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": _meta(ns)},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(name, ns)},
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": _meta(name),
            "rules": rbac.reconciler_rules(sharded=opts.shards > 1),
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": _meta(name),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
            "subjects": subject,
        },
        rbac.applier_cluster_role(),
        *rbac.applier_policy(),
        *rbac.reconciler_policy(f"system:serviceaccount:{ns}:{name}"),
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": _meta(f"{name}-leader", ns),
            "rules": [
                {
                    "apiGroups": ["coordination.k8s.io"],
                    "resources": ["leases"],
                    "verbs": ["get", "create", "update"],
                }
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": _meta(f"{name}-leader", ns),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": f"{name}-leader"},
            "subjects": subject,
        },
        *_trust_configmap(opts, name),
        *_deployments(opts, name),
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": _meta(f"{name}-metrics", ns),
            "spec": {
                "selector": {"app.kubernetes.io/name": name},
                "ports": [{"name": "metrics", "port": 9090, "targetPort": "metrics"}],
            },
        },
    ]


def _trust(opts: InstallOptions) -> dict[str, str]:
    """Option -> text of the trusted keys that are set (the ConfigMap's data, by file name)."""
    return {TRUST_FILES[k]: v for k in TRUST_FILES if (v := getattr(opts, k))}


def _trust_configmap(opts: InstallOptions, name: str) -> list[Obj]:
    """Public keys only, so a ConfigMap; set once per cluster, mounted read-only."""
    data = _trust(opts)
    if not data:
        return []
    return [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": _meta(f"{name}-trust", opts.namespace),
             "data": data}]  # fmt: skip


def _volumes(opts: InstallOptions, name: str) -> tuple[list[Obj], list[Obj], list[str]]:
    """Mounts, volumes and arguments: the cache, a /tmp (the root filesystem is read-only and Git
    writes a signature there to check it), and the trusted keys when set."""
    mounts: list[Obj] = [{"name": "cache", "mountPath": "/var/cache/unhazzle"}]
    mounts.append({"name": "tmp", "mountPath": "/tmp"})
    volumes: list[Obj] = [{"name": "cache", "emptyDir": {}}, {"name": "tmp", "emptyDir": {}}]
    trust, args = _trust(opts), []
    for option, file in TRUST_FILES.items():
        if file in trust:
            args += [f"--{option.replace('_', '-')}", f"{TRUST_DIR}/{file}"]
    if trust:
        mounts.append({"name": "trust", "mountPath": TRUST_DIR, "readOnly": True})
        volumes.append({"name": "trust", "configMap": {"name": f"{name}-trust"}})
    if opts.secrets_key_secret:
        mounts.append({"name": "secrets-key", "mountPath": KEY_DIR, "readOnly": True})
        volumes.append(
            # Readable by the reconciler's group only: a secret volume's files belong to root, so
            # 0400 (owner only) would shut out the reconciler's own user (seen on a real node).
            {"name": "secrets-key", "secret": {"secretName": opts.secrets_key_secret, "defaultMode": 0o440}}
        )
        args += ["--secrets-key-file", f"{KEY_DIR}/key.txt"]
    return mounts, volumes, args


def _deployments(opts: InstallOptions, name: str) -> list[Obj]:
    """One reconciler, or one per shard: `unhazzle-reconciler-K` runs `--shard K/N`."""
    if opts.shards == 1:
        return [_deployment(opts, name)]
    return [_deployment(opts, name, shard=Shard(k, opts.shards)) for k in range(opts.shards)]


def _deployment(opts: InstallOptions, name: str, *, shard: Shard | None = None) -> Obj:
    args = ["reconcile", "--repo", opts.repo, "--branch", opts.branch, "--interval", str(opts.interval)]
    if shard is not None:
        args += ["--shard", str(shard)]
    args += [
        "--metrics-addr",
        "0.0.0.0:9090",
        "--lease-namespace",
        opts.namespace,
        "--cache-dir",
        "/var/cache/unhazzle",
    ]
    mounts, volumes, trust_args = _volumes(opts, name)
    args += trust_args
    container = {
        "name": "reconciler",
        "image": opts.image,
        "args": args,
        "env": [{"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
        "ports": [{"name": "metrics", "containerPort": 9090}],
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}},
        "readinessProbe": {"httpGet": {"path": "/metrics", "port": "metrics"}},
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": mounts,
    }
    # The metrics Service selects every shard's pods; each Deployment only its own.
    pods = {"app.kubernetes.io/name": name} | ({SHARD_LABEL: str(shard.index)} if shard else {})
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(f"{name}-{shard.index}" if shard else name, opts.namespace),
        "spec": {
            "replicas": opts.replicas,
            "selector": {"matchLabels": pods},
            "template": {
                "metadata": {"labels": pods},
                "spec": {
                    "serviceAccountName": name,
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": 10001,
                        "runAsGroup": 10001,
                        "fsGroup": 10001,  # owns the mounted key's files (group-readable)
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [container],
                    "volumes": volumes,
                },
            },
        },
    }


def render(opts: InstallOptions) -> str:
    return "---\n".join(yaml.safe_dump(obj, sort_keys=False) for obj in objects(opts))
