"""A folder reaches only its own environment's namespace, and only when that namespace is
Unhazzle's (issue 15, point 1), on the real control plane with real Git.

The attack these reproduce: write access to the environment repo only, a hand commit adding
`kube/system/` whose index names `kube-system`. It must change nothing there, bind nothing there,
and, once the folder is gone, prune nothing that was there before. Then the same without our own
checks: the API server's admission policies (rbac.py) refuse it by themselves."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.envrepo import EnvRepo, files
from tests.support.reconcile import install_applier_role, narrow_kubeconfig
from unhazzle.reconciler.cluster.client import Client, Forbidden, connect
from unhazzle.reconciler.objects import Ref
from unhazzle.reconciler.run import applying, removal
from unhazzle.reconciler.source import git as source
from unhazzle.reconciler.source import guard
from unhazzle.reconciler.sync import rbac, tenancy
from unhazzle.reconciler.sync.ownership import adopt_command

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(600)]

OURS = {"app.kubernetes.io/managed-by": "unhazzle"}
NAMESPACES_ONLY_OURS = "the reconciler creates only namespaces labelled app.kubernetes.io/managed-by=unhazzle"
BINDS_ONLY_OURS = (
    "the reconciler binds unhazzle-applier only in namespaces labelled app.kubernetes.io/managed-by=unhazzle"
)
APPLIER_ONLY_OURS = "unhazzle-applier writes only in its own namespace, and only when it is labelled"


def _victim() -> dict[str, Any]:
    """A Service of the cluster's own, made before Unhazzle was ever installed."""
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "uh-victim", "namespace": "kube-system"},
            "spec": {"selector": {"app": "real"}, "ports": [{"port": 80}]}}  # fmt: skip


def _hostile_folder(*, with_namespace: bool = False) -> dict[str, str]:
    """kube/system/: the victim Service re-pointed at the attacker's app, and that app."""
    service = _victim()
    service["metadata"]["labels"] = dict(OURS)
    service["spec"]["selector"] = {"app": "evil"}
    labels = {**OURS, "app": "evil"}
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment",
                  "metadata": {"name": "uh-sneaky", "namespace": "kube-system", "labels": labels},
                  "spec": {"selector": {"matchLabels": {"app": "evil"}}, "template": {
                      "metadata": {"labels": labels},
                      "spec": {"containers": [{"name": "x", "image": "registry.example/evil:1"}]}}}}  # fmt: skip
    docs = [service, deployment]
    if with_namespace:
        ns_labels = {**OURS, "pod-security.kubernetes.io/enforce": "restricted",
                     "unhazzle.io/project": "kube", "unhazzle.io/environment": "system"}  # fmt: skip
        docs.insert(
            0,
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": "kube-system", "labels": ns_labels},
            },
        )
    return {
        "kube/system/_environment.yaml": yaml.safe_dump_all(docs),
        "kube/system/_index.json": json.dumps({"namespace": "kube-system"}),
    }


def _untouched(cluster: Any) -> None:
    """kube-system as it was: the victim's selector and labels, no app, no applier, no label."""
    live = json.loads(
        cluster.kubectl("get", "service", "uh-victim", "-n", "kube-system", "-o", "json").stdout
    )
    assert live["spec"]["selector"] == {"app": "real"}
    assert "labels" not in live["metadata"]
    for kind, name in [("deployment", "uh-sneaky"), ("serviceaccount", "unhazzle-applier"),
                       ("rolebinding", "unhazzle-applier"), ("configmap", "unhazzle-inventory")]:  # fmt: skip
        assert cluster.kubectl("get", kind, name, "-n", "kube-system", check=False).returncode != 0, kind
    labels = json.loads(cluster.kubectl("get", "namespace", "kube-system", "-o", "json").stdout)["metadata"]
    assert "app.kubernetes.io/managed-by" not in labels.get("labels", {})


def _args(repo: EnvRepo, kubeconfig: Path, tmp: Path) -> list[str]:
    return ["reconcile", "--repo", repo.url, "--kubeconfig", str(kubeconfig), "--once",
            "--cache-dir", str(tmp / "cache"), "--timeout", "120"]  # fmt: skip


def test_a_folder_cannot_reach_a_system_namespace_and_prunes_nothing_there(
    cluster: Any, tmp_path: Path, cli: Callable[..., Any]
) -> None:
    cluster.kubectl("apply", "-f", "-", input=json.dumps(_victim()))
    repo = EnvRepo(tmp_path / "env-repo")
    repo.publish(files("beside") | _hostile_folder())
    args = _args(repo, cluster.kubeconfig, tmp_path)
    try:
        result = cli(*args)
        assert result.code == 2, result.err[-3000:]
        assert "kube/system: refused: it would reach the namespace 'kube-system'" in result.err
        _untouched(cluster)
        # The refused folder holds back nothing else: the other environment converged.
        deployed = cluster.kubectl("get", "deploy", "-n", "beside-production", "-o", "name").stdout.split()
        assert len(deployed) == 4, result.err[-3000:]
        # The folder leaves: what was in kube-system before stays, exactly as it was.
        repo.publish(files("beside"))
        result = cli(*args)
        assert result.code == 0, result.err[-3000:]
        _untouched(cluster)
    finally:
        cluster.kubectl("delete", "service", "uh-victim", "-n", "kube-system", check=False)
        cluster.kubectl("delete", "namespace", "beside-production", "--wait=false", check=False)


def test_a_namespace_made_by_someone_else_is_refused_until_adopted_and_its_objects_are_never_taken(
    cluster: Any, tmp_path: Path, cli: Callable[..., Any]
) -> None:
    ns = "adopt-production"
    cluster.kubectl("create", "namespace", ns)
    cluster.kubectl("create", "configmap", "theirs", "-n", ns, "--from-literal=k=v")
    cluster.kubectl("create", "service", "clusterip", "web", "--tcp=80:8080", "-n", ns)
    repo = EnvRepo(tmp_path / "env-repo")
    repo.publish(files("adopt"))
    args = _args(repo, cluster.kubeconfig, tmp_path)
    try:
        result = cli(*args)
        assert result.code == 2, result.err[-3000:]
        command = adopt_command(ns, "adopt", "production")
        assert f"Namespace/{ns}: refused: it exists and was not made by Unhazzle" in result.err
        assert command in result.err
        labels = json.loads(cluster.kubectl("get", "namespace", ns, "-o", "json").stdout)["metadata"]
        assert "app.kubernetes.io/managed-by" not in labels.get("labels", {})
        assert cluster.kubectl("get", "serviceaccount", "unhazzle-applier", "-n", ns, check=False).returncode
        # An administrator hands it over with the documented step ...
        cluster.kubectl(*command.split()[1:])
        # ... which hands over the namespace, not what others made in it: the hand-made Service
        # named like an app is refused (never taken over, so never pruned), and nothing is applied.
        result = cli(*args)
        assert result.code == 2, result.err[-3000:]
        assert f"Service/{ns}/web: refused: it exists already and was not made by Unhazzle" in result.err
        web = json.loads(cluster.kubectl("get", "service", "web", "-n", ns, "-o", "json").stdout)
        assert (
            web["spec"]["selector"] == {"app": "web"}
            and "app.kubernetes.io/managed-by" not in web["metadata"]["labels"]
        )
        assert not cluster.kubectl("get", "deploy", "-n", ns, "-o", "name").stdout.split()
        # Its owner removes it; the environment converges around what else was there.
        cluster.kubectl("delete", "service", "web", "-n", ns)
        result = cli(*args)
        assert result.code == 0, result.err[-3000:]
        assert len(cluster.kubectl("get", "deploy", "-n", ns, "-o", "name").stdout.split()) == 4
        assert cluster.kubectl("get", "configmap", "theirs", "-n", ns, check=False).returncode == 0
    finally:
        cluster.kubectl("delete", "namespace", ns, "--wait=false", check=False)


def _checks_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """Our own checks wave the kube/system folder through, as if each had a bug."""
    for module in (source, guard, tenancy):
        monkeypatch.setattr(module, "reserved", lambda _ns: False)
    for module in (applying, removal):
        monkeypatch.setattr(module, "namespace_refusal", lambda *_a, **_k: "")
    monkeypatch.setattr(applying, "takeover_refusal", lambda *_a, **_k: "")
    monkeypatch.setattr(tenancy, "is_ours", lambda _obj: True)


def test_with_our_checks_off_the_api_server_keeps_the_installed_reconciler_out_of_kube_system(
    cluster: Any, tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    kubeconfig = narrow_kubeconfig(cluster, tmp_path / "narrow.kubeconfig")
    cluster.kubectl("apply", "-f", "-", input=json.dumps(_victim()))
    _checks_off(monkeypatch)
    repo = EnvRepo(tmp_path / "env-repo")
    repo.publish(_hostile_folder(with_namespace=True))
    try:
        probe = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "uh-probe"}}
        _in_force(connect(str(kubeconfig)), probe, NAMESPACES_ONLY_OURS)
        result = cli(*_args(repo, kubeconfig, tmp_path))
        assert result.code == 1, result.err[-3000:]
        assert BINDS_ONLY_OURS in result.err
        # Nor can it label kube-system as ours to get past that: the namespace's own policy.
        namespace = next(
            yaml.safe_load_all(_hostile_folder(with_namespace=True)["kube/system/_environment.yaml"])
        )
        with pytest.raises(Forbidden) as refused:
            connect(str(kubeconfig)).apply(namespace)
        assert NAMESPACES_ONLY_OURS in str(refused.value)
        _untouched(cluster)
    finally:
        cluster.kubectl("delete", "service", "uh-victim", "-n", "kube-system", check=False)


def _in_force(client: Client, obj: dict[str, Any], message: str) -> None:
    """Admission policies just installed take the API server a moment to load: ask with a dry run
    (admission runs, nothing is written) until `client` is refused `obj` with `message`."""
    deadline = time.monotonic() + 30
    while True:
        try:
            client.apply(obj, dry_run=True)
        except Forbidden as err:
            if message in str(err):
                return
        assert time.monotonic() < deadline, f"the policy saying '{message}' never came into force"
        time.sleep(0.5)


def test_an_applier_bound_by_mistake_outside_our_namespaces_is_refused_by_the_api_server(
    cluster: Any,
) -> None:
    ns = "stray-production"
    admin = connect(str(cluster.kubeconfig))
    install_applier_role(cluster)
    cluster.kubectl("create", "namespace", ns)
    try:
        # A binding our checks should never have made: the applier's rights, in someone's namespace.
        for obj in rbac.applier_objects(ns):
            admin.apply(obj)
        applier = admin.impersonating(rbac.applier_user(ns))
        config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": ns}}
        _in_force(applier, config, APPLIER_ONLY_OURS)
        with pytest.raises(Forbidden) as refused:
            applier.apply(config)
        assert refused.value.status == 403 and APPLIER_ONLY_OURS in str(refused.value)
        assert admin.get(Ref("v1", "ConfigMap", ns, "x")) is None
        # The label is what the API server goes by: on a namespace of ours the same write is fine.
        cluster.kubectl("label", "namespace", ns, "app.kubernetes.io/managed-by=unhazzle")
        applier.apply(config)
    finally:
        cluster.kubectl("delete", "namespace", ns, "--wait=false", check=False)


def test_an_address_another_environment_serves_is_never_claimed(
    cluster: Any, tmp_path: Path, cli: Callable[..., Any]
) -> None:
    """Two environment repos share the cluster and its ingress controller: the second to ask
    for an address is refused at its Ingress's line, the first keeps serving it."""
    first, second = EnvRepo(tmp_path / "first"), EnvRepo(tmp_path / "second")
    first.publish(files("hostfirst"))
    second.publish(
        {
            p: t.replace("hostsecond.example.com", "hostfirst.example.com")
            for p, t in files("hostsecond").items()
        }
    )
    try:
        assert cli(*_args(first, cluster.kubeconfig, tmp_path / "a")).code == 0
        result = cli(*_args(second, cluster.kubeconfig, tmp_path / "b"))
        assert result.code == 2, result.err[-3000:]
        assert "hostsecond/production/web.yaml:" in result.err
        assert (
            "the address hostfirst.example.com is already served by another environment "
            "(namespace 'hostfirst-production')" in result.err
        )
        # refused before its namespace existed: no status is written, and no 403 is reported for it
        assert "status.write_failed" not in result.err and "status.not_written" in result.err
        theirs = cluster.kubectl("get", "ingress", "-n", "hostsecond-production", "-o", "name").stdout
        assert not theirs.split()
        hosts = cluster.kubectl(
            "get", "ingress", "web", "-n", "hostfirst-production", "-o", "jsonpath={.spec.rules[*].host}"
        ).stdout
        assert hosts == "hostfirst.example.com"
    finally:
        for ns in ("hostfirst-production", "hostsecond-production"):
            cluster.kubectl("delete", "namespace", ns, "--wait=false", check=False)


def test_two_environments_asking_for_one_address_in_one_pass_are_first_come_first_served(
    cluster: Any, tmp_path: Path, cli: Callable[..., Any]
) -> None:
    """The cluster's addresses are listed once a pass, and again after any write: staging,
    applied after production in the same pass, sees the address production has just taken."""
    repo = EnvRepo(tmp_path / "twin")
    twins = files("twin", envs=("production", "staging"))
    repo.publish(
        {p: t.replace("web.twin-staging.unhazzle.app", "twin.example.com") for p, t in twins.items()}
    )
    try:
        result = cli(*_args(repo, cluster.kubeconfig, tmp_path))
        assert result.code == 2, result.err[-3000:]
        assert "twin/staging/web.yaml:" in result.err
        assert (
            "the address twin.example.com is already served by another environment "
            "(namespace 'twin-production')" in result.err
        )
        theirs = cluster.kubectl("get", "ingress", "-n", "twin-staging", "-o", "name", check=False).stdout
        assert not theirs.split()
    finally:
        for ns in ("twin-production", "twin-staging"):
            cluster.kubectl("delete", "namespace", ns, "--wait=false", check=False)
