"""Automatic rollback: an app whose new version made no progress within its deadline (its
Deployment's progressDeadlineSeconds, which follows from the startup answer) goes back to the
version it ran before, and that version of the revision is not applied again until a new commit.

Kept in the cluster, not in the reconciler's memory, so a restart changes nothing: the Deployment
is applied with its previous ReplicaSet's template and two annotations, the hash of the version it
took back (ROLLED_BACK) and why, in words (ROLLED_BACK_WHY). While the revision's Deployment has that
hash, `holds` keeps it from being applied. A Deployment whose template changes in place never runs
two versions on one disk: an app with a volume rolls out by Recreate, its rollback too.

Pure: objects in, objects and words out.
"""

from __future__ import annotations

import copy

from unhazzle.reconciler.objects import Obj
from unhazzle.reconciler.sync import diff
from unhazzle.shared.names import AUTOMATIC_ROLLBACK, ROLLED_BACK, ROLLED_BACK_WHY
from unhazzle.shared.numbers import whole_number

REVISION = "deployment.kubernetes.io/revision"
LAST_LINES = 5


def _annotations(obj: Obj | None) -> dict[str, str]:
    return dict(((obj or {}).get("metadata") or {}).get("annotations") or {})


def stalled(live: Obj | None) -> bool:
    """The rollout made no progress within its deadline (`kubectl rollout status` says the same)."""
    for cond in ((live or {}).get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Progressing" and cond.get("reason") == "ProgressDeadlineExceeded":
            return True
    return False


def wanted(deployment: Obj) -> bool:
    return _annotations(deployment).get(AUTOMATIC_ROLLBACK) != "false"


def holds(desired: Obj, live: Obj | None) -> bool:
    """Whether this version of the app was rolled back, so it is not applied again. (Hashed only
    when something was rolled back: asked of every Deployment on every pass.)"""
    taken_back = _annotations(live).get(ROLLED_BACK)
    return taken_back is not None and taken_back == diff.applied_hash(desired)


def due(desired: Obj, live: Obj | None) -> bool:
    """This revision's version is the one running, it stalled, and its environment wants it
    taken back."""
    return (
        live is not None
        and wanted(desired)
        and stalled(live)  # first: the cheap question, and the one nearly always "no"
        and diff.up_to_date(diff.with_hash(desired), live)
        and not holds(desired, live)
    )


def previous_template(live: Obj, replica_sets: list[Obj]) -> Obj | None:
    """The pod template of the version before the current one (its ReplicaSet of the next lower
    revision, among those the Deployment owns), or None when there was none."""
    uid = (live.get("metadata") or {}).get("uid")
    current = _revision(live)
    earlier = [
        rs
        for rs in replica_sets
        if any(ref.get("uid") == uid for ref in (rs.get("metadata") or {}).get("ownerReferences") or [])
        and 0 < _revision(rs) < current
    ]
    if not earlier:
        return None
    template = copy.deepcopy(max(earlier, key=_revision)["spec"]["template"])
    labels = (template.get("metadata") or {}).get("labels") or {}
    labels.pop("pod-template-hash", None)  # the ReplicaSet's own; the Deployment adds it again
    return dict(template)


def _revision(obj: Obj) -> int:
    value = _annotations(obj).get(REVISION, "0")
    return whole_number(value) or 0


def rolled_back(desired: Obj, template: Obj | None, why: str) -> Obj:
    """`desired` with the earlier version's template (none: as it is, only marked), marked as the
    version taken back and why."""
    out = copy.deepcopy(desired)
    if template is not None:
        out["spec"]["template"] = template
    meta = out.setdefault("metadata", {})
    meta["annotations"] = {
        **(meta.get("annotations") or {}),
        ROLLED_BACK: diff.applied_hash(desired),
        ROLLED_BACK_WHY: why,
    }
    return out


def reason(live: Obj | None) -> str:
    return _annotations(live).get(ROLLED_BACK_WHY, "")


def why(pods: list[Obj]) -> str:
    """Why the new version's instances did not become ready, in words, with the last lines a
    crash printed."""
    for pod in sorted(
        pods, key=lambda p: str((p.get("metadata") or {}).get("creationTimestamp", "")), reverse=True
    ):
        for status in (pod.get("status") or {}).get("containerStatuses") or []:
            last = (status.get("lastState") or {}).get("terminated") or {}
            now = status.get("state") or {}
            waiting = (now.get("waiting") or {}).get("reason", "")
            ended = now.get("terminated") or last
            if ended.get("reason") == "OOMKilled":
                return "ran out of memory"
            if waiting in ("ErrImagePull", "ImagePullBackOff", "InvalidImageName"):
                return "its image cannot be downloaded"
            if ended:
                said = str(ended.get("message") or "").strip().splitlines()[-LAST_LINES:]
                lines = "".join(f"\n  {line}" for line in said)
                return f"crashed at start (exit code {ended.get('exitCode', '?')})" + (
                    f"; its last lines:{lines}" if lines else ""
                )
            if "running" in now and status.get("ready") is False:
                return "never answered its health check"
    return "did not become available in time"
