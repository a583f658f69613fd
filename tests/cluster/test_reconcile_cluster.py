"""The reconciler's behaviour suite, on the real control plane (tests/cluster) with real Git.

Each test uses a project of its own (so namespaces never collide in the shared session cluster)
and an environment repo built like `unhazzle publish` writes it. Write requests are counted by
our fault proxy, at the HTTP level, independently of the reconciler's own counters."""

from __future__ import annotations

import hashlib
import hmac
import json
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pexpect
import pytest
import yaml

from tests.support.envrepo import ROOT, SHOP, beyond_any_machine, files, render_layout, spec
from tests.support.reconcile import Env
from tests.support.signing import ssh_key
from unhazzle.devcluster.cluster import free_port
from unhazzle.reconciler.sync.ownership import owner_labels
from unhazzle.shared.names import INVENTORY_NAME

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(600)]


def _events(events: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [e for e in events if e["event"] == name]


# -- end to end --------------------------------------------------------------------------------


def test_reconcile_shop_end_to_end_then_only_changes_are_written(env: Env, cli: Callable[..., Any]) -> None:
    env.repo.publish(files("e2e", envs=("production", "staging")))
    code, events, _ = env.once(cli)
    assert code == 0, events
    deploys = env.objects("e2e-production")
    assert {k for k in deploys if k.startswith("Deployment/")} == {
        f"Deployment/{a}" for a in ("web", "api", "worker", "cache")
    }
    assert deploys["Deployment/web"]["status"]["availableReplicas"] >= 2  # kwok instances, autoscaler minimum
    assert env.status("e2e-production")["health"] == "healthy"
    # A first sync writes each object once; only what starts containers is put to the server first.
    asked = [p for m, p in env.requests if m == "PATCH" and "dryRun=All" in p]
    assert sorted(p.split("?")[0].rsplit("/", 2)[1] for p in asked) == ["deployments"] * 8, asked
    written = Counter(p.split("?")[0] for m, p in env.writes() if m == "PATCH" and "/namespaces/e2e-" in p)
    assert written and set(written.values()) == {1}, written

    code, events, _ = env.once(cli)  # nothing changed: zero writes at all, even to status
    lease = [p for _, p in env.writes() if "/leases/" in p]
    assert code == 0 and [w for w in env.writes() if "/leases/" not in w[1]] == []
    assert len(lease) == 2  # only the leader lease: taken before the pass, handed back after it
    assert _events(events, "reconcile.pass")[0]["writes"] == 0

    env.repo.publish(files("e2e", envs=("production", "staging"), edit=("shop-web:1.4.2", "shop-web:1.4.3")))
    code, events, _ = env.once(cli)
    assert code == 0, events
    written = {p.split("?")[0] for m, p in env.writes() if "unhazzle-status" not in p and "/leases/" not in p}
    assert written == {f"/apis/apps/v1/namespaces/e2e-{e}/deployments/web" for e in ("production", "staging")}


def test_reconcile_removed_app_is_deleted_and_nothing_else(env: Env, cli: Callable[..., Any]) -> None:
    env.repo.publish(files("rm"))
    assert env.once(cli)[0] == 0
    before = env.objects("rm-production")
    env.repo.publish(files("rm", drop_app="worker"))
    code, events, _ = env.once(cli)
    assert code == 0, events
    after = env.objects("rm-production")
    assert set(before) - set(after) == {"Deployment/worker", "HorizontalPodAutoscaler/worker"}
    assert set(after) <= set(before)
    deletes = [p for m, p in env.writes() if m == "DELETE"]
    assert len(deletes) == 2


def test_reconcile_removed_environment_keeps_its_namespace_and_volumes(
    env: Env, cli: Callable[..., Any]
) -> None:
    env.repo.publish(files("envrm", envs=("production", "staging")))
    assert env.once(cli)[0] == 0
    before = set(env.objects("envrm-staging"))
    # A hand commit that drops the folder, without the opt-in publish would have written: refused,
    # and everything of the environment keeps running.
    env.repo.publish(files("envrm", envs=("production",)), "drop staging")
    result = cli(*env.args("--once"))
    assert result.code == 2, result.err[-3000:]
    assert (
        "envrm/staging: its folder left the environment repo, but no commit allowed the environment "
        "to be removed: everything of it keeps running. To remove it, publish with "
        "--allow-delete-environment, or commit with the trailer "
        "'Unhazzle-Allow-Delete-Environment: envrm/staging'" in result.err
    )
    assert set(env.objects("envrm-staging")) == before
    # The same commit with the trailer removes it.
    env.repo.publish(
        files("envrm", envs=("production",)),
        "drop staging\n\nUnhazzle-Allow-Delete-Environment: envrm/staging",
    )
    code, events, _ = env.once(cli)
    assert code == 0, [e.get("errors") for e in events if e["level"] == "error"]
    left = set(env.objects("envrm-staging"))
    # the namespace keeps the identity its objects were applied as (ready if it comes back)
    kept = {"PersistentVolumeClaim/cache-data", "ServiceAccount/default", "ServiceAccount/unhazzle-applier"}
    assert left == kept | {"ConfigMap/unhazzle-inventory", "ConfigMap/unhazzle-status"}
    assert env.cluster.kubectl("get", "namespace", "envrm-staging").returncode == 0
    assert env.status("envrm-staging")["health"] == "removed"
    assert "Deployment/web" in env.objects("envrm-production")


def test_reconcile_new_commit_interrupts_a_health_wait(env: Env) -> None:
    # 60 vCPU fit on no machine here, so the first revision can never become healthy
    crowded = {
        p: beyond_any_machine(t, "cache") if p.endswith(".yaml") else t for p, t in files("wait").items()
    }
    env.repo.publish(crowded)
    proc = env.spawn("--once")
    # The first revision is applied and its health wait has begun: only now comes the new commit.
    _wait_for(lambda: "Deployment/cache" in env.objects("wait-production"), 120)
    time.sleep(2)
    env.repo.publish(
        files(
            "wait",
            drop_app="cache",
            edit=("      CACHE_URL: redis://${apps.cache.host}:${apps.cache.port}\n", ""),
        ),
        "drop cache\n\nUnhazzle-Allow-Delete-Volume: wait/production/cache",  # as publish would say
    )
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-3000:]
    assert '"event": "health.wait.interrupted"' in err
    assert "Deployment/cache" not in env.objects("wait-production")


def test_reconcile_one_environment_waiting_never_holds_back_another(env: Env) -> None:
    """Production can never become healthy (no machine fits its cache): the loop follows it and
    says what it waits for, while staging's drift is healed within the pass interval."""
    layout = files("indep", envs=("production", "staging"))
    env.repo.publish(
        {
            p: beyond_any_machine(t, "cache") if p == "indep/production/cache.yaml" else t
            for p, t in layout.items()
        }
    )
    proc = env.spawn("--interval", "1", "--no-leader-election", "--timeout", "600")
    log: list[str] = []
    threading.Thread(target=lambda: log.extend(iter(proc.stderr.readline, "")), daemon=True).start()  # type: ignore[union-attr]
    try:
        _wait_for(
            lambda: _has_status(env, "indep-staging") and env.status("indep-staging")["health"] == "healthy",
            180,
        )
        waiting = [json.loads(line) for line in list(log) if '"event": "health.waiting"' in line]
        assert any(
            e["environment"] == "indep/production" and "app cache" in " ".join(e["waiting"]) for e in waiting
        )
        assert "app cache" in " ".join(env.status("indep-production")["waiting"])
        env.cluster.kubectl("-n", "indep-staging", "delete", "service", "web")
        deleted = time.monotonic()
        _wait_for(lambda: "Service/web" in env.objects("indep-staging"), 30)
        assert time.monotonic() - deleted < 15
        assert env.status("indep-production")["health"] == "progressing"  # still followed, still said
        assert not any('"event": "health.gave_up"' in line for line in log)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        print("".join(log)[-6000:])  # shown by pytest only when the test fails
    assert proc.returncode == 0


def test_reconcile_refuses_a_revision_the_server_refuses_as_a_whole_and_heals_from_the_last(
    env: Env, cli: Callable[..., Any]
) -> None:
    """One object the guard passes but the API server refuses (`cpu: "lots"`) refuses the whole
    revision before anything of it is written, with the file and line; the environment stays on
    its last good revision and is still healed from it; a loop does not ask again until a new
    commit, which is then applied."""
    good = files("whole")
    env.repo.publish(good)
    assert env.once(cli)[0] == 0
    bad = dict(good)
    bad["whole/production/api.yaml"] = good["whole/production/api.yaml"].replace('cpu: "250m"', 'cpu: "lots"')
    bad["whole/production/web.yaml"] = good["whole/production/web.yaml"].replace(
        "shop-web:1.4.2", "shop-web:1.5.0"
    )
    env.repo.publish(bad)
    env.cluster.kubectl("-n", "whole-production", "delete", "service", "web")
    code, events, _ = env.once(cli)
    assert code == 2
    said = " ".join(e.get("error", "") + " ".join(e.get("errors", [])) for e in events)
    assert "whole/production/api.yaml:1: Deployment/api: refused by the cluster: a CPU, memory" in said, said
    assert "HTTP" not in said and "unstructured" not in said
    objects = env.objects("whole-production")
    assert "Service/web" in objects  # healed from the last good revision
    web = objects["Deployment/web"]["spec"]["template"]["spec"]["containers"][0]["image"]
    assert web == "ghcr.io/acme/shop-web:1.4.2"  # nothing of the refused revision was written
    assert not [p for m, p in env.writes() if "/deployments" in p]
    assert env.status("whole-production")["revision"] != env.repo.work.head.commit.hexsha
    # A loop asks the server about the refused revision once, not every pass.
    env.requests.clear()
    proc = env.spawn("--interval", "1", "--no-leader-election")
    try:
        _wait_for(
            lambda: (
                sum(
                    "/namespaces/whole-production/serviceaccounts/unhazzle-applier" in p
                    for _, p in list(env.requests)
                )
                >= 4
            ),
            60,
        )
        asked = [p for m, p in list(env.requests) if m == "PATCH" and "/deployments/api" in p]
        assert len(asked) == 1, asked
        fixed = {**bad, "whole/production/api.yaml": good["whole/production/api.yaml"]}
        env.repo.publish(fixed)
        head = env.repo.work.head.commit.hexsha
        _wait_for(lambda: env.status("whole-production")["revision"] == head, 60)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, log = proc.communicate(timeout=30)
        print(log[-6000:])
    web = env.objects("whole-production")["Deployment/web"]["spec"]["template"]["spec"]["containers"][0][
        "image"
    ]
    assert web == "ghcr.io/acme/shop-web:1.5.0"


def test_a_new_environment_the_server_refuses_is_left_with_nothing_of_its_revision(
    env: Env, cli: Callable[..., Any]
) -> None:
    """A first sync writes without asking first, except what starts containers: when the server
    refuses an object (a Service's port), what the pass made of the revision (its volume
    included) is deleted again and nothing ever ran; said at the file and line, like a refusal
    on an environment that exists; the fixed commit is then applied whole."""
    good = files("fresh")
    bad = {
        **good,
        "fresh/production/api.yaml": good["fresh/production/api.yaml"].replace("port: 9000", "port: 90000"),
    }
    env.repo.publish(bad)
    code, events, _ = env.once(cli)
    assert code == 2, events
    said = " ".join(e.get("error", "") + " ".join(e.get("errors", [])) for e in events)
    assert "fresh/production/api.yaml:" in said and "Service/api: refused by the cluster:" in said, said
    assert "HTTP" not in said
    assert not [p for m, p in env.writes() if "/deployments" in p or "/jobs" in p]  # nothing ran
    made = [p for m, p in env.writes() if m == "PATCH" and "/persistentvolumeclaims/" in p]
    assert made, "the volume is made before the Service's stage"  # and taken back below
    revision = {f"{d['kind']}/{d['metadata']['name']}" for n, t in good.items() if n.endswith(".yaml")
                for d in yaml.safe_load_all(t) if d and d["kind"] != "Namespace"}  # fmt: skip
    assert len(revision) > 20
    # deleted when the pass ends (the volume a moment later: the cluster lets go of an unused one)
    _wait_for(lambda: not revision & set(env.objects("fresh-production")), 30)
    inventory = env.cluster.kubectl("get", "configmap", "-n", "fresh-production", "-o", "json").stdout
    recorded = [c["data"] for c in json.loads(inventory)["items"] if c["metadata"]["name"] == INVENTORY_NAME]
    assert [(r["revision"], r["objects"]) for r in recorded] == [("", "")], recorded  # nothing in force
    assert "revision" not in env.status("fresh-production") or not env.status("fresh-production")["revision"]

    env.repo.publish(good)
    code, events, _ = env.once(cli)
    assert code == 0, events
    objects = env.objects("fresh-production")
    assert revision <= set(objects)


def test_reconcile_once_at_a_terminal_speaks_to_people(env: Env) -> None:
    """At a terminal, --once prints a line per environment and a summary, no JSON; piped, JSON."""
    env.repo.publish(files("human", envs=("production", "staging")))
    child = pexpect.spawn(
        sys.executable,
        ["-m", "unhazzle", *env.args("--once")],
        encoding="utf-8",
        timeout=300,
        dimensions=(50, 250),
    )
    child.expect(pexpect.EOF)
    out = str(child.before)
    child.close()
    assert child.exitstatus == 0, out
    for name in ("production", "staging"):
        assert f"human/{name}: healthy at " in out, out
    assert " applied, 0 deleted, 0 repaired" in out
    assert "2 environments: 2 healthy, 0 not" in out
    assert '"event"' not in out
    piped = subprocess.run(
        [sys.executable, "-m", "unhazzle", *env.args("--once")], capture_output=True, text=True, timeout=300
    )
    assert piped.returncode == 0 and '"event": "reconcile.pass"' in piped.stderr and piped.stdout == ""


def test_reconcile_dry_run_prints_changes_masks_secrets_and_writes_nothing(
    env: Env, cli: Callable[..., Any]
) -> None:
    # Secret values reach the cluster only as `_secrets.json` ciphertext (a plain Secret in the
    # repo is refused by the guard); the dry run names what changed and never shows a value.
    from unhazzle.shared.age import encrypt

    key = ROOT / "tests" / "fixtures" / "shop-cluster.agekey"
    recipient = SHOP.read_text().split("recipients: [", 1)[1].split("]", 1)[0]

    def sealed(value: str) -> str:
        doc = {
            "format": 1,
            "recipients": [recipient],
            "apps": {"web": {"SESSION_KEY": encrypt(value, [recipient])}},
        }
        return json.dumps(doc, indent=2, sort_keys=True) + "\n"

    env.repo.publish(files("dry") | {"dry/production/_secrets.json": sealed("hunter2")})
    assert env.once(cli, "--secrets-key-file", str(key))[0] == 0
    edited = files("dry", edit=("LOG_LEVEL: info\n      API_URL", "LOG_LEVEL: warn\n      API_URL"))
    env.repo.publish(edited | {"dry/production/_secrets.json": sealed("swordfish")})
    code, _, out = env.once(cli, "--dry-run", "--secrets-key-file", str(key))
    assert code == 0
    assert "configured: Deployment/dry-production/web" in out and "warn" in out
    assert "configured: Secret/dry-production/web-secrets" in out and "value of SESSION_KEY changed" in out
    for plain in ("hunter2", "swordfish", "aHVudGVyMg", "c3dvcmRmaXNo"):
        assert plain not in out
    assert env.writes() == []


# -- the failure list --------------------------------------------------------------------------


def test_reconcile_git_unreachable_keeps_cluster_and_heals_drift(env: Env, cli: Callable[..., Any]) -> None:
    env.repo.publish(files("gone"))
    assert env.once(cli)[0] == 0
    before = set(env.objects("gone-production"))
    env.repo.remote.rename(env.tmp / "moved.git")  # the remote disappears
    env.cluster.kubectl("-n", "gone-production", "set", "image", "deploy/web", "web=evil:1")
    code, events, _ = env.once(cli)
    assert code == 1  # an error is reported...
    assert any("no such environment repo" in e.get("error", "") for e in events)
    after = env.objects("gone-production")
    assert set(after) == before  # ...nothing deleted...
    image = after["Deployment/web"]["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == "ghcr.io/acme/shop-web:1.4.2"  # ...and drift healed from the last good revision
    assert "no such environment repo" in " ".join(env.status("gone-production")["errors"])


def test_reconcile_empty_or_corrupt_revision_is_refused(env: Env, cli: Callable[..., Any]) -> None:
    good = files("bad", envs=("production", "staging"))
    env.repo.publish(good)
    assert env.once(cli)[0] == 0
    before = {ns: set(env.objects(ns)) for ns in ("bad-production", "bad-staging")}

    env.repo.publish({}, message="an empty commit")
    code, events, _ = env.once(cli)
    assert code == 2 and any("no environments" in e.get("error", "") for e in events)
    corrupt = {**good, "bad/staging/web.yaml": "kind: [unclosed\n", "bad/production/api.yaml": ""}
    corrupt = {k: v for k, v in corrupt.items() if k != "bad/production/worker.yaml"}
    env.repo.publish(corrupt, message="a corrupt commit")
    code, events, _ = env.once(cli)
    assert code == 2 and any("not valid YAML" in e.get("error", "") for e in events), [
        e for e in events if e["level"] == "error"
    ]
    # staging (broken) keeps its last good revision; production (valid) applies: api and worker go
    assert set(env.objects("bad-staging")) == before["bad-staging"]
    gone = before["bad-production"] - set(env.objects("bad-production"))
    assert gone == {"Deployment/api", "Service/api", "HorizontalPodAutoscaler/api", "PodDisruptionBudget/api",
                    "Deployment/worker", "HorizontalPodAutoscaler/worker"}  # fmt: skip


def test_reconcile_api_errors_and_dropped_connections_stop_before_pruning(
    env: Env, cli: Callable[..., Any]
) -> None:
    env.repo.publish(files("flaky"))
    assert env.once(cli)[0] == 0
    before = set(env.objects("flaky-production"))
    env.repo.publish(files("flaky", drop_app="worker", edit=("shop-web:1.4.2", "shop-web:2.0.0")))

    def faults(method: str, path: str, n: int) -> str | None:
        env.requests.append((method, path))
        if method == "PATCH" and "deployments/web" in path:
            return "500"  # every try of this write fails: the apply fails, pruning must not run
        return "drop" if n % 4 == 0 else None  # and a quarter of all connections drop

    env.proxy.fault = faults
    code, events, _ = env.once(cli, "--timeout", "5")
    assert code == 1
    assert set(env.objects("flaky-production")) == before  # nothing deleted
    assert any("injected fault" in " ".join(e.get("errors", [])) for e in events)
    env.proxy.fault = env._record
    code, events, _ = env.once(cli)
    assert code == 0, events
    assert before - set(env.objects("flaky-production")) == {
        "Deployment/worker",
        "HorizontalPodAutoscaler/worker",
    }


def test_reconcile_killed_mid_apply_then_restarted_converges(env: Env, cli: Callable[..., Any]) -> None:
    many = "\n".join(f"  extra{i}:\n    image: ghcr.io/acme/x:{i}\n    port: 8080\n" for i in range(30))
    text = spec("kill").replace("\napps:\n", f"\napps:\n{many}", 1)
    env.repo.publish(render_layout(text, environments=["production"]))
    proc = env.spawn("--once", "--workers", "1")
    deadline = time.monotonic() + 180  # (slow on a busy machine)
    while time.monotonic() < deadline:
        got = env.cluster.kubectl(
            "get", "deploy", "-n", "kill-production", "-o", "name", check=False
        ).stdout.split()
        if len(got) >= 3:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    partial = len(env.cluster.kubectl("get", "deploy", "-n", "kill-production", "-o", "name").stdout.split())
    assert 3 <= partial < 34  # it really was killed mid-apply
    code, events, _ = env.once(cli)
    assert code == 0, events
    assert (
        len(env.cluster.kubectl("get", "deploy", "-n", "kill-production", "-o", "name").stdout.split()) == 34
    )
    inventory = env.cluster.kubectl(
        "get", "cm", "unhazzle-inventory", "-n", "kill-production", "-o", "json"
    ).stdout
    assert json.loads(inventory)["data"]["objects"].count("|Deployment|") == 34


def test_reconcile_manual_edit_is_healed_but_instance_count_is_not_fought(
    env: Env, cli: Callable[..., Any]
) -> None:
    env.repo.publish(files("edit"))
    assert env.once(cli)[0] == 0
    env.cluster.kubectl("-n", "edit-production", "patch", "deploy", "api", "--type=merge", "-p",
                        '{"metadata":{"labels":{"unhazzle.io/app":"hacked"}},"spec":{"replicas":5,'
                        '"template":{"spec":{"containers":[{"name":"api","image":"evil:1"}]}}}}')  # fmt: skip
    code, events, _ = env.once(cli)
    assert code == 0, events
    api = env.objects("edit-production")["Deployment/api"]
    assert api["metadata"]["labels"]["unhazzle.io/app"] == "api"
    assert api["spec"]["template"]["spec"]["containers"][0]["image"].startswith("ghcr.io/acme/shop-api@")
    assert env.status("edit-production")["drift_corrected"] == 1
    patches = [p for m, p in env.writes() if m == "PATCH" and "/deployments/" in p]
    assert len(patches) == 1 and "force=true" in patches[0] and "fieldManager=unhazzle" in patches[0]


def test_reconcile_an_object_deleted_by_hand_is_made_again_and_counted_as_drift(
    env: Env, cli: Callable[..., Any]
) -> None:
    env.repo.publish(files("again"))
    assert env.once(cli)[0] == 0
    env.cluster.kubectl("delete", "service", "web", "-n", "again-production")
    code, events, _ = env.once(cli)
    assert code == 0, events
    assert "Service/web" in env.objects("again-production")
    assert _events(events, "environment.reconciled")[0]["drift_corrected"] == 1
    assert env.status("again-production")["drift_corrected"] == 1


def test_reconcile_loop_skips_proved_objects_but_heals_every_later_edit(env: Env) -> None:
    """A running loop remembers what it proved up to date (apply.Verified): its passes write
    nothing, yet an edit made after that proof -- metadata only, then the spec -- is still healed,
    and the instance count someone else set is left alone."""
    namespace = "loopedit-production"
    env.repo.publish(files("loopedit", edit=("    volume: {size: 5GB, path: /data}\n", "")))
    proc = env.spawn("--interval", "1", "--no-leader-election")
    listing = f"/apis/apps/v1/namespaces/{namespace}/deployments"

    def passes() -> int:
        return reads(listing)

    def reads(path: str) -> int:
        return sum(m == "GET" and p.split("?")[0] == path for m, p in list(env.requests))

    def api() -> dict[str, Any]:
        return env.objects(namespace)["Deployment/api"]

    try:
        _wait_for(lambda: _has_status(env, namespace) and env.status(namespace)["health"] == "healthy", 180)
        env.requests.clear()
        _wait_for(lambda: passes() >= 3, 60)  # proved in the first, skipped in the next two
        assert env.writes() == []
        # each pass reads the namespace once, as it reads the applier's ServiceAccount
        applier = f"/api/v1/namespaces/{namespace}/serviceaccounts/unhazzle-applier"
        _wait_for(lambda: reads(applier) >= 3, 60)
        seen = Counter(p.split("?")[0] for m, p in list(env.requests) if m == "GET")
        assert seen[f"/api/v1/namespaces/{namespace}"] <= seen[applier] + 1  # (a pass was under way)
        env.cluster.kubectl("-n", namespace, "scale", "deploy", "api", "--replicas=5")
        env.cluster.kubectl(
            "-n", namespace, "label", "--overwrite", "deploy", "api", "unhazzle.io/app=hacked"
        )
        _wait_for(lambda: api()["metadata"]["labels"]["unhazzle.io/app"] == "api", 30)
        env.cluster.kubectl("-n", namespace, "set", "image", "deploy/api", "api=evil:1")
        _wait_for(lambda: api()["spec"]["template"]["spec"]["containers"][0]["image"] != "evil:1", 30)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, log = proc.communicate(timeout=30)
        print(log[-6000:])
    shown = env.cluster.kubectl(
        "get", "deploy", "api", "-n", namespace, "-o", "json", "--show-managed-fields"
    )
    ours = [m for m in json.loads(shown.stdout)["metadata"]["managedFields"] if m["manager"] == "unhazzle"]
    assert ours and "f:replicas" not in ours[0]["fieldsV1"].get("f:spec", {})  # never ours to set
    patches = [p for m, p in env.writes() if m == "PATCH" and "/deployments/api" in p]
    assert len(patches) == 2, patches  # one forced patch per edit, nothing else
    assert proc.returncode == 0


def _has_status(env: Env, namespace: str) -> bool:
    out = env.cluster.kubectl("get", "configmap", "unhazzle-status", "-n", namespace, check=False)
    return out.returncode == 0


def test_reconcile_leaves_an_object_labelled_ours_but_not_in_the_inventory(
    env: Env, cli: Callable[..., Any]
) -> None:
    env.repo.publish(files("foreign"))
    assert env.once(cli)[0] == 0
    env.cluster.kubectl("-n", "foreign-production", "create", "configmap", "someone-elses")
    env.cluster.kubectl("-n", "foreign-production", "label", "configmap", "someone-elses",
                        "app.kubernetes.io/managed-by=unhazzle", "unhazzle.io/app=worker")  # fmt: skip
    env.repo.publish(files("foreign", drop_app="worker"))
    assert env.once(cli)[0] == 0
    remaining = env.objects("foreign-production")
    assert "ConfigMap/someone-elses" in remaining and "Deployment/worker" not in remaining


def test_reconcile_two_replicas_elect_one_leader_and_fail_over(env: Env, cli: Callable[..., Any]) -> None:
    env.cluster.kubectl("create", "namespace", "lease-test", check=False)
    env.repo.publish(files("ha"))
    extra = ("--interval", "1", "--lease-namespace", "lease-test", "--lease-duration", "3")
    first = env.spawn(*extra, "--identity", "one")
    time.sleep(3)
    second = env.spawn(*extra, "--identity", "two")
    try:
        assert _holder(env, within=30) == "one"
        _wait_for(lambda: "Deployment/web" in env.objects("ha-production"), 60)
        first.send_signal(signal.SIGKILL)  # the leader dies without handing over
        killed = time.monotonic()
        assert _holder(env, within=30, other_than="one") == "two"
        takeover = time.monotonic() - killed
        assert takeover < 10, f"took {takeover:.1f}s"
        env.repo.publish(files("ha", drop_app="worker"))
        _wait_for(lambda: "Deployment/worker" not in env.objects("ha-production"), 30)
    finally:
        for proc in (first, second):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        _, err = second.communicate(timeout=30)
        first.communicate(timeout=30)
    assert second.returncode == 0 and '"event": "stopped"' in err  # graceful on SIGTERM
    assert '"event": "standby"' in err and '"event": "leader"' in err


def test_reconcile_once_never_writes_while_another_replica_leads(env: Env, cli: Callable[..., Any]) -> None:
    env.cluster.kubectl("create", "namespace", "lease-once", check=False)
    env.repo.publish(files("leads"))
    lease = ("--lease-namespace", "lease-once", "--lease-duration", "3")
    # The leading loop talks to the cluster directly: the proxy counts what --once sends.
    argv = [sys.executable, "-m", "unhazzle", *env.args("--interval", "1", *lease, "--identity", "replica-a")]
    argv[argv.index(str(env.kubeconfig))] = str(env.cluster.kubeconfig)
    loop = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert _holder(env, within=30, namespace="lease-once") == "replica-a"
        env.requests.clear()
        result = cli(*env.args("--once", *lease))
        assert result.code == 1, result.err[-2000:]
        assert (
            "another reconciler (replica-a) holds the leader lease and keeps renewing it; nothing was applied"
            in result.err
        )
        assert env.writes() == []  # not even the lease: it only looked
    finally:
        loop.send_signal(signal.SIGTERM)
        loop.communicate(timeout=30)
    # Without the lease's namespace: said at once, not a silent standby.
    started = time.monotonic()
    result = cli(*env.args("--once", "--lease-namespace", "no-such-place"))
    assert result.code == 1 and time.monotonic() - started < 30
    assert "the namespace 'no-such-place' of the leader lease does not exist" in result.err


def _holder(env: Env, *, within: float, other_than: str = "", namespace: str = "lease-test") -> str:
    def current() -> str:
        out = env.cluster.kubectl(
            "get", "lease", "unhazzle-reconciler", "-n", namespace, "-o", "json", check=False
        )
        return str(json.loads(out.stdout)["spec"].get("holderIdentity", "")) if out.returncode == 0 else ""

    _wait_for(lambda: current() not in ("", other_than), within)
    return current()


def _wait_for(check: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.3)


# -- observability -----------------------------------------------------------------------------


class _Hook(BaseHTTPRequestHandler):
    """A receiver written from the docs (docs/observability.md, Webhooks) alone."""

    got: list[tuple[bytes, str, str]] = []  # noqa: RUF012

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        got = (body, self.headers["X-Unhazzle-Timestamp"], self.headers["X-Unhazzle-Signature"])
        type(self).got.append(got)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_reconcile_loop_serves_metrics_and_signs_webhooks(env: Env, tmp_path: Path) -> None:
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    secret = tmp_path / "hook.key"
    secret.write_text("s3cret\n")
    port = free_port()
    env.repo.publish(files("hooks"))
    proc = env.spawn("--interval", "1", "--no-leader-election", "--metrics-addr", f"127.0.0.1:{port}",
                     "--webhook", f"http://127.0.0.1:{server.server_address[1]}/",
                     "--webhook-secret-file", str(secret))  # fmt: skip
    try:
        _wait_for(lambda: bool(_Hook.got), 180)
        metrics = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    finally:
        proc.send_signal(signal.SIGTERM)
        _, log = proc.communicate(timeout=30)
        server.shutdown()
        print(log[-6000:])  # shown by pytest only when the test fails: what the reconciler saw
    body, timestamp, signature = _Hook.got[0]
    wanted = hmac.new(b"s3cret", timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(signature, f"sha256={wanted}")
    assert abs(int(timestamp) - time.time()) < 300  # recent: not a replay
    payload = json.loads(body)
    assert payload["type"] == "deploy.succeeded" and payload["format"] == 1
    assert (payload["project"], payload["environment"]) == ("hooks", "production")
    for name in ("unhazzle_reconcile_total", "unhazzle_reconcile_duration_seconds",
                 "unhazzle_objects_applied_total", "unhazzle_objects_pruned_total",
                 "unhazzle_drift_corrections_total", "unhazzle_last_applied_revision"):  # fmt: skip
        assert name in metrics
    assert proc.returncode == 0


def test_reconcile_loop_outlives_a_namespace_being_deleted_then_recreates_it(env: Env) -> None:
    """A namespace held in deletion (here by a finalizer) refuses every write: each pass reports
    it and the loop goes on; once the deletion completes, the environment is created again."""
    kubectl = env.cluster.kubectl
    kubectl("create", "namespace", "gone-production")  # made by an earlier pass: labelled as ours
    kubectl(
        "label",
        "namespace",
        "gone-production",
        *[f"{k}={v}" for k, v in owner_labels("gone", "production").items()],
    )
    held = {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "held", "namespace": "gone-production", "finalizers": ["example.com/hold"]}}  # fmt: skip
    kubectl("apply", "-f", "-", input=json.dumps(held))
    kubectl("delete", "namespace", "gone-production", "--wait=false")
    env.repo.publish(files("gone"))
    proc = env.spawn("--interval", "1", "--no-leader-election")
    log: list[str] = []
    threading.Thread(target=lambda: log.extend(iter(proc.stderr.readline, "")), daemon=True).start()  # type: ignore[union-attr]
    try:
        _wait_for(
            lambda: _count(log, '"event": "reconcile.pass"') >= 2 and _count(log, "being terminated") > 0, 120
        )
        assert proc.poll() is None
        kubectl("patch", "configmap", "held", "-n", "gone-production", "--type=merge",
                "-p", '{"metadata": {"finalizers": null}}')  # fmt: skip
        _wait_for(lambda: any('"health": "healthy"' in line for line in log), 180)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        print("".join(log)[-6000:])  # shown by pytest only when the test fails
    assert "Deployment/web" in env.objects("gone-production")
    assert proc.returncode == 0


def _count(lines: list[str], text: str) -> int:
    return sum(text in line for line in lines)


# -- the whole pipeline: publish, then reconcile with secrets -----------------------------------


def test_publish_then_reconcile_delivers_secrets_and_no_plaintext_anywhere(
    env: Env, cli: Callable[..., Any], tmp_path: Path
) -> None:
    import base64
    import shutil

    from unhazzle.shared.sealed import decrypt as decrypt_secrets_json

    project = tmp_path / "project"
    shutil.copytree(ROOT / "examples" / "shop", project)
    (project / "unhazzle.yaml").write_text(spec("pipe"), encoding="utf-8")
    remote = tmp_path / "env.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(remote)], check=True)
    published = cli("publish", str(project / "unhazzle.yaml"), "--to", str(remote))
    assert published.code == 0, published.err
    key = ROOT / "tests" / "fixtures" / "shop-cluster.agekey"
    sealed = subprocess.run(
        ["git", "--git-dir", str(remote), "show", "main:pipe/production/_secrets.json"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    wanted = decrypt_secrets_json(sealed, key.read_text())
    args = ["reconcile", "--repo", str(remote), "--kubeconfig", str(env.kubeconfig), "--cache-dir",
            str(tmp_path / "cache"), "--timeout", "120", "--once", "--secrets-key-file", str(key)]  # fmt: skip
    result = cli(*args)
    assert result.code == 0, result.err
    for app, values in wanted.items():
        live = json.loads(
            env.cluster.kubectl(
                "get", "secret", f"{app}-secrets", "-n", "pipe-production", "-o", "json"
            ).stdout
        )
        assert {k: base64.b64decode(v).decode() for k, v in live["data"].items()} == dict(values)
    plaintexts = [v for values in wanted.values() for v in values.values()]
    history = subprocess.run(
        ["git", "--git-dir", str(remote), "log", "-p", "--all", "--format=%B"],
        capture_output=True,
        check=True,
    ).stdout
    for value in plaintexts:
        assert value.encode() not in history
        assert value not in result.out and value not in result.err and value not in published.out


def test_reconcile_refuses_a_hostile_folder_and_goes_on_with_the_others(
    env: Env, cli: Callable[..., Any]
) -> None:
    layout = files("ten", envs=("production", "staging"))
    web = layout["ten/production/web.yaml"]
    assert "allowPrivilegeEscalation: false" in web
    layout["ten/production/web.yaml"] = web.replace("allowPrivilegeEscalation: false", "privileged: true", 1)
    env.repo.publish(layout)
    code, events, _ = env.once(cli)
    assert code == 2  # bad input: one environment was refused for what its folder asks
    problems = json.dumps(events)
    assert "ten/production/web.yaml" in problems and "runs privileged" in problems
    assert env.objects("ten-staging")  # the other environment went on
    namespaces = env.cluster.kubectl("get", "namespaces", "-o", "name").stdout
    assert "namespace/ten-production" not in namespaces  # nothing of the refused one was applied


def test_reconcile_with_the_wrong_key_fails_that_environment_and_touches_nothing(
    env: Env, cli: Callable[..., Any], tmp_path: Path
) -> None:
    from tests.support.agekeys import generate_identity
    from unhazzle.shared.age import encrypt

    recipient = SHOP.read_text().split("recipients: [", 1)[1].split("]", 1)[0]
    doc = {
        "format": 1,
        "recipients": [recipient],
        "apps": {"web": {"SESSION_KEY": encrypt("hunter2", [recipient])}},
    }
    layout = files("wrongkey", envs=("production", "staging"))
    env.repo.publish(layout | {"wrongkey/production/_secrets.json": json.dumps(doc)})
    other = tmp_path / "other.agekey"
    other.write_text(generate_identity()[0] + "\n")
    code, events, out = env.once(cli, "--secrets-key-file", str(other))
    assert code == 1
    assert "wrongkey/production/_secrets.json: cannot decrypt" in json.dumps(events)
    assert "hunter2" not in json.dumps(events) and "hunter2" not in out
    namespaces = env.cluster.kubectl("get", "namespaces", "-o", "name").stdout
    assert "namespace/wrongkey-production" not in namespaces
    assert env.objects("wrongkey-staging")  # the other environment was applied


def test_reconcile_applies_only_signed_tips(env: Env, cli: Callable[..., Any], tmp_path: Path) -> None:
    ops = ssh_key(tmp_path / "keys", "ops")
    allowed = tmp_path / "allowed_signers"
    allowed.write_text(ops.trusted_line, encoding="utf-8")
    trusted = ("--trusted-signers", str(allowed))
    signed = env.repo.publish(files("sig"), env=ops.env)
    code, events, _ = env.once(cli, *trusted)
    assert code == 0, events
    before = env.objects("sig-production")

    change = {"drop_app": "worker", "edit": ("shop-web:1.4.2", "shop-web:1.4.3")}
    unsigned = env.repo.publish(files("sig", **change))
    env.cluster.kubectl("-n", "sig-production", "set", "image", "deploy/web", "web=evil:1")
    code, events, _ = env.once(cli, *trusted)
    assert code == 2  # what may not be applied, like a bad spec
    refusal = f"{unsigned[:12]}: not applied: the commit is not signed"
    assert any(refusal in e.get("error", "") for e in _events(events, "source.error")), events
    after = env.objects("sig-production")
    assert set(after) == set(before)  # the worker is still there: nothing of the unsigned tip applied
    image = after["Deployment/web"]["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == "ghcr.io/acme/shop-web:1.4.2"  # and drift is healed from the signed revision
    status = env.status("sig-production")
    assert status["revision"] == signed and any(refusal in error for error in status["errors"])

    fixed = env.repo.publish(files("sig", **change), env=ops.env)
    code, events, _ = env.once(cli, *trusted)
    assert code == 0, [e for e in events if e["level"] == "error"]
    after = env.objects("sig-production")
    assert set(before) - set(after) == {"Deployment/worker", "HorizontalPodAutoscaler/worker"}
    image = after["Deployment/web"]["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == "ghcr.io/acme/shop-web:1.4.3"
    assert env.status("sig-production")["revision"] == fixed and env.status("sig-production")["errors"] == []
