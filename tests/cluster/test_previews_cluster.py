"""Preview environments on real containers: `preview-env up` makes a running copy of staging in a
namespace of its own, reachable by its internal URLs and reaching the apps it leaves out in
staging; a second push updates it; `down`, and expiry, remove all of it, volume included, and
nothing of staging (its objects counted before and after)."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable

import pytest

from tests.cluster.realnode import KEY, Images, Project, get, wait_for

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(900)]

SPEC = """\
version: 1
project: pv
region: fsn1
environments:
  staging: {{}}
apps:
  front:
    image: {image}
    port: 8080
    env: {{VERSION: "{version}", BACK: "${{apps.back.url}}"}}
    instances: {{min: 1, max: 1}}
    size: {{cpu: 0.1, memory: 64MB}}
    volume: {{size: 1GB, path: /data}}
  back:
    image: {image}
    port: 8080
    instances: {{min: 1, max: 1}}
    size: {{cpu: 0.1, memory: 64MB}}
previews:
  from: staging
  apps: [front]
  ttl: {ttl}
"""
KINDS = "deployments,services,networkpolicies,persistentvolumeclaims,secrets,serviceaccounts,rolebindings"


def spec(images: Images, version: str = "1", ttl: str = "1d") -> str:
    return SPEC.format(image=images.ref("testapp:1"), version=version, ttl=ttl)


def reconcile(project: Project, *, health_timeout: int = 180) -> subprocess.CompletedProcess[str]:
    """`--once`; a removal has nothing to wait for, so its health timeout is set far beyond the
    process's own: a pass that waited for a removed environment would never return in time."""
    return project.unhazzle(
        "reconcile", "--once", "--repo", str(project.repo), "--kubeconfig", str(project.cluster.kubeconfig),
        "--no-leader-election", "--log-format", "text", "--timeout", str(health_timeout),
        "--cache-dir", str(project.folder / "reconciler"), "--secrets-key-file", str(KEY), timeout=240,
    )  # fmt: skip


def up(project: Project, name: str) -> None:
    done = project.unhazzle("preview-env", "up", "--name", name, "--to", str(project.repo))
    assert done.returncode == 0, done.stdout + done.stderr
    applied = reconcile(project)
    assert applied.returncode == 0, applied.stdout + applied.stderr


def staging_objects(project: Project) -> dict[str, tuple[str, str]]:
    """Every object of staging, and every instance: name -> (uid, generation or phase)."""
    items = json.loads(
        project.cluster.kubectl("get", f"{KINDS},pods", "-n", "pv-staging", "-o", "json").stdout
    )
    return {
        f"{o['kind']}/{o['metadata']['name']}": (
            o["metadata"]["uid"], str(o["metadata"].get("generation") or o.get("status", {}).get("phase")),
        )
        for o in items["items"]
    }  # fmt: skip


def disks_of(project: Project, namespace: str) -> list[str]:
    disks = json.loads(project.cluster.kubectl("get", "pv", "-o", "json").stdout)["items"]
    return [
        d["metadata"]["name"]
        for d in disks
        if (d["spec"].get("claimRef") or {}).get("namespace") == namespace
    ]


def gone(project: Project, namespace: str) -> bool:
    found = project.cluster.kubectl("get", "namespace", namespace, "-o", "name", check=False)
    return found.returncode != 0


def test_a_preview_runs_in_its_own_namespace_and_goes_whole_leaving_staging_untouched(
    project: Callable[[str], Project], images: Images
) -> None:
    pv = project(spec(images))
    done = pv.publish_and_reconcile()
    assert done.returncode == 0, done.stdout + done.stderr
    before = staging_objects(pv)
    staging_back = "http://back.pv-staging.svc.cluster.local:8080"

    up(pv, "pr-7")
    labels = json.loads(pv.cluster.kubectl("get", "namespace", "pv-pr-7", "-o", "json").stdout)["metadata"][
        "labels"
    ]
    assert labels["unhazzle.io/badge"] == "preview" and labels["unhazzle.io/preview-environment"] == "true"
    front = pv.ready_ip("pv-pr-7", "front")
    seen = get(f"http://{front}:8080/")["env"]
    assert seen["VERSION"] == "1" and seen["BACK"] == staging_back
    # Reachable by its internal URL, and reaching the app it leaves out in staging ...
    own = get(f"http://{front}:8080/fetch?url=http://front.pv-pr-7.svc.cluster.local:8080/healthz")
    assert own == {"status": 200, "body": "ok\n"}
    assert get(f"http://{front}:8080/fetch?url={staging_back}/healthz") == {"status": 200, "body": "ok\n"}
    # ... but not staging's own copy of what it runs (only the apps it leaves out are admitted).
    refused = get(f"http://{front}:8080/fetch?url=http://front.pv-staging.svc.cluster.local:8080/healthz")
    assert "error" in refused, refused
    assert pv.cluster.kubectl("get", "pvc", "-n", "pv-pr-7", "-o", "name").stdout.strip()

    # A second push updates it; staging, not published, runs version 1 still.
    pv.spec.write_text(spec(images, version="2"), encoding="utf-8")
    up(pv, "pr-7")
    wait_for(lambda: get(f"http://{pv.ready_ip('pv-pr-7', 'front')}:8080/")["env"]["VERSION"] == "2")
    assert get(f"http://{pv.ready_ip('pv-staging', 'front')}:8080/")["env"]["VERSION"] == "1"

    # Down: everything of it goes, its volume and namespace included, and nothing of staging.
    down = pv.unhazzle("preview-env", "down", "--name", "pr-7", "--to", str(pv.repo))
    assert down.returncode == 0, down.stderr
    removed = reconcile(pv, health_timeout=3600)
    assert removed.returncode == 0, removed.stdout + removed.stderr
    assert "pv/pr-7: preview removed (its folder left the environment repo)" in removed.stdout, removed.stdout
    assert wait_for(lambda: gone(pv, "pv-pr-7"), timeout=180)
    assert wait_for(lambda: not disks_of(pv, "pv-pr-7"), timeout=180)  # its disk went with it
    assert staging_objects(pv) == before


def test_an_expired_preview_is_removed_whole_by_the_reconciler(
    project: Callable[[str], Project], images: Images
) -> None:
    pv = project(spec(images, ttl="60s"))
    assert pv.publish_and_reconcile().returncode == 0
    before = staging_objects(pv)
    started = time.monotonic()
    up(pv, "pr-8")
    assert pv.ready_ip("pv-pr-8", "front")
    time.sleep(max(0.0, 62 - (time.monotonic() - started)))
    expired = reconcile(pv, health_timeout=3600)
    assert expired.returncode == 0, expired.stdout + expired.stderr
    assert "pv/pr-8: preview removed (expired): everything of it, volumes included" in expired.stdout
    assert wait_for(lambda: gone(pv, "pv-pr-8") and not disks_of(pv, "pv-pr-8"), timeout=180)
    # The folder is still in the repo: it is not applied again (publish it anew to bring it back).
    again = reconcile(pv, health_timeout=3600)
    assert again.returncode == 0 and gone(pv, "pv-pr-8"), again.stdout
    listed = pv.unhazzle("preview-env", "list", "--repo", str(pv.repo))
    assert "pr-8  copy of staging" in listed.stdout and "expired" in listed.stdout
    pruned = pv.unhazzle("preview-env", "prune", "--to", str(pv.repo))
    assert pruned.returncode == 0 and "pr-8 expired; removed in" in pruned.stdout, pruned.stderr
    assert staging_objects(pv) == before
