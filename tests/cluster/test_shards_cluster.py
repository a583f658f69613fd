"""Sharding on the control plane with simulated machines: three `reconcile --shard K/3` processes
on one environment repo each apply, prune and remove exactly their own environments, and the fleet
changes hands (1 -> 3 -> 1 shards) without one object deleted or made again."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from tests.support.envrepo import render_layout
from tests.support.reconcile import Env, install_applier_role, narrow_kubeconfig
from unhazzle.reconciler.sync.shards import owner

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(900)]

ENVS = [f"e{i}" for i in range(6)]  # over 3 shards: e1 -> 0; e2, e4 -> 1; e0, e3, e5 -> 2
P = "reshard"  # the second test's project: the first one's namespaces may still be going


def _spec(envs: list[str], *, api: bool = True, project: str = "shard") -> str:
    lines = [f"version: 1\nproject: {project}\nregion: fsn1\nenvironments:"]
    lines += [f"  {e}: {{}}" for e in envs]
    lines.append("apps:\n  web:\n    image: ghcr.io/acme/web:1.0\n    port: 8080")
    if api:
        lines.append("  api:\n    image: ghcr.io/acme/api:1.0\n    port: 8080")
    return "\n".join(lines) + "\n"


def _shards(env: Env, count: int, *extra: str) -> list[tuple[int, list[dict[str, Any]], str]]:
    """`--once --shard K/count` for every K, as separate processes at the same time, each with a
    cache of its own (as each shard's pod has: two reconcilers never share a mirror)."""
    procs = [
        env.spawn("--once", "--shard", f"{k}/{count}", "--cache-dir", str(env.tmp / f"cache-{k}"), *extra)
        for k in range(count)
    ]
    out = []
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        events = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
        out.append((proc.returncode, events, err))
    return out


def _touched(events: list[dict[str, Any]]) -> set[str]:
    return {e["environment"] for e in events if e.get("event") == "environment.reconciled"}


def _uids(env: Env) -> dict[str, str]:
    """Every object of every environment, by namespace/kind/name -> uid."""
    out = {}
    for e in ENVS:
        for key, obj in env.objects(f"reshard-{e}").items():
            if not key.startswith("ConfigMap/unhazzle-"):  # our bookkeeping is rewritten by design
                out[f"{e}/{key}"] = obj["metadata"]["uid"]
    return out


def _recorded_shard(env: Env, e: str, project: str = "shard") -> str:
    ns = f"{project}-{e}"
    out = env.cluster.kubectl("get", "configmap", "unhazzle-inventory", "-n", ns, "-o", "json")
    return str(json.loads(out.stdout)["data"]["shard"])


def test_three_shards_each_apply_and_remove_only_their_own_environments(env: Env) -> None:
    env.repo.publish(render_layout(_spec(ENVS)))
    runs = _shards(env, 3)
    for k, (code, events, err) in enumerate(runs):
        assert code == 0, err[-3000:]
        assert _touched(events) == {f"shard/{e}" for e in ENVS if owner(f"shard/{e}", 3) == k}
    for e in ENVS:
        assert {"Deployment/web", "Deployment/api"} <= set(env.objects(f"shard-{e}"))
        assert _recorded_shard(env, e) == f"{owner(f'shard/{e}', 3)}/3"
    leases = env.cluster.kubectl("get", "lease", "-n", "unhazzle-system", "-o", "name").stdout.split()
    assert {f"lease.coordination.k8s.io/unhazzle-reconciler-{k}" for k in range(3)} <= set(leases)

    # e3's folder leaves (with the commit's leave): removed by shard 2, its owner, alone.
    kept = [e for e in ENVS if e != "e3"]
    env.repo.publish(render_layout(_spec(kept)), "drop e3\n\nUnhazzle-Allow-Delete-Environment: shard/e3")
    runs = _shards(env, 3)
    for k, (code, events, err) in enumerate(runs):
        assert code == 0, err[-3000:]
        removed = {e["environment"] for e in events if e.get("event") == "environment.reconciled"
                   and e.get("pruned")}  # fmt: skip
        assert removed == ({"shard/e3"} if k == 2 else set()), err[-3000:]
    assert "Deployment/web" not in env.objects("shard-e3")
    for e in kept:  # nobody pruned an environment it does not own
        assert {"Deployment/web", "Deployment/api"} <= set(env.objects(f"shard-{e}"))


def test_resharding_1_to_3_and_back_keeps_every_object(env: Env) -> None:
    env.repo.publish(render_layout(_spec(ENVS, project=P)))
    ((code, _, err),) = _shards(env, 1)
    assert code == 0, err[-3000:]
    before = _uids(env)
    assert sum(key.endswith("/Deployment/api") for key in before) == 6, sorted(before)

    # 1 -> 3: the single reconciler has stopped (its Lease handed back): each shard adopts its own.
    for code, events, err in _shards(env, 3):
        assert code == 0, err[-3000:]
        assert {e["environment"] for e in events if e.get("event") == "environment.adopted"} == _touched(
            events
        )
    assert _uids(env) == before
    assert {_recorded_shard(env, e, P) for e in ENVS} == {"0/3", "1/3", "2/3"}

    # The old layout (one reconciler) runs again and keeps its Lease: a new shard waits for it,
    # writing nothing, until it stops.
    old = env.spawn("--shard", "0/1", "--interval", "2")
    try:
        _wait_recorded(env, "0/1")
        for code, _, err in _shards(env, 3):
            assert code == 1, err[-3000:]
            assert "shard 0/1 (Lease unhazzle-reconciler, held by" in err, err[-3000:]
        assert {_recorded_shard(env, e, P) for e in ENVS} == {"0/1"}  # not one taken over
    finally:
        old.terminate()
        old.communicate(timeout=60)
    for code, _, err in _shards(env, 3):
        assert code == 0, err[-3000:]
    assert _uids(env) == before

    # 3 -> 1, with a commit that drops the api app: the adopting pass keeps it (the inventory it
    # would prune by is another shard's), the next pass prunes it by its own.
    env.repo.publish(render_layout(_spec(ENVS, api=False, project=P)))
    ((code, _, err),) = _shards(env, 1)
    assert code == 0, err[-3000:]
    assert _uids(env) == before
    ((code, _, err),) = _shards(env, 1)
    assert code == 0, err[-3000:]
    assert _uids(env) == {k: v for k, v in before.items() if "/api" not in k}


def _wait_recorded(env: Env, shard: str) -> None:
    """Until every inventory names `shard` (the loop has adopted them all)."""
    for _ in range(120):
        if all(_recorded_shard(env, e, P) == shard for e in ENVS):
            return
        time.sleep(0.5)
    raise AssertionError(f"the inventories never all named {shard}")


def test_a_pin_moves_an_environment_to_its_shard_under_the_installed_identity(env: Env) -> None:
    """As `install-manifests --shards 3` installs it: the pins are read with the reconciler's own
    rights, and the pinned shard takes the environment over without making anything again."""
    install_applier_role(env.cluster)
    narrow = str(narrow_kubeconfig(env.cluster, env.tmp / "narrow.kubeconfig", shards=3))
    project, envs = "pin", ["e0", "e1", "e2"]
    env.repo.publish(render_layout(_spec(envs, project=project)))
    for code, _, err in _shards(env, 3, "--kubeconfig", narrow):
        assert code == 0, err[-3000:]
    moved = "e0"
    was = owner(f"{project}/{moved}", 3)
    to = (was + 1) % 3
    before = {key: obj["metadata"]["uid"] for key, obj in env.objects(f"{project}-{moved}").items()}
    env.cluster.kubectl("label", "namespace", f"{project}-{moved}", f"unhazzle.io/shard={to}")
    env.repo.publish(render_layout(_spec(envs, project=project).replace(":1.0", ":2.0")))
    runs = _shards(env, 3, "--kubeconfig", narrow)
    for k, (code, events, err) in enumerate(runs):
        assert code == 0, err[-3000:]
        assert (f"{project}/{moved}" in _touched(events)) == (k == to), err[-3000:]
    adopted = {e["environment"] for e in runs[to][1] if e.get("event") == "environment.adopted"}
    assert adopted == {f"{project}/{moved}"}
    assert _recorded_shard(env, moved, project) == f"{to}/3"
    after = env.objects(f"{project}-{moved}")
    assert {k: after[k]["metadata"]["uid"] for k in before if not k.startswith("ConfigMap/unhazzle-")} == {
        k: v for k, v in before.items() if not k.startswith("ConfigMap/unhazzle-")
    }
    image = after["Deployment/web"]["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image.endswith(":2.0")
