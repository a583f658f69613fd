"""The real machine's tests share these: the test app's images in a registry on loopback, and a
project published and reconciled as a user would (registered as a plugin in tests/conftest.py)."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, Result
from tests.support import polling
from tests.support.registries import push, running_registry
from unhazzle.devcluster.images import Image, Layout

RunCli = Callable[..., Result]
KEY = ROOT / "tests" / "fixtures" / "shop-cluster.agekey"
# What the image and the runtime set besides the spec: PATH from the image, HOME and HOSTNAME
# from the runtime, and the API server's address, which every kubelet adds whatever the pod says.
IMAGE_ENV = {"PATH", "HOME", "HOSTNAME"}


def settings(env: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k not in IMAGE_ENV and not k.startswith("KUBERNETES_")}


@dataclass
class Images:
    registry: str  # HOST:PORT on loopback, plain HTTP
    digest: str  # of the test app's image

    def ref(self, name: str) -> str:
        return f"{self.registry}/{name}"


@pytest.fixture(scope="module")
def images(real_cluster: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Images]:
    """The test app as an OCI image, under the names the specs use, in a registry on loopback;
    with a /var/cache, as distributions' images have, for the app that writes below it."""
    root = tmp_path_factory.mktemp("app-registry")
    binary = Path(real_cluster.state.bin_dir) / "testapp"
    layout = Layout(root / "layout")
    app = Image(user="10001:10001", entrypoint=["/app"], cmd=["serve"], ports=["8080/tcp"],
                files={"app": (binary.read_bytes(), 0o755), "var/cache/.keep": (b"", 0o644)})  # fmt: skip
    layout.add("testapp", app)
    with running_registry(root) as host:
        digest = ""
        for name in ("testapp:1", "shop-web:1.4.2", "shop-api:1", "shop-worker:1.4.2", "redis:7.2-alpine"):
            digest = push(
                layout.root, "testapp", f"{host}/{name}", fmt=None, extra=["--dest-tls-verify=false"]
            )
        yield Images(host, digest)


class Project:
    """A spec in a folder of its own, published to its own environment repo and reconciled into
    the real cluster, as a user would do it (each command in a process of its own)."""

    def __init__(self, folder: Path, cluster: Any, spec: str) -> None:
        self.folder, self.cluster = folder, cluster
        self.spec = folder / "unhazzle.yaml"
        self.spec.write_text(spec, encoding="utf-8")
        self.repo = folder / "env-repo.git"
        if not self.repo.exists():
            subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(self.repo)], check=True)

    def unhazzle(
        self, *args: str, input: str | None = None, timeout: float = 300
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "unhazzle", *args], input=input, capture_output=True,
                              text=True, timeout=timeout, cwd=self.folder, check=False)  # fmt: skip

    def publish_and_reconcile(self, *, timeout: int = 180) -> subprocess.CompletedProcess[str]:
        published = self.unhazzle("publish", "--spec", str(self.spec), "--to", str(self.repo))
        assert published.returncode == 0, published.stdout + published.stderr
        return self.unhazzle(
            "reconcile", "--once", "--repo", str(self.repo), "--kubeconfig", str(self.cluster.kubeconfig),
            "--no-leader-election", "--log-format", "text", "--timeout", str(timeout),
            "--cache-dir", str(self.folder / "reconciler"), "--secrets-key-file", str(KEY),
            timeout=timeout + 120,
        )  # fmt: skip

    def observe(self, cli: RunCli, *args: str) -> Result:
        return cli(*args, "--spec", str(self.spec), "--kubeconfig", str(self.cluster.kubeconfig))

    def pods(self, namespace: str, app: str) -> list[dict[str, Any]]:
        out = self.cluster.kubectl(
            "get", "pods", "-n", namespace, "-l", f"unhazzle.io/app={app}", "-o", "json"
        )
        return list(json.loads(out.stdout)["items"])

    def ready_ip(self, namespace: str, app: str) -> str:
        for pod in self.pods(namespace, app):
            statuses = pod["status"].get("containerStatuses") or []
            if (
                statuses
                and all(s.get("ready") for s in statuses)
                and not pod["metadata"].get("deletionTimestamp")
            ):
                return str(pod["status"]["podIP"])
        raise AssertionError(f"no ready instance of {app} in {namespace}")


def get(url: str) -> Any:
    """A request from this machine, which routes to the node's bridge, to an instance."""
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.loads(resp.read())


def wait_for(check: Callable[[], Any], *, timeout: float = 120.0) -> Any:
    """Real containers take longer than simulated ones: two minutes, asked every second."""
    return polling.wait_for(check, timeout=timeout, interval=1)


@pytest.fixture
def project(tmp_path: Path, real_cluster: Any) -> Iterator[Callable[[str], Project]]:
    made: list[Project] = []

    def make(spec: str) -> Project:
        made.append(Project(tmp_path, real_cluster, spec))
        return made[-1]

    yield make
    # The real machine has two cores: free what this test asked for before the next one asks.
    namespaces = json.loads(real_cluster.kubectl("get", "namespaces", "-o", "json").stdout)["items"]
    ours = [
        n["metadata"]["name"]
        for n in namespaces
        if n["metadata"].get("labels", {}).get("unhazzle.io/project")
    ]
    if ours:
        real_cluster.kubectl("delete", "namespace", *ours, "--wait=true", "--timeout=120s", check=False)
