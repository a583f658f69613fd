"""The reconciler's pure core, without a cluster: normalisation and diff, inventory, prune
planning, health, revision parsing, secrets seam, webhook signing, install manifests."""

from __future__ import annotations

import base64
import errno
import gc
import hashlib
import hmac
import io
import json
import os
import shutil
import subprocess
import threading
import weakref
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from tests.support.envrepo import EnvRepo, shop_files
from unhazzle.reconciler import install as manifests
from unhazzle.reconciler.objects import Ref, stage
from unhazzle.reconciler.run.reconciler import Reconciler
from unhazzle.reconciler.run.state import EnvOutcome, LoopOptions
from unhazzle.reconciler.run.telemetry import Log
from unhazzle.reconciler.run.webhooks import Webhook, event
from unhazzle.reconciler.source import guard
from unhazzle.reconciler.source.git import (
    GitSource,
    NoSuchBranch,
    NoSuchRepo,
    SourceError,
    parse_environment,
    parse_revision,
)
from unhazzle.reconciler.sync import diff, health, inventory, prune, rbac
from unhazzle.reconciler.sync.apply import Digests, Verified
from unhazzle.reconciler.sync.secrets import secret_objects
from unhazzle.shared import gitrun


def deployment(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web",
            "namespace": "shop-production",
            "labels": {"app.kubernetes.io/managed-by": "unhazzle", "unhazzle.io/app": "web"},
        },
        "spec": spec,
    }


# -- normalisation and diff ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [("1000m", "1", True), ("0.5", "500m", True), ("1Gi", "1024Mi", True), ("256Mi", "268435456", True),
     ("1k", "1000", True), ("2", 2, True), ("1e3", "1k", True), ("100m", "1", False), ("1Gi", "1G", False),
     ("abc", "abc", False), ("", "0", False),
     # no quantities: unequal, never computed (ten million digits) nor a crash
     ("1e9999999", "1e9999999", False), (float("inf"), float("inf"), False), ("1/2", "0.5", False)],
)  # fmt: skip
def test_quantity_equal_when_the_server_rewrites_it(a: Any, b: Any, same: bool) -> None:
    assert diff.same_quantity(a, b) is same


def test_contains_ignores_defaults_and_quantity_spelling() -> None:
    desired = deployment(
        template={"spec": {"containers": [{"name": "web", "resources": {"limits": {"cpu": "1000m"}}}]}}
    )
    live = deployment(
        replicas=3,  # the autoscaler's field: not ours, not drift
        template={"spec": {"containers": [{"name": "web", "imagePullPolicy": "Always",
                                           "resources": {"limits": {"cpu": "1"}}}],
                           "dnsPolicy": "ClusterFirst"}},
    )  # fmt: skip
    live["metadata"]["managedFields"] = [{"manager": "kube-controller-manager"}]
    live["status"] = {"availableReplicas": 3}
    assert diff.contains(desired, live)


def test_contains_sees_a_changed_value_and_a_removed_item() -> None:
    desired = deployment(template={"spec": {"containers": [{"name": "web", "image": "a:1"}]}})
    assert not diff.contains(
        desired, deployment(template={"spec": {"containers": [{"name": "web", "image": "a:2"}]}})
    )
    assert not diff.contains(desired, deployment(template={"spec": {"containers": []}}))
    # a label value that looks like a quantity is still compared as text
    assert not diff.contains({"metadata": {"labels": {"x": "1000m"}}}, {"metadata": {"labels": {"x": "1"}}})


def test_contains_treats_empty_as_absent() -> None:
    assert diff.contains(deployment(selector={}, template={"metadata": {"annotations": {}}}), deployment())


def test_changed_ignores_server_bookkeeping() -> None:
    live = deployment(replicas=2)
    merged = json.loads(json.dumps(live))
    live["metadata"].update(resourceVersion="1", managedFields=[{"manager": "a"}], generation=1, uid="u")
    merged["metadata"].update(resourceVersion="2", managedFields=[{"manager": "b"}], generation=2, uid="u")
    merged["status"] = {"observedGeneration": 2}
    assert not diff.changed(merged, live)
    merged["spec"]["replicas"] = 3
    assert diff.changed(merged, live)


def test_hash_ignores_key_order_and_marks_what_was_applied() -> None:
    a = deployment(replicas=1, paused=False)
    b = deployment(paused=False, replicas=1)
    assert diff.applied_hash(a) == diff.applied_hash(b)
    stamped = diff.with_hash(a)
    assert diff.up_to_date(stamped, stamped)
    assert not diff.up_to_date(stamped, diff.with_hash(deployment(replicas=2, paused=False)))
    assert not diff.up_to_date(stamped, None)


def test_verified_holds_only_for_the_same_desired_object_and_live_version() -> None:
    ref = Ref("apps/v1", "Deployment", "shop-production", "web")
    live = deployment(replicas=1)
    live["metadata"]["resourceVersion"] = "41"
    edited = json.loads(json.dumps(live))
    edited["metadata"]["resourceVersion"] = "42"  # any stored change: an edit, a status update
    verified = Verified()
    verified.record(ref, "hash-a", live, unchanged=True)
    assert verified.holds(ref, "hash-a", live)
    assert not verified.holds(ref, "hash-b", live)  # the desired object changed
    assert not verified.holds(ref, "hash-a", edited)  # the live object changed
    assert not verified.holds(ref, "hash-a", None)  # the live object is gone
    verified.record(ref, "hash-a", live, unchanged=False)  # a later check found a difference
    assert not verified.holds(ref, "hash-a", live)
    verified.record(ref, "hash-a", deployment(), unchanged=True)  # no version: nothing to prove
    assert not verified.holds(ref, "hash-a", deployment())


class _Weak(dict[str, Any]):
    """A desired object that can be watched for being kept alive (a plain dict cannot)."""


def test_a_desired_objects_hash_is_worked_out_once_a_revision_and_forgotten_with_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    digests = Digests()
    obj = _Weak(deployment(replicas=1))
    stamped, digest = digests.of(obj)
    assert stamped == diff.with_hash(obj) and digest == diff.applied_hash(obj)
    digests.next_pass()
    monkeypatch.setattr(diff, "applied_hash", lambda obj: pytest.fail("hashed again"))
    assert digests.of(obj) == (stamped, digest)  # the next pass asks again: not hashed again
    monkeypatch.undo()
    twin = _Weak(deployment(replicas=2))  # another object: its own hash, never the first's
    assert digests.of(twin)[1] == diff.applied_hash(twin) != digest
    gone = weakref.ref(obj)
    del obj, stamped
    digests.next_pass()
    digests.next_pass()  # a whole pass without it (its revision was replaced)
    gc.collect()
    assert gone() is None


def test_hash_and_stamp_leave_the_desired_object_untouched() -> None:
    obj = deployment(replicas=1)
    obj["metadata"]["annotations"] = {"a": "b", diff.HASH_ANNOTATION: "from-git"}
    before = json.dumps(obj)
    stamped = diff.with_hash(obj)
    assert json.dumps(obj) == before
    assert stamped["metadata"]["annotations"] == {"a": "b", diff.HASH_ANNOTATION: diff.applied_hash(obj)}
    del obj["metadata"]["annotations"][diff.HASH_ANNOTATION]
    assert diff.applied_hash(obj) == diff.applied_hash(stamped)  # the annotation is not hashed


@given(
    st.dictionaries(
        st.text(min_size=1, max_size=5), st.one_of(st.integers(), st.text(max_size=5)), max_size=5
    )
)
def test_contains_is_reflexive(spec: dict[str, Any]) -> None:
    obj = deployment(**spec)
    assert diff.contains(obj, obj)
    assert diff.up_to_date(diff.with_hash(obj), diff.with_hash(obj))


def test_secret_values_are_masked_in_diffs() -> None:
    before = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "web-secrets", "namespace": "n"},
              "data": {"SESSION_KEY": base64.b64encode(b"hunter2").decode()}}  # fmt: skip
    after = json.loads(json.dumps(before))
    after["data"]["SESSION_KEY"] = base64.b64encode(b"swordfish").decode()
    text = diff.render_diff(before, after, name="Secret/n/web-secrets")
    assert "SESSION_KEY" in text and "changed" in text
    for secret in (b"hunter2", b"swordfish"):
        assert secret.decode() not in text and base64.b64encode(secret).decode() not in text


# -- inventory and prune planning ------------------------------------------------------------


def ref(kind: str, name: str, api: str = "v1") -> Ref:
    return Ref(api, kind, "shop-production", name)


def live_obj(r: Ref, *, ours: bool = True, app: str = "web") -> dict[str, Any]:
    labels = {"unhazzle.io/app": app, **({"app.kubernetes.io/managed-by": "unhazzle"} if ours else {})}
    return {
        "apiVersion": r.api_version,
        "kind": r.kind,
        "metadata": {"name": r.name, "namespace": r.namespace, "uid": f"uid-{r.name}", "labels": labels},
    }


def test_inventory_round_trips_through_its_configmap() -> None:
    inv = inventory.Inventory(
        "shop/production",
        "shop-production",
        "abc",
        frozenset({ref("Service", "web"), ref("Deployment", "web", "apps/v1")}),
    )
    assert inventory.from_configmap(inventory.to_configmap(inv)) == inv


def test_inventory_garbage_is_an_error_not_an_empty_inventory() -> None:
    with pytest.raises(ValueError, match="not an inventory"):
        inventory.from_configmap(
            {
                "metadata": {"name": "x", "namespace": "n"},
                "data": {"environment": "e", "objects": "bad line\n"},
            }
        )


def test_prune_deletes_only_previous_objects_gone_from_the_revision() -> None:
    svc, dep, stray = ref("Service", "web"), ref("Deployment", "web", "apps/v1"), ref("Service", "stray")
    live = {r: live_obj(r) for r in (svc, dep, stray)}
    result = prune.plan(frozenset({svc, dep}), frozenset({dep}), live, apps=frozenset({"web"}))
    assert result.delete == [(svc, "uid-web")]  # `stray` carries our label but was never ours
    assert result.keep == []


def test_prune_keeps_what_lost_our_label_namespaces_and_volumes_of_live_apps() -> None:
    mine, taken, ns = (
        ref("Service", "api"),
        ref("Service", "taken"),
        Ref("v1", "Namespace", "", "shop-production"),
    )
    pvc_live, pvc_gone = ref("PersistentVolumeClaim", "cache-data"), ref("PersistentVolumeClaim", "old-data")
    live = {mine: live_obj(mine), taken: live_obj(taken, ours=False), ns: live_obj(ns),
            pvc_live: live_obj(pvc_live, app="cache"), pvc_gone: live_obj(pvc_gone, app="old")}  # fmt: skip
    result = prune.plan(
        frozenset(live),
        frozenset(),
        live,
        apps=frozenset({"cache"}),
        scope="shop/production",
        deletable=frozenset({"old"}),
    )
    assert [r for r, _ in result.delete] == [pvc_gone, mine]
    assert {r for r, _ in result.keep} == {taken, ns, pvc_live}


def test_prune_holds_a_removed_apps_volume_until_a_commit_allows_its_deletion() -> None:
    pvc = ref("PersistentVolumeClaim", "old-data")
    live = {pvc: live_obj(pvc, app="old")}
    result = prune.plan(frozenset(live), frozenset(), live, apps=frozenset({"web"}), scope="shop/production")
    assert result.delete == [] and result.keep == []
    [(held, why)] = result.hold
    assert held == pvc
    assert why.startswith("shop/production: app 'old' left the environment repo, but no commit allowed")
    assert "publish with --allow-delete-volume, or commit with the trailer " in why
    assert "'Unhazzle-Allow-Delete-Volume: shop/production/old'" in why


def test_prune_of_a_removed_environment_keeps_its_volumes() -> None:
    pvc = ref("PersistentVolumeClaim", "cache-data")
    result = prune.plan(frozenset({pvc}), frozenset(), {pvc: live_obj(pvc, app="cache")}, apps=None)
    assert result.delete == [] and "data" in result.keep[0][1]


def test_prune_skips_objects_already_gone() -> None:
    svc = ref("Service", "web")
    assert prune.plan(frozenset({svc}), frozenset(), {svc: None}, apps=frozenset()).delete == []


# -- health ------------------------------------------------------------------------------------


def _dep(available: int, *, generation: int = 1, observed: int = 1, reason: str = "") -> dict[str, Any]:
    obj = deployment(replicas=2)
    obj["metadata"]["generation"] = generation
    conditions = [
        {
            "type": "Progressing",
            "status": "False" if reason else "True",
            "reason": reason or "NewReplicaSetAvailable",
        }
    ]
    obj["status"] = {
        "observedGeneration": observed,
        "availableReplicas": available,
        "updatedReplicas": available,
        "conditions": conditions,
    }
    return obj


def _hpa(minimum: int, able: str | None = "True") -> dict[str, Any]:
    conditions = [{"type": "AbleToScale", "status": able, "reason": "SucceededGetScale"}] if able else []
    return {"kind": "HorizontalPodAutoscaler", "metadata": {"name": "web"},
            "spec": {"scaleTargetRef": {"name": "web"}, "minReplicas": minimum},
            "status": {"conditions": conditions}}  # fmt: skip


def test_health_needs_the_autoscalers_minimum_available() -> None:
    assert health.assess([_dep(2), _hpa(2)]).healthy
    verdict = health.assess([_dep(1), _hpa(3)])
    assert verdict.word == "progressing" and verdict.waiting == ["app web: 1 of 3 instances available"]


def test_health_waits_while_the_new_version_is_not_ready_though_the_old_one_serves() -> None:
    rolling = _dep(2)
    rolling["status"] |= {"replicas": 3, "updatedReplicas": 2, "availableReplicas": 2}  # 1 old + 1 new ready
    assert health.assess([rolling]).waiting == [
        "app web: new version not ready yet; the previous one still serves"
    ]
    rolling["status"] |= {"replicas": 2, "availableReplicas": 1, "updatedReplicas": 2}
    assert health.assess([rolling, _hpa(1)]).waiting == [
        "app web: new version not ready yet; the previous one still serves"
    ]
    rolling["status"] |= {"availableReplicas": 2}
    assert health.assess([rolling]).healthy


def test_health_waits_for_a_new_generation_and_fails_past_the_deadline() -> None:
    assert "not picked up" in health.assess([_dep(2, generation=2, observed=1)]).waiting[0]
    assert health.assess([_dep(0, reason="ProgressDeadlineExceeded")]).word == "failed"


def test_health_needs_bound_volumes_and_an_autoscaler_able_to_scale() -> None:
    pvc = {
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "cache-data"},
        "status": {"phase": "Pending"},
    }
    assert health.assess([pvc]).waiting == ["volume cache-data: pending, not bound yet"]
    assert "cannot scale" in health.assess([_dep(2), _hpa(2, able="False")]).waiting[0]
    assert "not checked" in health.assess([_dep(2), _hpa(2, able=None)]).waiting[0]


def test_health_words_use_apps_and_instances_not_kubernetes_words() -> None:
    text = " ".join(health.assess([_dep(0), _hpa(2, able="False")]).waiting).lower()
    for word in ("deployment", "pod", "replica", "hpa"):
        assert word not in text


NS = "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n"

# -- revisions ---------------------------------------------------------------------------------


def test_revision_of_the_shop_example_parses_with_namespaces_first() -> None:
    files = shop_files()
    rev = parse_revision("c" * 40, files)
    assert sorted(rev.environments) == ["shop/production", "shop/staging"]
    env = rev.environments["shop/production"]
    assert env.problems == [] and env.namespace == "shop-production"
    assert env.apps == {"web", "api", "worker", "cache"}
    assert env.objects[0]["kind"] == "Namespace" and stage(env.objects[0]) == 0


@pytest.mark.parametrize(
    ("files", "problem"),
    [({"_environment.yaml": "", "web.yaml": ""}, "holds no objects"),
     ({"_environment.yaml": NS + "---\napiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: x}\n"},
      "outside the environment's namespace"),
     ({"_environment.yaml": "kind: [", "web.yaml": ""}, "not valid YAML"),
     ({"_environment.yaml": "- just\n- a list\n"}, "not a Kubernetes object"),
     ({"_environment.yaml": "apiVersion: v1\nkind: Service\nmetadata: {name: s}\n"}, "no namespace"),
     ({"_environment.yaml": NS + "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: admin}\n"},
      "ClusterRole/-/admin: refused: rbac.authorization.k8s.io/v1 ClusterRole is not a kind Unhazzle manages here"),
     ({"_environment.yaml": NS, "_secrets.json": "{"}, "not a valid secrets"),
     ({"_environment.yaml": NS, "_index.json": "[]"}, "not a valid index")],
)  # fmt: skip
def test_environment_with_hostile_or_broken_files_is_refused(files: dict[str, str], problem: str) -> None:
    env = parse_environment("p/e", files)
    assert any(problem in p for p in env.problems), env.problems


def test_git_source_polls_the_tip_and_reads_a_commit(tmp_path: Path) -> None:
    repo = EnvRepo(tmp_path)
    first = repo.publish(shop_files(environments=["production"]))
    source = GitSource(repo.url, "main", tmp_path / "cache")
    assert source.remote_tip() == first
    source.fetch(first)
    assert list(source.read(first).environments) == ["shop/production"]
    second = repo.publish(shop_files())
    assert source.remote_tip() == second
    source.fetch(second)
    assert len(source.read(second).environments) == 2
    empty = repo.publish({})
    source.fetch(empty)
    assert source.read(empty).environments == {}
    assert source.read(second).environments.keys() == {"shop/production", "shop/staging"}  # cached form


def test_a_broken_mirror_is_made_again_and_a_last_tip_is_still_known(tmp_path: Path) -> None:
    """The mirror is only a cache: a folder left half-made (a disk filled, a kill) starts again."""
    repo = EnvRepo(tmp_path)
    tip = repo.publish(shop_files(environments=["production"]))
    source = GitSource(repo.url, "main", tmp_path / "cache")
    source.fetch(tip)
    assert source.local_tip() == tip
    shutil.rmtree(source.mirror / "objects")
    again = GitSource(repo.url, "main", tmp_path / "cache")
    again.fetch(again.remote_tip())
    assert list(again.read(tip).environments) == ["shop/production"]
    assert again.local_tip() == tip


def test_the_remote_is_asked_under_the_mirrors_settings_not_the_current_folders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reconciler started inside someone's checkout never takes that repo's Git settings (a
    URL rewrite here; an SSH command there would run it) when it asks the remote."""
    repo = EnvRepo(tmp_path)
    tip = repo.publish(shop_files(environments=["production"]))
    checkout = tmp_path / "checkout"
    subprocess.run(["git", "init", "--quiet", str(checkout)], check=True)
    rewrite = f"url.{tmp_path / 'nowhere.git'}.insteadOf"
    subprocess.run(["git", "-C", str(checkout), "config", rewrite, repo.url], check=True)
    monkeypatch.chdir(checkout)
    assert GitSource(repo.url, "main", tmp_path / "cache").remote_tip() == tip


def test_git_that_cannot_start_for_a_moment_is_a_source_error_and_no_git_is_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process limit reached for a moment is tried again next poll, like any Git trouble; no
    Git at all is said as it is (install Git), not polled for ever."""
    repo = EnvRepo(tmp_path)
    repo.publish(shop_files(environments=["production"]))
    source = GitSource(repo.url, "main", tmp_path / "cache")

    def refused(code: int) -> Callable[..., None]:
        def popen(*args: Any, **kwargs: Any) -> None:
            raise OSError(code, os.strerror(code))

        return popen

    monkeypatch.setattr(gitrun.subprocess, "Popen", refused(errno.EAGAIN))
    with pytest.raises(SourceError) as failed:
        source.remote_tip()
    assert "cannot start it now" in str(failed.value)
    monkeypatch.setattr(gitrun.subprocess, "Popen", refused(errno.ENOENT))
    with pytest.raises(gitrun.GitUnavailable) as missing:
        source.remote_tip()
    assert "install Git" in str(missing.value) and not isinstance(missing.value, SourceError)


def test_the_remote_is_asked_even_when_the_mirror_is_broken(tmp_path: Path) -> None:
    """The mirror is only a cache: a broken one (a disk that filled up) is no reason to say the
    environment repo does not exist."""
    repo = EnvRepo(tmp_path)
    tip = repo.publish(shop_files(environments=["production"]))
    source = GitSource(repo.url, "main", tmp_path / "cache")
    source.fetch(tip)
    (source.mirror / "HEAD").write_bytes(b"")
    assert GitSource(repo.url, "main", tmp_path / "cache").remote_tip() == tip


def test_git_source_refuses_a_folder_holding_a_symbolic_link(tmp_path: Path) -> None:
    repo = EnvRepo(tmp_path)
    links = {"shop/production/passwd.yaml": "/etc/passwd", "shop/production/web2.yaml": "web.yaml"}
    tip = repo.publish(shop_files(environments=["production", "staging"]), links=links)
    source = GitSource(repo.url, "main", tmp_path / "cache")
    source.fetch(tip)
    revision = source.read(tip)
    problems = revision.environments["shop/production"].problems
    for link in links:
        assert any(p.startswith(f"{link}:1:1: error: a symbolic link") for p in problems), problems
    assert revision.environments["shop/staging"].problems == []  # the other folder goes on


def test_git_source_errors_say_where(tmp_path: Path) -> None:
    source = GitSource(str(tmp_path / "missing.git"), "main", tmp_path / "cache")
    with pytest.raises(NoSuchRepo, match=r"missing\.git: no such environment repo"):
        source.remote_tip()
    repo = EnvRepo(tmp_path / "r")
    repo.publish(shop_files(environments=["staging"]))
    with pytest.raises(NoSuchBranch, match="branch 'other' does not exist; it has main"):
        GitSource(repo.url, "other", tmp_path / "cache").remote_tip()
    with pytest.raises(SourceError, match="cannot read the commit"):
        GitSource(repo.url, "main", tmp_path / "cache").read("f" * 40)


# -- secrets seam, webhooks, install manifests -------------------------------------------------


def test_secret_objects_one_per_app_with_base64_values() -> None:
    objs = secret_objects(
        "shop-production", {"web": {"SESSION_KEY": "s3cret"}}, project="shop", environment="production"
    )
    assert [o["metadata"]["name"] for o in objs] == ["web-secrets"]
    assert base64.b64decode(objs[0]["data"]["SESSION_KEY"]) == b"s3cret"
    assert objs[0]["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "unhazzle"


def test_environment_with_secrets_needs_a_decryptor_and_then_gets_one_secret_per_app() -> None:
    env = parse_environment(
        "shop/production",
        {**_folder(), "_secrets.json": '{"format": 1, "recipients": ["age1cluster"], "apps": {"web": {}}}'},
    )
    assert env.problems == [] and env.secrets is not None
    outcome = EnvOutcome(env.key, env.namespace, "c" * 40)
    refused = Reconciler(None, None, LoopOptions(), log=Log(io.StringIO()))  # type: ignore[arg-type]
    assert refused._with_secrets(env, outcome) is None
    # which flag to pass, and which key it must be
    assert "pass --secrets-key-file FILE, the age key of one of age1cluster" in outcome.errors[0]
    opened = Reconciler(
        None, None, LoopOptions(), log=Log(io.StringIO()), decrypt=lambda doc: {"web": {"K": "v"}}
    )  # type: ignore[arg-type]
    objects = opened._with_secrets(env, EnvOutcome(env.key, env.namespace, "c" * 40))
    assert objects is not None and objects[-1]["kind"] == "Secret"
    assert objects[-1]["metadata"]["name"] == "web-secrets"


def _folder() -> dict[str, str]:
    files = shop_files(environments=["production"])
    return {path.rsplit("/", 1)[1]: text for path, text in files.items()}


class _Receiver(BaseHTTPRequestHandler):
    received: list[tuple[bytes, str, str]] = []  # noqa: RUF012
    fail_first = 0

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append(
            (body, self.headers["X-Unhazzle-Timestamp"], self.headers["X-Unhazzle-Signature"])
        )
        if len(type(self).received) <= type(self).fail_first:
            self.send_response(503)
        else:
            self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[str]:
    _Receiver.received, _Receiver.fail_first = [], 2
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()


def test_webhook_is_signed_and_retried_until_delivered(receiver: str) -> None:
    hook = Webhook(receiver, "key", backoff=0.05)
    hook.send(event("deploy.succeeded", project="shop", environment="production", message="healthy"))
    hook.drain()
    assert len(_Receiver.received) == 3  # two 503s, then delivered
    # As the docs say a receiver checks it: HMAC-SHA256 with the secret over TIMESTAMP "." body.
    body, timestamp, signature = _Receiver.received[-1]
    assert (
        signature
        == "sha256=" + hmac.new(b"key", timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    )
    assert json.loads(body)["type"] == "deploy.succeeded"
    assert [d.ok for d in hook.deliveries] == [True]


def test_install_manifests_are_narrow_and_complete() -> None:
    docs = list(
        yaml.safe_load_all(manifests.render(manifests.InstallOptions(repo="https://git.example.com/env.git")))
    )
    kinds = [d["kind"] for d in docs]
    assert kinds == [
        "Namespace",
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "ClusterRole",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
        "Role",
        "RoleBinding",
        "Deployment",
        "Service",
    ]
    own, applier = docs[2]["rules"], docs[4]["rules"]
    for rules in (own, applier):
        assert all("*" not in r["verbs"] and "*" not in r["resources"] for r in rules)
        assert not any(res in ("nodes", "pods/exec", "pods/log") for r in rules for res in r["resources"])
        # instances may be listed (a failed release step's last words), never written
        assert all(r["verbs"] == ["list"] for r in rules if {"pods", "replicasets"} & set(r["resources"]))
        assert not any("escalate" in r["verbs"] for r in rules)
    # The reconciler itself writes no tenant object: every write it may do is named, or a Namespace.
    writes = [r for r in own if set(r["verbs"]) - {"get", "list"}]
    assert all(
        r.get("resourceNames") == ["unhazzle-applier"] or r["resources"] == ["namespaces"] for r in writes
    )
    # delete: a preview's namespace only, which the admission policy enforces (tested on the plane)
    assert next(r for r in own if "namespaces" in r["resources"])["verbs"] == [
        "get",
        "create",
        "patch",
        "delete",
    ]
    assert {"bind", "impersonate"} <= {v for r in own for v in r["verbs"]}
    # The applier holds exactly the kinds our own check allows (plus the reconciler's ConfigMaps
    # and Secrets, and a list of instances), and nothing cluster-wide or about RBAC.
    granted = {res for r in applier for res in r["resources"]}
    assert granted == {rbac.plural(kind) for _, kind in guard.ALLOWED_KINDS if kind != "Namespace"} | {
        "configmaps",
        "secrets",
        "pods",  # listed only (asserted above)
        "replicasets",
    }
    assert not {"namespaces", "roles", "rolebindings", "clusterroles"} & granted


@pytest.mark.parametrize(
    ("kind", "plural"),
    [("NetworkPolicy", "networkpolicies"), ("Ingress", "ingresses"), ("Deployment", "deployments")],
)
def test_rbac_plural_matches_the_api_names(kind: str, plural: str) -> None:
    assert rbac.plural(kind) == plural


def test_install_manifests_validate_against_the_kubernetes_schema() -> None:
    import kubernetes_validate

    for doc in yaml.safe_load_all(manifests.render(manifests.InstallOptions())):
        kubernetes_validate.validate(doc, "1.31", strict=True)


def test_reconciler_manifests_command_prints_them(cli: Any) -> None:
    result = cli("install-manifests", "--repo", "https://git.example.com/e.git", "--replicas", "3")
    assert result.code == 0
    deployment_doc = next(d for d in yaml.safe_load_all(result.out) if d["kind"] == "Deployment")
    assert deployment_doc["spec"]["replicas"] == 3


@pytest.mark.parametrize(
    "args",
    [
        ["--interval", "0"],
        ["--metrics-addr", "nope"],
        ["--webhook", "http://127.0.0.1:1/x"],
        ["--webhook", "ftp://x", "--webhook-secret-file", "f"],
    ],
)
def test_reconcile_rejects_bad_flags_with_exit_2(cli: Any, args: list[str]) -> None:
    result = cli("reconcile", "--repo", "/nonexistent", *args)
    assert result.code == 2 and "Traceback" not in result.err


def test_install_manifests_mount_the_age_key_from_a_secret_when_named(cli: Any) -> None:
    result = cli("install-manifests", "--secrets-key-secret", "unhazzle-age-key")
    assert result.code == 0, result.err
    deployment = next(d for d in yaml.safe_load_all(result.out) if d and d["kind"] == "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    # Group-readable for the reconciler's group, which owns the mounted files (fsGroup).
    assert {"name": "secrets-key", "secret": {"secretName": "unhazzle-age-key", "defaultMode": 0o440}} in pod[
        "volumes"
    ]
    assert pod["securityContext"]["fsGroup"] == pod["securityContext"]["runAsGroup"] == 10001
    args = pod["containers"][0]["args"]
    assert args[args.index("--secrets-key-file") + 1] == "/etc/unhazzle/secrets-key/key.txt"
    assert "--secrets-key-file" not in cli("install-manifests").out
