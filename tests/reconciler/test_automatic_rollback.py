"""Automatic rollback, decided from the cluster's objects: a stalled new version goes back to the
one before it, says why in words, and is not applied again before a new commit; an environment
can leave it to people instead."""

from __future__ import annotations

from typing import Any

from tests.conftest import MINIMAL
from unhazzle.compiler.pipeline import compile_text
from unhazzle.compiler.rendering.render import render_plan
from unhazzle.reconciler.objects import Obj
from unhazzle.reconciler.sync import diff, health, rollback


def deployment(image: str, **annotations: str) -> Obj:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "api", "namespace": "s-production", "annotations": dict(annotations)},
            "spec": {"replicas": 1, "template": {"metadata": {"labels": {"unhazzle.io/app": "api"}},
                                                  "spec": {"containers": [{"name": "api", "image": image}]}}}}  # fmt: skip


def live(desired: Obj, *, revision: int, stalled: bool) -> Obj:
    applied = diff.with_hash(desired)
    meta = {**applied["metadata"], "uid": "u1",
            "annotations": {**applied["metadata"]["annotations"], rollback.REVISION: str(revision)}}  # fmt: skip
    reason = "ProgressDeadlineExceeded" if stalled else "NewReplicaSetAvailable"
    status = {
        "conditions": [{"type": "Progressing", "status": "False" if stalled else "True", "reason": reason}]
    }
    return {**applied, "metadata": meta, "status": status}


def replica_set(image: str, revision: int, owner: str = "u1") -> Obj:
    return {"metadata": {"annotations": {rollback.REVISION: str(revision)}, "ownerReferences": [{"uid": owner}]},
            "spec": {"template": {"metadata": {"labels": {"unhazzle.io/app": "api", "pod-template-hash": "abc"}},
                                  "spec": {"containers": [{"name": "api", "image": image}]}}}}  # fmt: skip


def test_a_stalled_new_version_goes_back_to_the_one_before_it() -> None:
    new = deployment("x/api:3")
    found = live(new, revision=3, stalled=True)
    assert rollback.due(new, found)
    sets = [replica_set("x/api:1", 1), replica_set("x/api:2", 2), replica_set("x/api:3", 3),
            replica_set("x/other:9", 2, owner="someone-else")]  # fmt: skip
    template = rollback.previous_template(found, sets)
    assert template is not None and template["spec"]["containers"][0]["image"] == "x/api:2"
    assert "pod-template-hash" not in template["metadata"]["labels"]
    back = rollback.rolled_back(new, template, "crashed at start (exit code 3)")
    assert back["spec"]["template"] == template
    # the next pass, same commit: the rolled-back version is kept, the failed one not re-applied
    after = live(back, revision=4, stalled=False)
    assert rollback.holds(new, after) and not rollback.due(new, after)
    assert rollback.reason(after) == "crashed at start (exit code 3)"
    # a new commit's version is applied as usual
    assert not rollback.holds(deployment("x/api:4"), after)


def test_a_revision_not_written_in_ascii_digits_is_no_revision() -> None:
    # Python's int() takes '\u0661' and refuses '\u00b2' (which isdigit() takes): neither is a
    # revision the cluster writes, so neither counts, and neither stops the pass
    found = live(deployment("x/api:3"), revision=3, stalled=True)
    for odd in ("\u00b2", "\u0661", "9" * 5000):
        sets = [replica_set("x/api:2", 2)]
        sets[0]["metadata"]["annotations"][rollback.REVISION] = odd
        assert rollback.previous_template(found, sets) is None


def test_only_a_stalled_version_of_this_revision_in_an_environment_that_wants_it() -> None:
    new = deployment("x/api:3")
    assert not rollback.due(new, live(new, revision=3, stalled=False))
    assert not rollback.due(new, live(deployment("x/api:2"), revision=2, stalled=True))  # not ours yet
    manual = deployment("x/api:3", **{"unhazzle.io/automatic-rollback": "false"})
    assert not rollback.due(manual, live(manual, revision=3, stalled=True))
    assert health.assess([live(new, revision=3, stalled=True)]).stalled == ["api"]
    assert health.assess([live(manual, revision=3, stalled=True)]).stalled == []


def pod(state: dict[str, Any], last: dict[str, Any] | None = None, ready: bool = False) -> Obj:
    status = {
        "name": "api",
        "state": state,
        "ready": ready,
        "lastState": {"terminated": last} if last else {},
    }
    return {
        "metadata": {"creationTimestamp": "2026-12-05T10:00:00Z"},
        "status": {"containerStatuses": [status]},
    }


def test_why_a_new_version_failed_in_words() -> None:
    crashed = pod(
        {"waiting": {"reason": "CrashLoopBackOff"}}, {"exitCode": 3, "message": "boot\nfatal: no DB\n"}
    )
    assert (
        rollback.why([crashed]) == "crashed at start (exit code 3); its last lines:\n  boot\n  fatal: no DB"
    )
    assert (
        rollback.why([pod({"running": {}}, {"reason": "OOMKilled", "exitCode": 137})]) == "ran out of memory"
    )
    assert (
        rollback.why([pod({"waiting": {"reason": "ImagePullBackOff"}})]) == "its image cannot be downloaded"
    )
    assert rollback.why([pod({"running": {}})]) == "never answered its health check"
    assert rollback.why([]) == "did not become available in time"


def test_an_environment_may_leave_a_failed_version_to_people() -> None:
    text = MINIMAL.replace("  production: {}\n", "  production: {rollback: manual}\n  staging: {}\n")
    files = render_plan(compile_text(text).plan)
    assert '    unhazzle.io/automatic-rollback: "false"\n' in files["production/web.yaml"]
    assert "automatic-rollback" not in files["staging/web.yaml"]
    assert "progressDeadlineSeconds: 150" in files["staging/web.yaml"]  # fast startup: 30 s + 2 min


def test_a_condition_that_does_not_clear_never_makes_passes_run_back_to_back() -> None:
    from unhazzle.reconciler.run.state import EnvOutcome
    from unhazzle.reconciler.run.waiting import Waiting

    waiting = Waiting.__new__(Waiting)  # only its record of early passes is used here
    waiting.early = {}
    outcome = EnvOutcome("s/production", "s-production", "c1", health=health.Health(stalled=["api"]))
    early = [waiting.released(outcome) for _ in range(15)]
    assert early == [True] * Waiting.EARLY_PASSES + [False] * 5
    assert waiting.released(
        EnvOutcome("s/production", "s-production", "c2", health=health.Health(stalled=["api"]))
    )
