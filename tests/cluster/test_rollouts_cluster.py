"""Safe rollouts on real containers: a rollback through a commit to the environment repo, which the
reconciler applies like any other and publish does not undo; and order between apps (`after:`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.cluster.realnode import Images, Project, RunCli, get, wait_for

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(900)]


def spec(images: Images, version: str) -> str:
    return f"""\
version: 1
project: back
region: fsn1
environments:
  production: {{}}
apps:
  api:
    image: {images.ref("testapp:1")}
    port: 8080
    env: {{VERSION: "{version}"}}
    instances: {{min: 1, max: 1}}
    size: {{cpu: 0.1, memory: 64MB}}
"""


def test_rollback_restores_the_previous_version_through_a_commit_and_publish_does_not_undo_it(
    project: Callable[[str], Project], images: Images, cli: RunCli
) -> None:
    back = project(spec(images, "1"))
    assert back.publish_and_reconcile().returncode == 0
    back.spec.write_text(spec(images, "2"))
    done = back.publish_and_reconcile()
    assert done.returncode == 0, done.stdout + done.stderr
    assert get(f"http://{back.ready_ip('back-production', 'api')}:8080/")["env"]["VERSION"] == "2"

    rolled = back.unhazzle("rollback", "--env", "production", "--repo", str(back.repo))
    assert rolled.returncode == 0, rolled.stderr
    reconciled = back.unhazzle(
        "reconcile", "--once", "--repo", str(back.repo), "--kubeconfig", str(back.cluster.kubeconfig),
        "--no-leader-election", "--timeout", "180", "--cache-dir", str(back.folder / "reconciler"),
    )  # fmt: skip
    assert reconciled.returncode == 0, reconciled.stdout + reconciled.stderr
    assert get(f"http://{back.ready_ip('back-production', 'api')}:8080/")["env"]["VERSION"] == "1"

    history = back.unhazzle("history", "--repo", str(back.repo), "--output", "json")
    assert history.returncode == 0, history.stderr
    deploys = json.loads(history.stdout)["environments"][0]["deploys"]
    assert [d["outcome"] for d in deploys] == ["running now", "rolled back", "replaced"]
    assert deploys[0]["rollback_of"]["what"] == "back/production"
    assert deploys[1]["changes"] == ["api: settings changed"]

    again = back.unhazzle("publish", "--to", str(back.repo))  # the spec still says version 2
    assert again.returncode == 2 and "back/production: error: rolled back from" in again.stderr, again.stderr


TWO = """\
version: 1
project: order
region: fsn1
environments:
  production: {{}}
apps:
  api:
    image: {image}
    port: 8080
    env: {{VERSION: "{version}"}}
    instances: {{min: 1, max: 1}}
    size: {{cpu: 0.1, memory: 64MB}}
  web:
    image: {image}
    port: 8080
    env: {{VERSION: "{version}", API: "${{apps.api.url}}"}}
    after: [api]
    instances: {{min: 1, max: 1}}
    size: {{cpu: 0.1, memory: 64MB}}
"""


def test_an_app_changes_only_once_the_apps_it_comes_after_are_healthy_on_their_new_version(
    project: Callable[[str], Project], images: Images
) -> None:
    two = project(TWO.format(image=images.ref("testapp:1"), version="1"))
    done = two.publish_and_reconcile()
    assert done.returncode == 0, done.stdout + done.stderr
    two.spec.write_text(TWO.format(image=images.ref("testapp:1"), version="2"))
    done = two.publish_and_reconcile()
    assert done.returncode == 0, done.stdout + done.stderr

    def newest(kind: str, app: str) -> dict:
        found = two.cluster.kubectl("get", kind, "-n", "order-production", "-l", f"unhazzle.io/app={app}",
                                    "-o", "json").stdout  # fmt: skip
        return max(json.loads(found)["items"], key=lambda o: o["metadata"]["creationTimestamp"])

    api_pod = newest("pods", "api")
    ready = next(c for c in api_pod["status"]["conditions"] if c["type"] == "Ready")
    web_set = newest("replicasets", "web")
    assert ready["status"] == "True"
    assert web_set["metadata"]["creationTimestamp"] >= ready["lastTransitionTime"]  # api first, healthy
    assert get(f"http://{two.ready_ip('order-production', 'web')}:8080/")["env"]["VERSION"] == "2"


def broken(images: Images, version: str, *, crash: bool) -> str:
    text = spec(images, version).replace("project: back", "project: auto")
    return text.replace("    port: 8080\n", "    port: 8080\n    args: [crash]\n") if crash else text


def test_a_new_version_that_never_becomes_healthy_is_rolled_back_automatically_and_not_retried(
    project: Callable[[str], Project], images: Images, cli: RunCli
) -> None:
    auto = project(broken(images, "1", crash=False))
    assert auto.publish_and_reconcile().returncode == 0
    auto.spec.write_text(broken(images, "2", crash=True))
    done = auto.publish_and_reconcile(timeout=400)  # the deadline of a fast app: 30 s + 2 min
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert "auto/production: app api: its new version crashed at start (exit code 3)" in output, output
    assert "crashing on purpose" in output and "rolled back to its previous version" in output, output

    def serving() -> Any:
        try:
            return get(f"http://{auto.ready_ip('auto-production', 'api')}:8080/")["env"]["VERSION"] == "1"
        except AssertionError:
            return None

    wait_for(serving, timeout=180)
    status = auto.observe(cli, "status")
    assert "crashed at start (exit code 3)" in status.out, status.out

    again = auto.unhazzle(
        "reconcile", "--once", "--repo", str(auto.repo), "--kubeconfig", str(auto.cluster.kubeconfig),
        "--no-leader-election", "--timeout", "30", "--cache-dir", str(auto.folder / "reconciler"),
    )  # fmt: skip
    assert (
        again.returncode == 1 and "is not deployed again before a new commit" in again.stderr + again.stdout
    )
    assert get(f"http://{auto.ready_ip('auto-production', 'api')}:8080/")["env"]["VERSION"] == "1"

    auto.spec.write_text(broken(images, "3", crash=False))  # a fix: deployed as usual
    fixed = auto.publish_and_reconcile()
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert get(f"http://{auto.ready_ip('auto-production', 'api')}:8080/")["env"]["VERSION"] == "3"

    # How each deploy ended, as the reconciler saw it: beside the history, and among the events.
    history = auto.observe(cli, "history", "--repo", str(auto.repo), "--output", "json")
    assert history.code == 0, history.err
    results = [d["result"] for d in json.loads(history.out)["environments"][0]["deploys"]]
    assert [r["outcome"] for r in results] == ["healthy", "rolled back", "healthy"], results
    assert results[1]["rolled_back"][0]["app"] == "api"
    assert results[1]["words"].startswith("rolled back automatically: api: crashed at start (exit code 3)")
    assert all(0 <= r["healthy_after_s"] < 180 for r in (results[0], results[2])), results
    events = auto.observe(cli, "events")
    assert "production/api: deploy" in events.out and "rolled back automatically" in events.out, events.out
    assert "healthy in" in events.out, events.out
