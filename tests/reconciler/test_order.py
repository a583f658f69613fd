"""Order between apps (`after:`): within one deploy an app changes only once the apps it names
are healthy on their new version; in the spec, names are checked and circles refused."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.conftest import MINIMAL, Result
from unhazzle.reconciler.objects import Obj, Ref
from unhazzle.reconciler.sync import diff, order


def deployment(name: str, version: str, *, after: str = "") -> Obj:
    meta: Obj = {"name": name, "namespace": "s-production", "labels": {"unhazzle.io/app": name}}
    if after:
        meta["annotations"] = {"unhazzle.io/after": after}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta,
            "spec": {"replicas": 1, "template": {"spec": {"containers": [{"name": name, "image": f"x/{name}:{version}"}]}}}}  # fmt: skip


def service(name: str) -> Obj:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "s-production",
            "labels": {"unhazzle.io/app": name}}, "spec": {"ports": [{"port": 80}]}}  # fmt: skip


def live_as(desired: Obj, *, rolled_out: bool) -> Obj:
    applied = diff.with_hash(desired)
    status = {"replicas": 1, "updatedReplicas": 1, "availableReplicas": 1 if rolled_out else 0}
    return {**applied, "metadata": {**applied["metadata"], "generation": 2},
            "status": {**status, "observedGeneration": 2}}  # fmt: skip


def test_an_app_waits_while_the_app_it_comes_after_changes_or_rolls_out() -> None:
    api, web = deployment("api", "2"), deployment("web", "2", after="api")
    objects = [api, service("api"), web, service("web")]
    old = {Ref.of(api): live_as(deployment("api", "1"), rolled_out=True),
           Ref.of(web): live_as(deployment("web", "1", after="api"), rolled_out=True)}  # fmt: skip

    apply, waiting = order.gate(objects, old)  # api changes in this pass: web waits, whole
    assert [o["metadata"]["name"] for o in apply] == ["api", "api"]
    assert waiting == {"web": "app web: waits for api to be healthy on the new version before it changes"}

    rolling = {**old, Ref.of(api): live_as(api, rolled_out=False)}  # api applied, not ready yet
    assert order.gate(objects, rolling)[1].keys() == {"web"}

    done = {**old, Ref.of(api): live_as(api, rolled_out=True)}  # api healthy on version 2: web goes
    apply, waiting = order.gate(objects, done)
    assert waiting == {} and len(apply) == 4


def test_an_app_that_does_not_change_waits_for_nothing() -> None:
    api, web = deployment("api", "2"), deployment("web", "1", after="api")
    live = {
        Ref.of(api): live_as(deployment("api", "1"), rolled_out=True),
        Ref.of(web): live_as(web, rolled_out=True),
    }
    assert order.gate([api, web], live)[1] == {}


RunCli = Callable[..., Result]


def test_after_names_apps_of_the_spec_and_never_a_circle(
    cli: RunCli, write_spec: Callable[[str], Path]
) -> None:
    text = MINIMAL + (
        "    after: [api]\n  api:\n    image: x/api:1\n    port: 80\n    after: [worker, web]\n"
        "  worker:\n    image: x/w:1\n    after: [wrker]\n"
    )
    result = cli("validate", str(write_spec(text)))
    assert result.code == 2
    assert "apps.web.after: web -> api -> web wait for each other in a circle (in production)" in result.err
    assert ":17:13: error: apps.worker.after: no app named 'wrker' (did you mean 'worker'?)" in result.err
    plan = cli(
        "plan", str(write_spec(MINIMAL + "    after: [api]\n  api:\n    image: x/api:1\n    port: 80\n"))
    )
    assert (
        plan.code == 0 and "order     after api: its new version waits for theirs to be healthy" in plan.out
    )
