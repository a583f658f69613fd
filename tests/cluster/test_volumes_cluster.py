"""Volumes on the real control plane (tests/cluster): what publish's --allow-delete-volume lets
through is deleted as before; an environment repo edited by hand still follows prune.py's rules;
a disk the cluster cannot shrink or grow is reported in plain words. The control plane's disks
come from the controller manager's host-path provisioner, which cannot resize them."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.envrepo import render_layout
from tests.support.reconcile import Env
from tests.support.specs import SMALL, renamed, without_volume

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(600)]
KUBE_WORDS = ("PersistentVolumeClaim", "persistentvolumeclaim", "Forbidden", "storageclass", "spec.")


def small(project: str) -> str:
    return SMALL.replace("project: shop", f"project: {project}").replace("  staging: {}\n", "")


def claims(env: Env, namespace: str) -> set[str]:
    return {
        key.split("/", 1)[1] for key in env.objects(namespace) if key.startswith("PersistentVolumeClaim/")
    }


def errors(events: list[dict[str, Any]]) -> str:
    return " ".join(error for e in events for error in e.get("errors", []))


def bound(env: Env, namespace: str, claim: str) -> None:
    env.cluster.kubectl(
        "wait", "--for=jsonpath={.status.phase}=Bound", f"pvc/{claim}", "-n", namespace, "--timeout=60s"
    )


def test_publish_with_the_flag_then_reconcile_deletes_the_renamed_apps_volume(
    env: Env, cli: Callable[..., Any], tmp_path: Path
) -> None:
    spec = tmp_path / "project" / "unhazzle.yaml"
    spec.parent.mkdir()
    spec.write_text(small("volmv"), encoding="utf-8")
    assert cli("publish", str(spec), "--to", env.repo.url).code == 0
    assert env.once(cli)[0] == 0
    assert claims(env, "volmv-production") == {"cache-data"}
    spec.write_text(renamed(small("volmv"), "cache", "redis"), encoding="utf-8")
    assert cli("publish", str(spec), "--to", env.repo.url).code == 2
    assert env.once(cli)[0] == 0
    assert claims(env, "volmv-production") == {"cache-data"}  # refused: nothing reached the cluster
    assert cli("publish", str(spec), "--to", env.repo.url, "--allow-delete-volume").code == 0
    # The new volume fits the environment's room for disks only once the old one is deleted,
    # which pruning does after applying: the new one waits for a later pass, and says so.
    code, events, _ = env.once(cli)
    said = errors(events)
    assert code == 1 and "volmv-production: app 'redis': its new 5 GB volume cannot be created yet" in said
    assert "redis-data" not in claims(env, "volmv-production")
    assert not any(word in said for word in KUBE_WORDS), said
    for _ in range(20):
        if code == 0 and claims(env, "volmv-production") == {"redis-data"}:
            break
        time.sleep(1)
        code, events, _ = env.once(cli)
    assert code == 0, errors(events)
    assert claims(env, "volmv-production") == {"redis-data"}


def test_reconcile_hand_edited_repo_follows_the_prune_rules_for_volumes(
    env: Env, cli: Callable[..., Any]
) -> None:
    env.repo.publish(render_layout(small("volhand")))
    assert env.once(cli)[0] == 0
    # the volume taken from an app that stays: the disk is kept (data), the app no longer uses it
    env.repo.publish(render_layout(without_volume(small("volhand"))))
    code, events, _ = env.once(cli)
    assert code == 0, errors(events)
    assert claims(env, "volhand-production") == {"cache-data"}
    cache = env.objects("volhand-production")["Deployment/cache"]["spec"]["template"]["spec"]
    assert not [v for v in cache.get("volumes", []) if "persistentVolumeClaim" in v]
    # the app removed by a hand commit without the opt-in: the volume and its data are held
    env.repo.publish(render_layout(small("volhand")))
    assert env.once(cli)[0] == 0
    without_cache = small("volhand").split("\n  cache:\n")[0] + "\n"
    env.repo.publish(render_layout(without_cache), "remove cache")
    result = cli(*env.args("--once"))
    assert result.code == 2, result.err[-3000:]
    assert "volhand/production: app 'cache' left the environment repo, but no commit allowed" in result.err
    assert "'Unhazzle-Allow-Delete-Volume: volhand/production/cache'" in result.err
    assert claims(env, "volhand-production") == {"cache-data"}
    assert "Deployment/cache" not in env.objects("volhand-production")  # the rest is applied
    assert any("no commit allowed its volume" in e for e in env.status("volhand-production")["errors"])
    # a later commit that says so deletes it, as prune.py says
    env.repo.publish(
        render_layout(without_cache), "remove cache\n\nUnhazzle-Allow-Delete-Volume: volhand/production/cache"
    )
    code, events, _ = env.once(cli)
    assert code == 0, errors(events)
    assert claims(env, "volhand-production") == set()


def test_reconcile_says_plainly_when_a_disk_cannot_shrink_or_grow(env: Env, cli: Callable[..., Any]) -> None:
    layout = render_layout(small("volsize"))
    env.repo.publish(layout)
    assert env.once(cli)[0] == 0
    bound(env, "volsize-production", "cache-data")
    manifest = "volsize/production/cache.yaml"
    for size, words in (
        ("2Gi", "volsize-production: app 'cache': its volume cannot be made smaller, from 5 GB to 2 GB"),
        (
            "10Gi",
            "volsize-production: app 'cache': its volume cannot grow from 5 GB to 10 GB: this cluster's",
        ),
    ):
        edited = layout[manifest].replace('storage: "5Gi"', f'storage: "{size}"')
        assert edited != layout[manifest]
        env.repo.publish({**layout, manifest: edited})
        env.cluster.kubectl("-n", "volsize-production", "delete", "service", "cache")
        code, events, _ = env.once(cli)
        assert code == 2  # the revision is refused as a whole ...
        said = errors(events)
        assert words in said and "the data on it" in said
        assert f"{manifest}:" in said and "stays on the one before" in said
        assert "Service/cache" in env.objects("volsize-production")  # ... and the rest still healed
        assert not any(word in said for word in KUBE_WORDS), said
        assert env.objects("volsize-production")["PersistentVolumeClaim/cache-data"]["status"][
            "capacity"
        ] == {"storage": "5Gi"}
    env.repo.publish(layout)
    code, events, _ = env.once(cli)
    assert code == 0, errors(events)
