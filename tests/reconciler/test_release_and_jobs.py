"""Release steps and scheduled jobs as the reconciler treats them: a new version waits for its
step, a failed step is never re-run by itself, two steps of one app never overlap, a run in
progress is never stopped by a deploy, and the guard holds a job's instances to the same rules
as an app's."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from ruamel.yaml import YAML

from tests.conftest import EXAMPLES
from unhazzle.compiler.pipeline import compile_file
from unhazzle.compiler.rendering.render import render_plan
from unhazzle.reconciler.objects import Obj, Ref
from unhazzle.reconciler.source.guard import check_manifests, parse_folder
from unhazzle.reconciler.sync import health, prune, release


def rendered(env: str = "production") -> list[Obj]:
    plan = compile_file(EXAMPLES / "busy-api" / "unhazzle.yaml").plan
    files = render_plan(plan, environments=[env])
    yaml = YAML(typ="safe", pure=True)
    return [doc for text in files.values() for doc in yaml.load_all(text) if doc]


def stage_two(objects: list[Obj]) -> list[Obj]:
    return [
        o for o in objects if o["kind"] not in ("Namespace", "ServiceAccount", "ResourceQuota", "LimitRange")
    ]


def job(name: str, app: str, state: str) -> Obj:
    conditions = {
        "succeeded": [{"type": "Complete", "status": "True"}],
        "failed": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}],
        "timed out": [{"type": "Failed", "status": "True", "reason": "DeadlineExceeded"}],
        "running": [],
    }[state]
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "labels": {"unhazzle.io/release-of": app}},
        "spec": {"activeDeadlineSeconds": 900},
        "status": {"conditions": conditions, **({"active": 1} if state == "running" else {})},
    }


def kinds(objects: list[Obj], app: str) -> set[str]:
    return {o["kind"] for o in objects if o["metadata"].get("labels", {}).get("unhazzle.io/app") == app}


def step_of(objects: list[Obj]) -> Obj:
    return next(o for o in objects if release.release_of(o) == "api")


def test_the_rendered_release_step_runs_once_before_its_app_with_the_apps_own_process() -> None:
    objects = rendered()
    step = step_of(objects)
    pod = step["spec"]["template"]["spec"]
    deployment = next(o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "api")
    app_pod = deployment["spec"]["template"]["spec"]
    assert step["spec"]["backoffLimit"] == 0 and step["spec"]["activeDeadlineSeconds"] == 900
    assert pod["restartPolicy"] == "Never"
    assert pod["containers"][0]["image"] == app_pod["containers"][0]["image"]
    assert pod["containers"][0]["env"] == app_pod["containers"][0]["env"]
    assert pod["securityContext"] == app_pod["securityContext"]
    # never in the app's traffic or its autoscaler's count
    assert "unhazzle.io/app" not in step["spec"]["template"]["metadata"]["labels"]


def test_a_new_version_waits_for_its_release_step() -> None:
    objects = stage_two(rendered())
    name = step_of(objects)["metadata"]["name"]

    first = release.gate(objects, [])  # not started yet: the step goes, the app waits
    assert name in {o["metadata"]["name"] for o in first.apply}
    assert kinds(first.apply, "api") == set()
    assert kinds(first.apply, "worker") == {"Deployment", "HorizontalPodAutoscaler", "PodDisruptionBudget"}
    assert "release step starting" in first.waiting["api"]

    running = release.gate(objects, [job(name, "api", "running")])
    assert kinds(running.apply, "api") == set() and "release step running" in running.waiting["api"]

    done = release.gate(objects, [job(name, "api", "succeeded")])
    assert {"Deployment", "Service", "Ingress"} <= kinds(done.apply, "api") and not done.waiting


def test_a_failed_step_holds_its_app_and_is_not_run_again() -> None:
    objects = stage_two(rendered())
    name = step_of(objects)["metadata"]["name"]
    failed = release.gate(objects, [job(name, "api", "failed")])
    assert failed.failed == {"api": name} and kinds(failed.apply, "api") == set()
    # the Job is still applied as it is (unchanged: nothing runs again); only a retry removes it
    assert failed.apply.count(step_of(objects)) == 1


def test_two_steps_of_one_app_never_run_at_once() -> None:
    objects = stage_two(rendered())
    older = job("api-release-0000000000", "api", "running")
    gate = release.gate(objects, [older])
    assert release.release_of(step_of(objects)) not in {release.release_of(o) for o in gate.apply}
    assert "waiting for the previous version's release step (api-release-0000000000)" in gate.waiting["api"]


def test_why_a_step_failed_in_words_with_its_last_lines() -> None:
    pod = {"metadata": {"creationTimestamp": "2026-12-05T10:00:00Z"},
           "status": {"containerStatuses": [{"state": {"terminated": {
               "exitCode": 7, "message": "migrating\nerror: no such table\n"}}}]}}  # fmt: skip
    assert release.failure_reason(job("s", "api", "failed"), [pod]) == "failed (exit code 7)"
    assert release.last_words([pod], lines=1) == "  error: no such table"
    timed_out = release.failure_reason(job("s", "api", "timed out"), [pod])
    assert timed_out == "did not finish within its timeout (900 s) and was stopped"


def test_health_waits_for_a_running_step_and_fails_on_a_failed_one() -> None:
    running = health.assess([job("api-release-1", "api", "running")])
    assert running.releasing == ["api"] and not running.healthy
    failed = health.assess([job("api-release-1", "api", "failed")])
    assert failed.word == "failed" and "release step failed" in failed.failed[0]
    assert health.assess([job("api-release-1", "api", "succeeded")]).healthy


@pytest.mark.parametrize(
    ("kind", "status", "waits"),
    [
        ("CronJob", {"active": [{"name": "payouts-1"}]}, True),
        ("CronJob", {}, False),
        ("Job", {"active": 1}, True),
        ("Job", {"succeeded": 1}, False),
    ],
)
def test_a_run_in_progress_is_not_stopped_by_a_deploy(kind: str, status: dict[str, Any], waits: bool) -> None:
    ref = Ref("batch/v1", kind, "payapi-production", "payouts")
    live = {
        ref: {
            "metadata": {"labels": {"app.kubernetes.io/managed-by": "unhazzle"}, "uid": "u"},
            "status": status,
        }
    }
    plan = prune.plan(frozenset({ref}), frozenset(), live, apps=frozenset())
    assert [r for r, _ in plan.wait] == ([ref] if waits else [])
    assert [r for r, _ in plan.delete] == ([] if waits else [ref])


def test_the_guard_holds_a_jobs_instances_to_the_apps_rules() -> None:
    plan = compile_file(EXAMPLES / "busy-api" / "unhazzle.yaml").plan
    files = {
        p.split("/", 1)[1]: t.encode() for p, t in render_plan(plan, environments=["production"]).items()
    }
    manifests, problems = parse_folder("payapi/production", files)
    assert problems == [] and check_manifests(manifests, project="payapi", environment="production") == []
    yaml = YAML(typ="safe", pure=True)
    cron = yaml.load(files["payouts.yaml"])
    cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["hostNetwork"] = True
    step_docs = list(yaml.load_all(files["api.yaml"]))
    step_docs[0]["spec"]["template"]["spec"]["securityContext"]["runAsUser"] = 0
    for name, docs in (("payouts.yaml", [cron]), ("api.yaml", step_docs)):
        out = []
        for doc in docs:
            buf = StringIO()
            YAML().dump(doc, buf)
            out.append(buf.getvalue())
        edited = {**files, name: "---\n".join(out).encode()}
        manifests, _ = parse_folder("payapi/production", edited)
        refused = check_manifests(manifests, project="payapi", environment="production")
        assert refused and all("refused" in p.message for p in refused), name
