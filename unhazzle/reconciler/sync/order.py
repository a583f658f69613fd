"""Order between apps within one deploy (`after:` in the spec, an annotation on the Deployment):
an app's change is applied only once each app it names is healthy on the version this revision
gives it. Pure: the revision's objects and the live Deployments in, what to apply now out."""

from __future__ import annotations

from unhazzle.reconciler.objects import Obj, Ref, without_apps
from unhazzle.reconciler.sync import diff, health
from unhazzle.shared.names import AFTER_ANNOTATION


def gate(objects: list[Obj], live: dict[Ref, Obj | None]) -> tuple[list[Obj], dict[str, str]]:
    """(what to apply now, app -> what it waits for). An app waits while an app it names either
    changes in this pass or has not finished rolling out; an app that does not change waits for
    nothing."""
    deployments = {o["metadata"]["name"]: o for o in objects if o.get("kind") == "Deployment"}
    waiting: dict[str, str] = {}
    for name, deployment in sorted(deployments.items()):
        first = [a for a in _after(deployment) if a in deployments]
        if not first or diff.up_to_date(diff.with_hash(deployment), live.get(Ref.of(deployment))):
            continue
        pending = [a for a in first if not _settled(deployments[a], live.get(Ref.of(deployments[a])))]
        if pending:
            waiting[name] = (
                f"app {name}: waits for {', '.join(pending)} to be healthy on the new version "
                "before it changes"
            )
    return without_apps(objects, set(waiting)), waiting


def _after(deployment: Obj) -> list[str]:
    value = ((deployment.get("metadata") or {}).get("annotations") or {}).get(AFTER_ANNOTATION, "")
    return [a for a in str(value).split(",") if a]


def _settled(desired: Obj, live: Obj | None) -> bool:
    """Applied as this revision has it, and rolled out: every instance on that version, ready."""
    return diff.up_to_date(diff.with_hash(desired), live) and live is not None and health.rolled_out(live)
