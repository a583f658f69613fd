"""Least privilege when applying, proved by the real API server (issue 10, point 2).

Each environment is applied as its own ServiceAccount (`unhazzle-applier`, impersonated), whose
rights are the allowlisted kinds in its own namespace. These tests take our own check (guard.py)
out of the way and show the API server itself refusing what the guard would have refused; then
run the reconciler with exactly the rights `unhazzle install-manifests` gives it."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.envrepo import EnvRepo, files
from tests.support.reconcile import install_applier_role, narrow_kubeconfig
from unhazzle.reconciler.cluster.client import Client, Forbidden, connect
from unhazzle.reconciler.objects import Ref
from unhazzle.reconciler.source import guard
from unhazzle.reconciler.sync import rbac
from unhazzle.reconciler.sync.ownership import owner_labels
from unhazzle.reconciler.sync.tenancy import Tenancy

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(600)]

CLUSTER_ADMIN_BINDING = {
    "apiVersion": "rbac.authorization.k8s.io/v1",
    "kind": "RoleBinding",
    "metadata": {"name": "take-over", "labels": {"app.kubernetes.io/managed-by": "unhazzle"}},
    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
    "subjects": [{"kind": "ServiceAccount", "name": "default"}],
}


def _config_map(namespace: str, name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": namespace}}


def _deployment(namespace: str) -> dict[str, Any]:
    labels = {"app": "sneaky"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "sneaky", "namespace": namespace},
        "spec": {
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "x", "image": "x"}]},
            },
        },
    }


def _owner_labels(namespace: str) -> list[str]:
    project, _, environment = namespace.partition("-")
    return [f"{k}={v}" for k, v in owner_labels(project, environment).items()]


def _refused(client: Client, obj: dict[str, Any]) -> str:
    with pytest.raises(Forbidden) as caught:
        client.apply(obj)
    assert caught.value.status == 403
    return str(caught.value)


@pytest.fixture
def admin(cluster: Any) -> Iterator[Client]:
    yield connect(str(cluster.kubeconfig))


def test_applier_is_refused_by_the_api_server_outside_its_rights(cluster: Any, admin: Client) -> None:
    for ns in ("rbac-production", "other-production"):  # two environments' namespaces, as made by Unhazzle
        cluster.kubectl("create", "namespace", ns, check=False)
        cluster.kubectl("label", "namespace", ns, *_owner_labels(ns))
    tenancy = Tenancy(admin)
    applier = tenancy.prepare("rbac-production")
    assert applier is not None and applier.user == "system:serviceaccount:rbac-production:unhazzle-applier"
    try:
        # The identity is live and can do its job: an allowlisted kind in its own namespace.
        applier.apply(_config_map("rbac-production", "allowed"))
        # Our check is not asked here: these go straight to the API server, which refuses them.
        role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                "metadata": {"name": "rbac-escape"}, "rules": []}  # fmt: skip
        assert "clusterroles" in _refused(applier, role)
        binding = {
            **CLUSTER_ADMIN_BINDING,
            "metadata": {**CLUSTER_ADMIN_BINDING["metadata"], "namespace": "rbac-production"},
        }
        assert "rolebindings" in _refused(applier, binding)
        assert "other-production" in _refused(applier, _deployment("other-production"))
        _refused(applier, _config_map("other-production", "reach"))
        _refused(applier, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "rbac-new"}})
        # ... and it cannot widen its own rights by editing its binding or role.
        own = rbac.applier_objects("rbac-production")[1]
        _refused(applier, {**own, "roleRef": {**own["roleRef"], "name": "cluster-admin"}})
        _refused(
            applier,
            {
                **rbac.applier_cluster_role(),
                "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}],
            },
        )
    finally:
        gone = cluster.kubectl("get", "clusterrole", "rbac-escape", check=False)
        assert gone.returncode != 0
        assert (
            cluster.kubectl(
                "get", "rolebinding", "take-over", "-n", "rbac-production", check=False
            ).returncode
            != 0
        )
        cluster.kubectl("delete", "namespace", "rbac-production", "other-production", "--wait=false")


def test_reconcile_with_the_guard_switched_off_still_cannot_grant_cluster_admin(
    cluster: Any, tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Our own check waves everything through; the API server is what stops the RoleBinding.
    monkeypatch.setattr(guard, "_reasons", lambda *_a, **_k: iter(()))
    repo = EnvRepo(tmp_path / "env-repo")
    binding = {
        **CLUSTER_ADMIN_BINDING,
        "metadata": {**CLUSTER_ADMIN_BINDING["metadata"], "namespace": "noguard-production"},
    }
    repo.publish(files("noguard") | {"noguard/production/take-over.yaml": yaml.safe_dump(binding)})
    args = ["reconcile", "--repo", repo.url, "--kubeconfig", str(cluster.kubeconfig), "--once",
            "--cache-dir", str(tmp_path / "cache"), "--timeout", "60"]  # fmt: skip
    try:
        result = cli(*args)
        assert result.code == 1
        errors = [json.loads(line) for line in result.err.splitlines() if line.startswith("{")]
        refused = [
            e
            for ev in errors
            for e in ev.get("errors") or []
            if "RoleBinding/noguard-production/take-over" in e
        ]
        assert refused and "HTTP 403" in refused[0], result.err[-2000:]
        assert "the cluster refused this: not allowed here" in refused[0]
        found = cluster.kubectl("get", "rolebinding", "take-over", "-n", "noguard-production", check=False)
        assert found.returncode != 0
        # a new environment: what the pass had made of the revision before the refusal is gone again
        left = cluster.kubectl("get", "services,networkpolicies", "-n", "noguard-production", "-o", "name")
        assert left.stdout.strip() == "", left.stdout
    finally:
        cluster.kubectl("delete", "namespace", "noguard-production", "--wait=false", check=False)


def test_reconcile_converges_with_only_the_installed_rights(
    cluster: Any, tmp_path: Path, cli: Callable[..., Any]
) -> None:
    kubeconfig = narrow_kubeconfig(cluster, tmp_path / "narrow.kubeconfig")
    repo = EnvRepo(tmp_path / "env-repo")
    repo.publish(files("narrow"))
    args = ["reconcile", "--repo", repo.url, "--kubeconfig", str(kubeconfig),
            "--cache-dir", str(tmp_path / "cache"), "--timeout", "120"]  # fmt: skip
    try:
        result = cli(*args, "--once")
        assert result.code == 0, result.err[-3000:]
        deployments = cluster.kubectl("get", "deploy", "-n", "narrow-production", "-o", "name").stdout.split()
        assert len(deployments) == 4
        assert (
            cluster.kubectl("get", "rolebinding", "unhazzle-applier", "-n", "narrow-production").returncode
            == 0
        )
        # Without impersonation the same identity cannot write a single app...
        own = connect(str(kubeconfig))
        assert "deployments" in _refused(own, _deployment("narrow-production"))
        _refused(own, {**_config_map("narrow-production", "x"), "kind": "Secret"})
        role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                "metadata": {"name": "narrow-escape"}, "rules": []}  # fmt: skip
        _refused(own, role)
        # ... nor bind anything but the applier role, nor impersonate anyone else.
        binding = {
            **CLUSTER_ADMIN_BINDING,
            "metadata": {"name": "unhazzle-applier", "namespace": "narrow-production"},
        }
        _refused(own, binding)
        _refused(
            own.impersonating("system:serviceaccount:kube-system:default"), _config_map("kube-system", "x")
        )
        # ... and so a pass that does not impersonate fails, with the refusal in the log.
        repo.publish(files("narrow", edit=("shop-web:1.4.2", "shop-web:1.4.3")))
        result = cli(*args, "--once", "--no-impersonation")
        assert result.code == 1 and "HTTP 403" in result.err
    finally:
        cluster.kubectl("delete", "namespace", "narrow-production", "--wait=false", check=False)


def test_dry_run_of_a_new_environment_shows_everything_and_creates_nothing(
    cluster: Any, tmp_path: Path, cli: Callable[..., Any]
) -> None:
    # Before its first real pass an environment has no applier yet (nothing may be written in a
    # dry run, not even that): its objects are all shown as created, and nothing is made.
    install_applier_role(cluster)
    repo = EnvRepo(tmp_path / "env-repo")
    repo.publish(files("dryfresh"))
    args = ["reconcile", "--repo", repo.url, "--kubeconfig", str(cluster.kubeconfig), "--dry-run",
            "--cache-dir", str(tmp_path / "cache")]  # fmt: skip
    result = cli(*args)
    assert result.code == 0, result.err[-3000:]
    assert "dryfresh/production (namespace dryfresh-production)" in result.out
    assert "23 to change" in result.out and "created: Deployment/dryfresh-production/web" in result.out
    assert cluster.kubectl("get", "namespace", "dryfresh-production", check=False).returncode != 0


def test_dry_run_of_an_environment_applied_before_impersonation_shows_what_really_changes(
    cluster: Any, tmp_path: Path, cli: Callable[..., Any]
) -> None:
    # Applied by a reconciler that did not impersonate (an older version, or --no-impersonation):
    # the namespace has no applier yet, and a dry run may not write one. It looks with its own
    # credentials instead of showing every object as new.
    install_applier_role(cluster)
    repo = EnvRepo(tmp_path / "env-repo")
    repo.publish(files("dryold"))
    args = ["reconcile", "--repo", repo.url, "--kubeconfig", str(cluster.kubeconfig),
            "--cache-dir", str(tmp_path / "cache")]  # fmt: skip
    assert cli(*args, "--once", "--no-impersonation").code == 0
    assert cluster.kubectl("get", "serviceaccount", "unhazzle-applier", "-n", "dryold-production",
                           check=False).returncode != 0  # fmt: skip
    repo.publish(files("dryold", edit=("shop-web:1.4.2", "shop-web:1.4.3")))
    result = cli(*args, "--dry-run")
    assert result.code == 0, result.err[-3000:]
    assert ": 1 to change, 0 to delete, 22 unchanged" in result.out
    assert "configured: Deployment/dryold-production/web" in result.out
    assert cluster.kubectl("get", "serviceaccount", "unhazzle-applier", "-n", "dryold-production",
                           check=False).returncode != 0  # fmt: skip


def test_the_reconciler_deletes_a_previews_namespace_and_no_other(
    cluster: Any, admin: Client, tmp_path: Path
) -> None:
    """A preview is removed whole, namespace included; the API server itself refuses the
    reconciler's identity any other namespace, ours or the cluster's."""
    narrow = narrow_kubeconfig(cluster, tmp_path / "narrow.kubeconfig")
    own = connect(str(narrow))

    def namespace(name: str, badge: str) -> dict[str, Any]:
        labels = {**owner_labels("rbacpv", name.removeprefix("rbacpv-")), "unhazzle.io/badge": badge}
        if badge == "preview" and name != "rbacpv-review":
            labels["unhazzle.io/preview-environment"] = "true"
        return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}

    try:
        own.apply(namespace("rbacpv-pr-1", "preview"))
        own.apply(namespace("rbacpv-staging", "staging"))
        # someone else's, labelled a preview but not Unhazzle's
        foreign = namespace("rbacpv-foreign", "preview")
        del foreign["metadata"]["labels"]["app.kubernetes.io/managed-by"]
        admin.apply(foreign)
        # and one named as the cluster's own, though labelled as a preview of ours
        admin.apply(
            {
                **namespace("kube-rbacpv", "preview"),
                "metadata": {
                    "name": "kube-rbacpv",
                    "labels": namespace("rbacpv-pr-1", "preview")["metadata"]["labels"],
                },
            }
        )
        # The policy just installed takes the API server a moment to load: a dry run (admission
        # runs, nothing is deleted) until it refuses.
        deadline = time.monotonic() + 30
        while (
            "deletes only a preview's"
            not in cluster.kubectl(
                "--kubeconfig",
                str(narrow),
                "delete",
                "namespace",
                "rbacpv-staging",
                "--dry-run=server",
                check=False,
            ).stderr
        ):
            assert time.monotonic() < deadline, "the policy never came into force"
            time.sleep(0.5)
        # and an environment of the spec merely badged preview: not disposable
        own.apply(namespace("rbacpv-review", "preview"))
        for name in ("rbacpv-staging", "rbacpv-review", "rbacpv-foreign", "kube-rbacpv"):
            with pytest.raises(Forbidden) as caught:
                own.delete(Ref("v1", "Namespace", "", name))
            assert caught.value.status == 403 and "deletes only a preview's" in str(caught.value), name
        # Nor may it make an environment's namespace a preview's, to delete it afterwards.
        relabelled = namespace("rbacpv-staging", "staging")
        relabelled["metadata"]["labels"]["unhazzle.io/preview-environment"] = "true"
        with pytest.raises(Forbidden) as caught:
            own.apply(relabelled)
        assert "set when it is created, never after" in str(caught.value)
        own.delete(Ref("v1", "Namespace", "", "rbacpv-pr-1"))
        gone = admin.get(Ref("v1", "Namespace", "", "rbacpv-pr-1"))
        assert gone is None or gone["metadata"].get("deletionTimestamp"), gone
        assert admin.get(Ref("v1", "Namespace", "", "rbacpv-staging")) is not None
    finally:
        cluster.kubectl("delete", "namespace", "rbacpv-pr-1", "rbacpv-staging", "rbacpv-foreign", "kube-rbacpv", "rbacpv-review",
                        "--wait=false",
                        check=False)  # fmt: skip
