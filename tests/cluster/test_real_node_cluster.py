"""Apps that really run: the local cluster's real machine (containerd, runc, the kubelet, a bridge,
kube-proxy, CoreDNS) runs the images the tests build themselves (unhazzle/devcluster/builder/gomod/node/testapp:
an HTTP server that answers with what its process sees, and crashes, runs out of memory or fails
its health check on request), pulled from a registry on loopback. Everything goes the way a user's
apps go: `unhazzle publish` to an environment repo, `unhazzle reconcile`, then `status`, `events`,
`logs` and `metrics`.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cluster.realnode import KEY, Images, Project, RunCli, get, settings, wait_for
from tests.conftest import ROOT
from tests.support.registries import push
from unhazzle.devcluster import node as realnode

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(900)]
SHOP = ROOT / "examples" / "shop"


def shop_spec(images: Images) -> str:
    """The bundled example, production only (the machine has two cores), its images the test
    app, and the test app told the ports the example's images would listen on."""
    text = (SHOP / "unhazzle.yaml").read_text(encoding="utf-8")
    text = re.sub(r"\n  staging:\n(    .*\n|      .*\n|        .*\n|          .*\n)*", "\n", text, count=1)
    text = re.sub(r"\npreviews:.*\n(  .*\n)*", "\n", text, count=1)  # they copy staging
    text = text.replace("ghcr.io/acme/shop-web:1.4.2", images.ref("shop-web:1.4.2"))
    text = re.sub(r"ghcr\.io/acme/shop-api@sha256:[0-9a-f]+", images.ref(f"shop-api@{images.digest}"), text)
    text = text.replace("ghcr.io/acme/shop-worker:1.4.2", images.ref("shop-worker:1.4.2"))
    text = text.replace("redis:7.2-alpine", images.ref("redis:7.2-alpine"))
    text = text.replace('command: ["python", "-m", "shop.worker"]', 'command: ["/app", "shop.worker"]')
    text = text.replace("      MAX_CONNECTIONS: 50\n", "      MAX_CONNECTIONS: 50\n      PORT: 9000\n")
    text = text.replace("    port: 6379\n", "    port: 6379\n    env: {PORT: 6379}\n")
    assert "staging" not in text.split("apps:", 1)[0] and "ghcr.io" not in text
    return text


def test_the_shop_runs_and_its_apps_reach_each_other_by_their_internal_urls(
    project: Callable[[str], Project], images: Images, cli: RunCli
) -> None:
    shop = project(shop_spec(images))
    shutil.copytree(SHOP / "unhazzle.secrets", shop.folder / "unhazzle.secrets")
    values = {("web", "SESSION_KEY"): "s3ssion $(HOME) 'x'", ("api", "STRIPE_API_KEY"): "sk_test_42"}
    for (app, name), value in values.items():
        done = shop.unhazzle("secrets", "set", "--env", "production", app, name, input=value)
        assert done.returncode == 0, done.stderr
    done = shop.unhazzle("secrets", "set", "--env", "production", "api", "DATABASE_URL",
                         input="postgres://shop:pw@db.example.com/shop")  # fmt: skip
    assert done.returncode == 0, done.stderr

    reconciled = shop.publish_and_reconcile()
    assert reconciled.returncode == 0, reconciled.stdout + reconciled.stderr
    assert "shop/production: healthy" in reconciled.stdout, reconciled.stdout

    ns = "shop-production"
    web = get(f"http://{shop.ready_ip(ns, 'web')}:8080/")
    assert settings(web["env"]) == {
        "API_URL": "http://api.shop-production.svc.cluster.local:9000",
        "CACHE_URL": "redis://cache.shop-production.svc.cluster.local:6379",
        "LOG_LEVEL": "info",
        "SESSION_KEY": "s3ssion $(HOME) 'x'",  # as written: no $(...) expansion on the way
    }
    assert web["uid"] == 10001 and web["args"] == []
    # From inside web, by the URL the spec gave it, the way the app's own code would call it.
    answer = get(f"http://{shop.ready_ip(ns, 'web')}:8080/fetch?url={web['env']['API_URL']}/")
    assert answer["status"] == 200, answer
    api = json.loads(answer["body"])
    assert settings(api["env"]) == {
        "LOG_LEVEL": "info", "MAX_CONNECTIONS": "50", "PORT": "9000",
        "STRIPE_API_KEY": "sk_test_42", "DATABASE_URL": "postgres://shop:pw@db.example.com/shop",
    }  # fmt: skip
    short = get(f"http://{shop.ready_ip(ns, 'worker')}:8080/fetch?url=http://api:9000/ready")
    assert short == {"status": 200, "body": "ok\n"}  # the short internal URL the plan prints
    cache = get(f"http://{shop.ready_ip(ns, 'cache')}:6379/")
    assert cache["args"] == ["--save", "60", "1", "--dir", "/data"]
    worker = get(f"http://{shop.ready_ip(ns, 'worker')}:8080/")
    assert worker["args"] == ["shop.worker"] and worker["env"]["QUEUE"] == "orders"

    # Healthy once the autoscaler has the instances' first real CPU readings (within a minute).
    healthy = wait_for(lambda: "production (production): healthy" in shop.observe(cli, "status").out)
    assert healthy, shop.observe(cli, "status").out
    logs = shop.observe(cli, "logs", "web", "--env", "production")
    assert logs.code == 0 and "testapp: GET /fetch" in logs.out, logs.out


SCENARIOS = """\
version: 1
project: rn
region: fsn1
environments: {production: {}}
apps:
  crash:
    image: IMAGE
    port: 8080
    command: ["/app", "crash"]
    instances: {min: 1, max: 1}
    size: {cpu: 0.1, memory: 128MB}
  hog:
    image: IMAGE
    port: 8080
    command: ["/app", "hog"]
    instances: {min: 1, max: 1}
    size: {cpu: 0.1, memory: 64MB}
  sick:
    image: IMAGE
    port: 8080
    env: {TESTAPP_SICK: "yes"}
    health: {path: /healthz}
    instances: {min: 1, max: 1}
    size: {cpu: 0.1, memory: 128MB}
  gone:
    image: REGISTRY/testapp:9.9.9
    port: 8080
    instances: {min: 1, max: 1}
    size: {cpu: 0.1, memory: 128MB}
  fine:
    image: IMAGE
    port: 8080
    args: ["--greeting", "$(HOME) costs 5$ and $${NOT_A_SETTING}"]
    env: {WEIRD: "$(HOME) 100% $${X}", PASSWORD: "a$$b", CMD: "echo $(date)"}
    health: {path: /healthz}
    instances: {min: 1, max: 1}
    size: {cpu: 0.1, memory: 128MB}
"""


@pytest.fixture(scope="module")
def failing(real_cluster: Any, images: Images, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    """Apps that really crash, run out of memory, fail their health check, name an image that
    does not exist, or run fine."""
    rn = Project(
        tmp_path_factory.mktemp("rn"),
        real_cluster,
        SCENARIOS.replace("IMAGE", images.ref("testapp:1")).replace("REGISTRY", images.registry),
    )
    reconciled = rn.publish_and_reconcile(timeout=60)
    assert reconciled.returncode != 0, reconciled.stdout  # four of five never become healthy
    yield rn
    real_cluster.kubectl("delete", "namespace", "rn-production", "--wait=true", "--timeout=120s", check=False)


def findings(cli: RunCli, rn: Project) -> dict[str, list[str]]:
    result = rn.observe(cli, "status", "--output", "json")
    assert result.code == 0, result.err
    apps = json.loads(result.out)["environments"][0]["apps"]
    return {a["name"]: [f"{f['message']}: {f['hint']}" for f in a["findings"]] for a in apps}


EXPECTED = [
    ("crash", "keeps crashing on start (exit code 3): see unhazzle logs crash --previous"),
    ("hog", "ran out of memory at its 64 MB limit"),
    ("sick", "not answering its health check at /healthz: see unhazzle logs sick"),
    ("gone", "image cannot be downloaded: tag 9.9.9 not found"),
]


@pytest.mark.parametrize(("app", "message"), EXPECTED, ids=[e[0] for e in EXPECTED])
def test_a_real_failure_shows_in_status_in_plain_words(
    cli: RunCli, failing: Project, app: str, message: str
) -> None:
    def said() -> bool:
        return any(line.startswith(message) for line in findings(cli, failing)[app])

    assert wait_for(said), findings(cli, failing)[app]


def test_a_real_failure_shows_in_events_and_logs(cli: RunCli, failing: Project) -> None:
    wanted = ["production/crash: keeps crashing; waiting before the next restart",
              "production/sick: not answering its health check (answered 503)"]  # fmt: skip
    assert wait_for(lambda: all(w in failing.observe(cli, "events").out for w in wanted)), failing.observe(
        cli, "events"
    ).out
    logs = wait_for(lambda: (r := failing.observe(cli, "logs", "crash", "--previous")).code == 0 and r.out)
    assert "testapp: fatal: crashing on purpose" in logs
    hog = failing.observe(cli, "logs", "hog").out
    assert "testapp: holding 16 MiB" in hog


def test_settings_and_arguments_reach_the_process_exactly_as_written(failing: Project) -> None:
    seen = get(f"http://{failing.ready_ip('rn-production', 'fine')}:8080/")
    # As docs/spec.md promises: arguments byte for byte; settings too, but for `$${`, a literal `${`.
    assert seen["args"] == ["--greeting", "$(HOME) costs 5$ and $${NOT_A_SETTING}"]
    assert seen["env"]["WEIRD"] == "$(HOME) 100% ${X}"
    assert seen["env"]["PASSWORD"] == "a$$b" and seen["env"]["CMD"] == "echo $(date)"
    assert seen["uid"] == 10001


def test_metrics_show_the_real_use_of_a_running_app(cli: RunCli, failing: Project) -> None:
    def measured() -> Any:
        result = failing.observe(cli, "metrics", "fine", "--output", "json")
        return result.code == 0 and json.loads(result.out)

    data = wait_for(measured, timeout=90)
    assert data, failing.observe(cli, "metrics", "fine").out
    text = json.dumps(data)
    assert '"memory' in text, text


GATED = """\
version: 1
project: gate
region: fsn1
environments: {production: {}}
apps:
  web:
    image: IMAGE
    port: 8080
    env: {VERSION: "1"}
    health: {path: /healthz}
    instances: {min: 1, max: 1}
    size: {cpu: 0.1, memory: 128MB}
"""


def test_health_checks_gate_a_rollout_the_old_version_keeps_serving(
    project: Callable[[str], Project], images: Images, cli: RunCli
) -> None:
    gate = project(GATED.replace("IMAGE", images.ref("testapp:1")))
    assert gate.publish_and_reconcile().returncode == 0
    before = gate.ready_ip("gate-production", "web")
    gate.spec.write_text(gate.spec.read_text().replace('VERSION: "1"', 'VERSION: "2", TESTAPP_SICK: "yes"'))
    rolled = gate.publish_and_reconcile(timeout=45)
    assert rolled.returncode != 0, rolled.stdout
    assert "app web: new version not ready yet; the previous one still serves" in rolled.stdout
    # The new version never answered its health check, so it never took the old one's place.
    assert get(f"http://{before}:8080/")["env"]["VERSION"] == "1"
    assert [p["status"]["podIP"] for p in gate.pods("gate-production", "web") if _ready(p)] == [before]
    status = gate.observe(cli, "status")
    assert "not answering its health check at /healthz" in status.out


def _ready(pod: dict[str, Any]) -> bool:
    return all(s.get("ready") for s in pod["status"].get("containerStatuses") or [{}])


ISOLATED = """\
version: 1
project: PROJECT
region: fsn1
environments: {production: {}}
apps:
  front:
    image: IMAGE
    port: 8080
    instances: {min: 1, max: 1}
    size: {cpu: 0.1, memory: 128MB}
  back:
    image: IMAGE
    port: 8080
    instances: {min: 1, max: 1}
    size: {cpu: 0.1, memory: 128MB}
"""


def test_network_policies_let_the_environment_in_and_keep_other_projects_out(
    real_cluster: Any, images: Images, tmp_path: Path
) -> None:
    def deploy(name: str) -> Project:
        folder = tmp_path / name
        folder.mkdir()
        spec = ISOLATED.replace("PROJECT", name).replace("IMAGE", images.ref("testapp:1"))
        made = Project(folder, real_cluster, spec)
        assert made.publish_and_reconcile().returncode == 0
        return made

    try:
        iso, other = deploy("iso"), deploy("other")
        front, intruder = iso.ready_ip("iso-production", "front"), other.ready_ip("other-production", "front")
        back_url = "http://back.iso-production.svc.cluster.local:8080/healthz"
        assert get(f"http://{front}:8080/fetch?url=http://back:8080/healthz") == {
            "status": 200,
            "body": "ok\n",
        }
        refused = get(f"http://{intruder}:8080/fetch?url={back_url}")
        assert "error" in refused, refused  # dropped: the connection times out
        back_ip = iso.ready_ip("iso-production", "back")
        assert "error" in get(f"http://{intruder}:8080/fetch?url=http://{back_ip}:8080/healthz")
        # Its own environment's back is reachable from the other project's front.
        own = get(f"http://{intruder}:8080/fetch?url=http://back:8080/healthz")
        assert own == {"status": 200, "body": "ok\n"}
        # And it is the policies that keep it out: without them the same request gets through.
        real_cluster.kubectl("delete", "networkpolicy", "--all", "-n", "iso-production")
        through = wait_for(
            lambda: get(f"http://{intruder}:8080/fetch?url={back_url}").get("status") == 200, timeout=20
        )
        assert through
    finally:
        real_cluster.kubectl("delete", "namespace", "iso-production", "other-production", "--wait=true",
                             "--timeout=120s", check=False)  # fmt: skip


@pytest.fixture(scope="module")
def reconciler_image(images: Images, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The reconciler's image, built from the Containerfile by scripts/reconciler_image.py (no
    container engine here), in the test registry."""
    out = tmp_path_factory.mktemp("reconciler-image") / "layout"
    built = subprocess.run([sys.executable, str(ROOT / "scripts" / "reconciler_image.py"), str(out)],
                           capture_output=True, text=True, timeout=900, check=False)  # fmt: skip
    assert built.returncode == 0, built.stdout + built.stderr
    ref = images.ref("unhazzle-reconciler:test")
    push(out, "reconciler", ref, fmt=None, extra=["--dest-tls-verify=false"])
    return ref


def test_the_reconciler_installed_in_the_cluster_converges_the_shop(
    real_cluster: Any, images: Images, reconciler_image: str, tmp_path: Path, cli: RunCli
) -> None:
    shop = Project(tmp_path, real_cluster, shop_spec(images))
    shutil.copytree(SHOP / "unhazzle.secrets", shop.folder / "unhazzle.secrets")
    published = shop.unhazzle("publish", "--spec", str(shop.spec), "--to", str(shop.repo))
    assert published.returncode == 0, published.stderr
    # A Git server the instances reach: on the node's bridge address, as a real one is reachable.
    port = _free_port()
    daemon = subprocess.Popen(["git", "daemon", "--reuseaddr", "--export-all", f"--base-path={tmp_path}",
                               f"--listen={realnode.GATEWAY}", f"--port={port}", str(tmp_path)])  # fmt: skip
    system = "unhazzle-system"
    try:
        real_cluster.kubectl("create", "secret", "generic", "cluster-age-key", "-n", system,
                             f"--from-file=key.txt={KEY}")  # fmt: skip
        manifests = shop.unhazzle(
            "install-manifests", "--repo", f"git://{realnode.GATEWAY}:{port}/env-repo.git", "--image",
            reconciler_image, "--secrets-key-secret", "cluster-age-key",
        )  # fmt: skip
        assert manifests.returncode == 0, manifests.stderr
        real_cluster.kubectl("apply", "-f", "-", input=manifests.stdout)

        def converged() -> bool:
            return "production (production): healthy" in shop.observe(cli, "status").out

        assert wait_for(converged, timeout=300), (
            shop.observe(cli, "status").out
            + real_cluster.kubectl(
                "logs", "-n", system, "deploy/unhazzle-reconciler", "--tail=40", check=False
            ).stdout
        )
        # Its lease names one of its two instances; its metrics answer on their port.
        lease = json.loads(real_cluster.kubectl("get", "lease", "-n", system, "-o", "json").stdout)["items"]
        holders = [item["spec"].get("holderIdentity", "") for item in lease]
        assert any(h.startswith("unhazzle-reconciler-") for h in holders), holders
        pod = next(p for p in json.loads(real_cluster.kubectl(
            "get", "pods", "-n", system, "-o", "json").stdout)["items"] if p["status"].get("podIP"))  # fmt: skip
        with urllib.request.urlopen(f"http://{pod['status']['podIP']}:9090/metrics", timeout=10) as resp:
            assert b"unhazzle_" in resp.read()
    finally:
        daemon.terminate()
        daemon.wait(timeout=10)
        real_cluster.kubectl("delete", "deployment", "unhazzle-reconciler", "-n", system, check=False)
        real_cluster.kubectl(
            "delete", "namespace", "shop-production", "--wait=true", "--timeout=120s", check=False
        )


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


WRITER = """\
version: 1
project: disk
region: fsn1
environments: {production: {}}
apps:
  writer:
    image: IMAGE
    port: 8080
    command: ["/app", "write", "/var/cache/app/state.txt"]
    instances: {min: 1, max: 1}
    size: {cpu: 0.1, memory: 128MB}
"""


def test_an_image_that_writes_outside_its_folders_is_told_which_to_list_and_then_runs(
    project: Callable[[str], Project], images: Images, cli: RunCli
) -> None:
    disk = project(WRITER.replace("IMAGE", images.ref("testapp:1")))
    assert disk.publish_and_reconcile(timeout=30).returncode != 0  # read-only root: it cannot start
    wanted = (
        "cannot start: it writes to /var/cache/app, which is read-only: add writable: [/var/cache/app] "
        "to writer in unhazzle.yaml (an empty folder at every start)"
    )
    assert wait_for(lambda: wanted in disk.observe(cli, "status").out), disk.observe(cli, "status").out
    disk.spec.write_text(
        disk.spec.read_text().replace("    port: 8080\n", "    port: 8080\n    writable: [/var/cache/app]\n")
    )
    assert disk.publish_and_reconcile().returncode == 0
    seen = get(f"http://{disk.ready_ip('disk-production', 'writer')}:8080/?file=/var/cache/app/state.txt")
    assert seen["files"] == {"/var/cache/app/state.txt": "written\n"}
