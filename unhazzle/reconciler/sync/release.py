"""Release steps: an app's new version rolls out only once its release step has succeeded.

The compiler names each step's Job for everything it runs with (rendering/render.py), so a new
version brings a new Job and the same version never runs its step twice: a failed step stays
failed, and is not retried, until a new commit changes the app or someone deletes the failed Job
(`unhazzle retry-release`). One app's steps never overlap: a new one waits while an older one of
the same app still runs (a deploy never stops a step mid-way; prune.py keeps it until it ends).

Pure: the revision's objects and the cluster's release Jobs in, what to apply now out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from unhazzle.reconciler.objects import Obj, labels, without_apps
from unhazzle.shared.names import RELEASE_LABEL


@dataclass(frozen=True)
class Gate:
    apply: list[Obj]  # what may be applied now
    waiting: dict[str, str] = field(default_factory=dict)  # app -> what its rollout waits for
    failed: dict[str, str] = field(default_factory=dict)  # app -> the name of its failed step


def job_state(job: Obj | None) -> str:
    """absent | running | succeeded | failed (a Job's conditions, as `kubectl wait` reads them)."""
    if job is None:
        return "absent"
    for cond in (job.get("status") or {}).get("conditions") or []:
        if cond.get("status") != "True":
            continue
        if cond.get("type") == "Complete":
            return "succeeded"
        if cond.get("type") == "Failed":
            return "failed"
    return "running"


def failure_reason(job: Obj, pods: list[Obj]) -> str:
    """Why a failed Job failed, in words: its timeout, or how its last attempt ended."""
    for cond in (job.get("status") or {}).get("conditions") or []:
        if (
            cond.get("type") == "Failed"
            and cond.get("status") == "True"
            and cond.get("reason") == "DeadlineExceeded"
        ):
            limit = (job.get("spec") or {}).get("activeDeadlineSeconds")
            return f"did not finish within its timeout ({limit} s) and was stopped"
    ended = _terminated(pods)
    if ended.get("reason") == "OOMKilled":
        return "ran out of memory and was stopped"
    if "exitCode" in ended:
        return f"failed (exit code {ended['exitCode']})"
    return "failed"


def last_words(pods: list[Obj], *, lines: int) -> str:
    """The last lines the step printed (its container's termination message, which the
    templates fill from its output when it fails), indented."""
    message = str(_terminated(pods).get("message") or "").rstrip()
    return "\n".join(f"  {line}" for line in message.splitlines()[-lines:])


def _terminated(pods: list[Obj]) -> dict[str, object]:
    """The last attempt's container end state, or {}."""
    newest = sorted(pods, key=lambda p: str((p.get("metadata") or {}).get("creationTimestamp", "")))
    for pod in reversed(newest):
        for status in (pod.get("status") or {}).get("containerStatuses") or []:
            ended = (status.get("state") or {}).get("terminated")
            if ended:
                return dict(ended)
    return {}


def release_of(obj: Obj) -> str:
    return labels(obj).get(RELEASE_LABEL, "") if obj.get("kind") == "Job" else ""


def gate(objects: list[Obj], jobs: list[Obj]) -> Gate:
    """What of `objects` (one revision, less its first stage) to apply now, given `jobs`, the
    release Jobs the namespace holds. An app whose step has not succeeded keeps running its
    current version: its Deployment, Service, autoscaler, ... wait; its secrets and volume do
    not (the step itself needs them)."""
    by_name = {job["metadata"]["name"]: job for job in jobs}
    steps = {release_of(o): o for o in objects if release_of(o)}
    waiting: dict[str, str] = {}
    failed: dict[str, str] = {}
    held: set[str] = set()  # apps whose objects wait
    skip: set[str] = set()  # steps not to create yet
    for app, step in sorted(steps.items()):
        name = step["metadata"]["name"]
        state = job_state(by_name.get(name))
        if state == "succeeded":
            continue
        held.add(app)
        if state == "failed":
            failed[app] = name
        elif state == "running":
            waiting[app] = f"app {app}: release step running; the new version rolls out when it succeeds"
        else:
            older = [
                n
                for n, job in sorted(by_name.items())
                if n != name and release_of(job) == app and job_state(job) == "running"
            ]
            if older:
                skip.add(app)
                waiting[app] = (
                    f"app {app}: waiting for the previous version's release step ({older[0]}) to finish "
                    "before starting this one"
                )
            else:
                waiting[app] = f"app {app}: release step starting; the new version rolls out when it succeeds"
    kept = [o for o in without_apps(objects, held) if release_of(o) not in skip]
    return Gate(kept, waiting, failed)
