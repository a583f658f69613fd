"""Is an environment healthy? Pure: fresh live objects in, a verdict in the user's words out.

Healthy means: every app has its instances available (at least the autoscaler's minimum, on the
current version), every volume is bound, and every autoscaler reports it is able to scale.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from unhazzle.reconciler.objects import Obj, is_ours, labels
from unhazzle.shared.names import AUTOMATIC_ROLLBACK, RELEASE_LABEL, ROLLED_BACK

HEALTH_KINDS = (
    ("apps/v1", "Deployment"),
    ("batch/v1", "Job"),  # release steps (scheduled jobs' runs are told by status, not health)
    ("autoscaling/v2", "HorizontalPodAutoscaler"),
    ("v1", "PersistentVolumeClaim"),
)


@dataclass(frozen=True)
class Health:
    waiting: list[str] = field(default_factory=list)  # not there yet
    failed: list[str] = field(default_factory=list)  # will not get there without a change
    releasing: list[str] = field(default_factory=list)  # apps whose release step runs
    stalled: list[str] = field(default_factory=list)  # apps whose new version is to be rolled back

    @property
    def healthy(self) -> bool:
        return not self.waiting and not self.failed

    @property
    def word(self) -> str:
        return "failed" if self.failed else "progressing" if self.waiting else "healthy"


def seen(listed: dict[tuple[str, str, str], list[Obj]], namespace: str) -> dict[tuple[str, str], list[Obj]]:
    """What assess() reads, (api_version, kind) -> essentials, of the health kinds among LISTs of
    every object of a kind in `namespace` (apply.fetch_live's): ours alone, as a LIST by the
    label MANAGED_BY=OURS gives them."""
    return {
        (api_version, kind): [essentials(o) for o in listed[(api_version, kind, namespace)] if is_ours(o)]
        for api_version, kind in HEALTH_KINDS
        if (api_version, kind, namespace) in listed
    }


def essentials(obj: Obj) -> Obj:
    """What assess() reads of an object, and nothing else: what a watch keeps in memory of each
    (a Deployment is about 6 KB of JSON, managed fields and pod template included; this is a
    tenth of that). assess(essentials) says what assess(the whole objects) says."""
    meta, spec, status = obj["metadata"], obj.get("spec") or {}, obj.get("status") or {}
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items() if k in _ANNOTATIONS}
    kept: Obj = {
        "kind": obj.get("kind"),
        "metadata": {"name": meta["name"], "generation": meta.get("generation", 0),
                     "annotations": annotations, "labels": _kept(meta.get("labels"), (RELEASE_LABEL,))},
        "spec": _kept(spec, ("replicas", "minReplicas", "scaleTargetRef")),
        "status": _kept(status, ("observedGeneration", "availableReplicas", "updatedReplicas",
                                 "replicas", "phase")),
    }  # fmt: skip
    if status.get("conditions"):
        kept["status"]["conditions"] = [_kept(c, ("type", "status", "reason")) for c in status["conditions"]]
    return kept


_ANNOTATIONS = (AUTOMATIC_ROLLBACK, ROLLED_BACK)


def _kept(values: Obj | None, keys: tuple[str, ...]) -> Obj:
    return {key: values[key] for key in keys if key in (values or {})}  # type: ignore[index]


def _condition(obj: Obj, kind: str) -> dict[str, str] | None:
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("type") == kind:
            return dict(cond)
    return None


def assess(objects: list[Obj]) -> Health:
    health = Health()
    minimums = {
        o["spec"]["scaleTargetRef"]["name"]: int(o["spec"].get("minReplicas") or 1)
        for o in objects
        if o.get("kind") == "HorizontalPodAutoscaler"
    }
    for obj in sorted(objects, key=lambda o: (o.get("kind", ""), o["metadata"]["name"])):
        kind = obj.get("kind")
        if kind == "Deployment":
            _deployment(obj, minimums.get(obj["metadata"]["name"]), health)
        elif kind == "HorizontalPodAutoscaler":
            _autoscaler(obj, health)
        elif kind == "Job" and labels(obj).get(RELEASE_LABEL):
            _release_step(obj, health)
        elif kind == "PersistentVolumeClaim":
            phase = (obj.get("status") or {}).get("phase", "Pending")
            if phase != "Bound":
                health.waiting.append(f"volume {obj['metadata']['name']}: {phase.lower()}, not bound yet")
    return health


def rolled_out(deployment: Obj) -> bool:
    """Whether a Deployment's current version runs on all its instances, ready."""
    found = Health()
    _deployment(deployment, None, found)
    return found.healthy


def _deployment(obj: Obj, minimum: int | None, health: Health) -> None:
    name = obj["metadata"]["name"]
    status = obj.get("status") or {}
    want = minimum if minimum is not None else int(obj["spec"].get("replicas", 1))
    progressing = _condition(obj, "Progressing") or {}
    if progressing.get("reason") == "ProgressDeadlineExceeded":
        health.failed.append(f"app {name}: new version did not become available in time")
        annotations = obj["metadata"].get("annotations") or {}
        if annotations.get(AUTOMATIC_ROLLBACK) != "false" and ROLLED_BACK not in annotations:
            health.stalled.append(name)
        return
    if status.get("observedGeneration", 0) < obj["metadata"].get("generation", 0):
        health.waiting.append(f"app {name}: change not picked up yet")
        return
    available, updated = int(status.get("availableReplicas", 0)), int(status.get("updatedReplicas", 0))
    if available < want or updated < want:
        health.waiting.append(f"app {name}: {min(available, updated)} of {want} instances available")
    elif int(status.get("replicas", 0)) > updated or available < updated:
        # As `kubectl rollout status` reads it: new instances exist but are not all ready, and the
        # old ones still serve (counted in "available"), so the new version is not there yet.
        health.waiting.append(f"app {name}: new version not ready yet; the previous one still serves")


def _autoscaler(obj: Obj, health: Health) -> None:
    name = obj["spec"]["scaleTargetRef"]["name"]
    able = _condition(obj, "AbleToScale")
    if able is None:
        health.waiting.append(f"app {name}: autoscaler not checked yet")
    elif able.get("status") != "True":
        health.waiting.append(f"app {name}: autoscaler cannot scale ({able.get('reason', 'unknown')})")


def _release_step(obj: Obj, health: Health) -> None:
    app = labels(obj)[RELEASE_LABEL]
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("status") == "True" and cond.get("type") == "Complete":
            return
        if cond.get("status") == "True" and cond.get("type") == "Failed":
            health.failed.append(f"app {app}: its release step failed; the previous version still serves")
            return
    health.releasing.append(app)
    health.waiting.append(f"app {app}: release step running; the new version rolls out when it succeeds")
