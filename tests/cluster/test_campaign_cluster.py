"""The black-box campaign of issue 15, repeated as an attacker with write access to the
environment repo only, on the real control plane with real Git.

Each attack is one hand commit on top of a good revision of two environments, then one
`reconcile --once`. After every attack the same invariants are checked: nothing outside the
project's own namespaces changed (a hand-made namespace, a Service of `kube-system`), no volume
was deleted, the attack's change did not land, and the exit code says what may not be applied
(2). The table of docs/reconciler.md is this module's run:

    .venv/bin/pytest -m cluster tests/cluster/test_campaign_cluster.py -v
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.envrepo import EnvRepo, files

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(900)]

PROJECT = "camp"
PROD, STAGING = f"{PROJECT}/production", f"{PROJECT}/staging"
Files = dict[str, str]


@dataclass
class Attack:
    """One hand commit: the files it leaves in the repo, what it says, and what must be said."""

    edit: Callable[[Files], Files]
    said: str  # a phrase the refusal must contain
    message: str = "hand edit"
    links: dict[str, str] = field(default_factory=dict)
    lands: bool = False  # the change itself goes ahead; only the data it would delete is kept


def _docs(text: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(text) if d]


def _edit(path: str, kind: str, change: Callable[[dict[str, Any]], None]) -> Callable[[Files], Files]:
    """An edit of the first object of `kind` in `path`."""

    def edit(repo: Files) -> Files:
        docs = _docs(repo[path])
        change(next(d for d in docs if d["kind"] == kind))
        return {**repo, path: yaml.safe_dump_all(docs, sort_keys=False)}

    return edit


def _add(path: str, obj: dict[str, Any]) -> Callable[[Files], Files]:
    return lambda repo: {**repo, path: repo.get(path, "") + "\n---\n" + yaml.safe_dump(obj)}


def _pod(change: Callable[[dict[str, Any]], None]) -> Callable[[Files], Files]:
    return _edit(f"{PROD}/web.yaml", "Deployment", lambda d: change(d["spec"]["template"]["spec"]))


def _container(d: dict[str, Any]) -> dict[str, Any]:
    return dict(d["containers"][0])


OURS = {"app.kubernetes.io/managed-by": "unhazzle"}
NS = "camp-production"


def _kube_system(repo: Files) -> Files:
    folder = {
        p.replace(f"{PROD}/", "kube/system/"): t.replace(NS, "kube-system")
        for p, t in repo.items()
        if p.startswith(PROD)
    }
    return {**repo, **folder}


ATTACKS: dict[str, Attack] = {
    "a folder whose index names kube-system": Attack(_kube_system, "kube-system"),
    "an object in another project's namespace": Attack(
        _edit(f"{PROD}/web.yaml", "Service", lambda d: d["metadata"].update(namespace="victim")),
        "outside the environment's namespace",
    ),
    "a ClusterRoleBinding to cluster-admin": Attack(
        _add(
            f"{PROD}/web.yaml",
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRoleBinding",
                "metadata": {"name": "camp-admin", "labels": OURS},
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "ClusterRole",
                    "name": "cluster-admin",
                },
                "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": NS}],
            },
        ),
        "not a kind Unhazzle manages",
    ),
    "a privileged container": Attack(
        _pod(lambda p: p["containers"][0].setdefault("securityContext", {}).update(privileged=True)),
        "runs privileged",
    ),
    "the host's disk mounted": Attack(
        _pod(lambda p: p.setdefault("volumes", []).append({"name": "root", "hostPath": {"path": "/"}})),
        "mounts a host path",
    ),
    "the host's network": Attack(_pod(lambda p: p.update(hostNetwork=True)), "hostNetwork"),
    "an app run as the deploying identity": Attack(
        _pod(lambda p: p.update(serviceAccountName="unhazzle-applier")), "unhazzle-applier"
    ),
    "a Service opened on every machine": Attack(
        _edit(f"{PROD}/web.yaml", "Service", lambda d: d["spec"].update(type="NodePort")), "only ClusterIP"
    ),
    "pod security weakened on the namespace": Attack(
        _edit(
            f"{PROD}/_environment.yaml",
            "Namespace",
            lambda d: d["metadata"]["labels"].update({"pod-security.kubernetes.io/enforce": "privileged"}),
        ),
        "must be 'restricted'",
    ),
    "the reconciler's record forged": Attack(
        _edit(f"{PROD}/web.yaml", "Service", lambda d: d["metadata"].update(name="unhazzle-inventory")),
        "reserved for the reconciler's own record",
    ),
    "a link to another environment's file": Attack(
        lambda repo: {k: v for k, v in repo.items() if k != f"{PROD}/worker.yaml"},
        "symbolic link",
        links={f"{PROD}/worker.yaml": "../staging/worker.yaml"},
    ),
    "a 3 MB file": Attack(
        lambda repo: {**repo, f"{PROD}/junk.yaml": "# " + "x" * (3 * 1024 * 1024)}, "at most"
    ),
    "a value the API server refuses (cpu: lots)": Attack(
        _pod(lambda p: p["containers"][0]["resources"]["requests"].update(cpu="lots")),
        "refused by the cluster",
    ),
    "an object named like one made by hand": Attack(
        _add(
            f"{PROD}/web.yaml",
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "legacy", "namespace": NS, "labels": OURS},
                "spec": {"selector": {"app": "evil"}, "ports": [{"port": 80}]},
            },
        ),
        "not made by Unhazzle",
    ),
    "staging's address claimed by production": Attack(
        _edit(
            f"{PROD}/web.yaml",
            "Ingress",
            lambda d: d["spec"]["rules"][0].update(host="web.camp-staging.unhazzle.app"),
        ),
        "is already served by another environment",
    ),
    "every folder removed": Attack(lambda repo: {"README.md": "gone\n"}, "no environments"),
    "an app and its volume removed, no opt-in": Attack(
        lambda repo: {k: v for k, v in repo.items() if k != f"{PROD}/cache.yaml"},
        "Unhazzle-Allow-Delete-Volume",
        lands=True,
    ),
    "an app and its volume removed, another volume's opt-in": Attack(
        lambda repo: {k: v for k, v in repo.items() if k != f"{PROD}/cache.yaml"},
        "Unhazzle-Allow-Delete-Volume",
        message="hand edit\n\nUnhazzle-Allow-Delete-Volume: camp/staging/cache",
        lands=True,
    ),
    "an environment folder removed, no opt-in": Attack(
        lambda repo: {k: v for k, v in repo.items() if not k.startswith(STAGING)},
        "Unhazzle-Allow-Delete-Environment",
    ),
}


class Campaign:
    def __init__(self, cluster: Any, tmp: Path) -> None:
        self.cluster, self.tmp = cluster, tmp
        self.repo = EnvRepo(tmp / "env-repo")
        self.good = files(PROJECT, envs=("production", "staging"))

    def once(self) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-m", "unhazzle", "reconcile", "--repo", self.repo.url, "--once",
                "--kubeconfig", str(self.cluster.kubeconfig), "--cache-dir", str(self.tmp / "cache"),
                "--timeout", "120", "--no-leader-election"]  # fmt: skip
        return subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False)

    def uids(self) -> dict[str, str]:
        """Everything that must outlive every attack: what others own, and the project's data."""
        found = {}
        for namespace, kinds in (("kube-system", "service"), ("victim", "service,pvc,configmap"),
                                 (NS, "pvc"), ("camp-staging", "pvc")):  # fmt: skip
            out = self.cluster.kubectl("get", kinds, "-n", namespace, "-o", "json").stdout
            for item in json.loads(out)["items"]:
                meta = item["metadata"]
                if not meta["name"].startswith("kube-root-ca"):
                    found[f"{item['kind']}/{namespace}/{meta['name']}"] = meta["uid"]
        return found

    def templates(self) -> dict[str, str]:
        """Each app's running version: an attack that landed would change one."""
        out = self.cluster.kubectl("get", "deploy", "-n", NS, "-o", "json").stdout
        return {
            d["metadata"]["name"]: json.dumps(d["spec"]["template"], sort_keys=True)
            for d in json.loads(out)["items"]
        }


@pytest.fixture(scope="module")
def campaign(cluster: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Campaign]:
    kubectl = cluster.kubectl
    kubectl("create", "namespace", "victim")
    kubectl("create", "service", "clusterip", "theirs", "--tcp=80:8080", "-n", "victim")
    kubectl("create", "configmap", "theirs", "-n", "victim", "--from-literal=k=v")
    kubectl("create", "service", "clusterip", "uh-campaign", "--tcp=80:8080", "-n", "kube-system")
    run = Campaign(cluster, tmp_path_factory.mktemp("campaign"))
    run.repo.publish(run.good)
    first = run.once()
    assert first.returncode == 0, first.stderr[-3000:]
    kubectl("create", "service", "clusterip", "legacy", "--tcp=80:8080", "-n", NS)  # made by hand
    yield run
    kubectl("delete", "namespace", "victim", "camp-production", "camp-staging", "--wait=false", check=False)
    kubectl("delete", "service", "uh-campaign", "-n", "kube-system", check=False)


@pytest.mark.parametrize("name", list(ATTACKS))
def test_campaign_attack_is_refused_and_nothing_is_lost_or_wrongly_deleted(
    campaign: Campaign, name: str
) -> None:
    attack = ATTACKS[name]
    before, versions = campaign.uids(), campaign.templates()
    campaign.repo.publish(attack.edit(dict(campaign.good)), attack.message, links=attack.links)
    result = campaign.once()
    try:
        assert result.returncode == 2, result.stderr[-3000:]
        assert attack.said in result.stderr, result.stderr[-3000:]
        after = campaign.uids()
        assert {k: v for k, v in before.items() if after.get(k) != v} == {}  # nothing lost or replaced
        assert attack.lands or campaign.templates() == versions  # nothing of the attack landed
    finally:  # the good revision back, for the next attack
        campaign.repo.publish(campaign.good, "restore")
        restored = campaign.once()
        assert restored.returncode in (0, 2), restored.stderr[-3000:]
