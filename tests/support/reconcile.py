"""The reconciler on the real control plane: one environment repo and fault proxy per test, and
the reconciler's own narrow identity exactly as `unhazzle install-manifests` installs it."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from tests.support.envrepo import EnvRepo
from tests.support.faultproxy import FaultProxy
from unhazzle.reconciler import install as manifests
from unhazzle.reconciler.sync import rbac

WRITES = ("POST", "PUT", "PATCH", "DELETE")


KINDS = "deploy,svc,hpa,pdb,ingress,networkpolicy,pvc,sa,resourcequota,limitrange,secret,configmap"


class Env:
    """One test's environment repo, proxy and reconciler runs."""

    def __init__(self, tmp: Path, cluster: Any, proxy: FaultProxy) -> None:
        self.tmp, self.cluster, self.proxy = tmp, cluster, proxy
        self.repo = EnvRepo(tmp / "env-repo")
        self.kubeconfig = proxy.kubeconfig(tmp / "proxy.kubeconfig")
        self.requests: list[tuple[str, str]] = []
        self.proxy.fault = self._record

    def _record(self, method: str, path: str, n: int) -> str | None:
        self.requests.append((method, path))
        return None

    def args(self, *extra: str) -> list[str]:
        return ["reconcile", "--repo", self.repo.url, "--kubeconfig", str(self.kubeconfig),
                "--cache-dir", str(self.tmp / "cache"), "--timeout", "120", *extra]  # fmt: skip

    def once(self, cli: Callable[..., Any], *extra: str) -> tuple[int, list[dict[str, Any]], str]:
        self.requests.clear()
        result = cli(*self.args("--once", *extra))
        events = [json.loads(line) for line in result.err.splitlines() if line.startswith("{")]
        return result.code, events, result.out

    def writes(self) -> list[tuple[str, str]]:
        return [(m, p) for m, p in self.requests if m in WRITES and "dryRun=All" not in p]

    def objects(self, namespace: str) -> dict[str, dict[str, Any]]:
        out = self.cluster.kubectl("get", KINDS, "-n", namespace, "-o", "json").stdout
        items = json.loads(out)["items"]
        return {
            f"{o['kind']}/{o['metadata']['name']}": o
            for o in items
            if not o["metadata"]["name"].startswith("kube-root-ca")
        }

    def status(self, namespace: str) -> dict[str, Any]:
        out = self.cluster.kubectl(
            "get", "configmap", "unhazzle-status", "-n", namespace, "-o", "json"
        ).stdout
        return dict(json.loads(json.loads(out)["data"]["status.json"]))

    def spawn(self, *extra: str) -> subprocess.Popen[str]:
        argv = [sys.executable, "-m", "unhazzle", *self.args(*extra)]
        return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def install_applier_role(cluster: Any) -> None:
    """What `unhazzle install-manifests` installs for the applier: its role and its policy."""
    items = [rbac.applier_cluster_role(), *rbac.applier_policy()]
    cluster.kubectl(
        "apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List", "items": items})
    )


def narrow_kubeconfig(cluster: Any, path: Path, *, shards: int = 1) -> Path:
    """The reconciler's own identity, exactly as installed: the RBAC objects of `unhazzle
    install-manifests [--shards N]`, and a token for its ServiceAccount from the TokenRequest API."""
    docs = manifests.objects(manifests.InstallOptions(shards=shards))
    rbac_docs = [d for d in docs if d["kind"] not in ("Deployment", "Service")]
    cluster.kubectl(
        "apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List", "items": rbac_docs})
    )
    token = cluster.kubectl("create", "token", "unhazzle-reconciler", "-n", "unhazzle-system").stdout.strip()
    admin = yaml.safe_load(Path(cluster.kubeconfig).read_text())
    config = {
        "apiVersion": "v1", "kind": "Config", "current-context": "narrow",
        "clusters": [{"name": "c", "cluster": admin["clusters"][0]["cluster"]}],
        "users": [{"name": "reconciler", "user": {"token": token}}],
        "contexts": [{"name": "narrow", "context": {"cluster": "c", "user": "reconciler"}}],
    }  # fmt: skip
    path.write_text(json.dumps(config))
    return path
