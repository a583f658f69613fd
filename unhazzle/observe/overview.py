"""`unhazzle status` as data: one environment's objects (a Snapshot) in, the report a person or a
dashboard reads out. Pure: the cluster is read elsewhere (observe.py), the words come from words.py.

The JSON shape (`as_json`) is a contract for dashboards: fields may be added, never renamed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from unhazzle.observe import runs, words
from unhazzle.observe.words import Finding
from unhazzle.shared.names import APP_LABEL, BADGE_LABEL, MANAGED_BY, OURS

Obj = dict[str, Any]
FORMAT = 1
# A reason the guard gave for refusing an environment repo file: FILE:LINE:COLUMN: error: ...
LOCATED = re.compile(r"^\S+:\d+:\d+: error: ")
_RANK = {"ok": 0, "progressing": 1, "warning": 2, "failing": 3}
HEALTH = {0: "healthy", 1: "progressing", 2: "degraded", 3: "failing"}


@dataclass
class Snapshot:
    """Everything `status` needs about one environment, as the API server returned it."""

    namespace: str
    exists: bool
    labels: dict[str, str] = field(default_factory=dict)
    deployments: list[Obj] = field(default_factory=list)
    pods: list[Obj] = field(default_factory=list)
    autoscalers: list[Obj] = field(default_factory=list)
    claims: list[Obj] = field(default_factory=list)
    cronjobs: list[Obj] = field(default_factory=list)
    jobs: list[Obj] = field(default_factory=list)  # scheduled jobs' runs and release steps
    events: list[Obj] = field(default_factory=list)
    reconciler: dict[str, str] | None = None


def _name(obj: Obj) -> str:
    return str(obj.get("metadata", {}).get("name", ""))


def instance_id(pod_name: str, app: str) -> str:
    """The short name users see for an instance: the last part of its generated name."""
    rest = pod_name[len(app) + 1 :] if pod_name.startswith(f"{app}-") else pod_name
    return rest.rsplit("-", 1)[-1] or pod_name


def instance_report(pod: Obj, *, app: str, now: datetime) -> dict[str, Any]:
    _, status = words.main_container(pod, app)
    state = next(iter(status.get("state") or {"waiting": {}}), "waiting")
    found = words.instance_findings(pod, app=app, now=now)
    return {
        "id": instance_id(_name(pod), app),
        "ready": bool(status.get("ready")),
        "state": {"running": "running", "terminated": "stopped"}.get(state, "starting"),
        "restarts": int(status.get("restartCount") or 0),
        "restarts_last_hour": words.restarts_recent(pod, app, now),
        "findings": [f.as_json() for f in found],
    }


def app_report(snap: Snapshot, app: str, *, now: datetime) -> dict[str, Any]:
    """One app: instances ready / wanted / min-max, health, restarts, autoscaling, volume, findings."""
    deployment = next((d for d in snap.deployments if _name(d) == app), None)
    pods = sorted(
        (p for p in snap.pods if p.get("metadata", {}).get("labels", {}).get(APP_LABEL) == app), key=_name
    )
    hpa = next((h for h in snap.autoscalers if _name(h) == app), None)
    claim = next((c for c in snap.claims if _name(c) == f"{app}-data"), None)
    findings = _app_findings(deployment, pods, app=app, now=now)
    release = runs.release_report(app, snap.jobs, snap.pods, now=now)
    if release:
        findings.insert(0, runs.release_finding(release))
    running = int(deployment.get("status", {}).get("replicas") or 0) if deployment else None
    scaling = words.autoscaling(hpa, running=running, now=now) if hpa else None
    if scaling and scaling.problem and not _drowned(scaling.problem, findings):
        findings.append(scaling.problem)
    volume = _volume(deployment, claim, ready=any(_ready(p, app) for p in pods))
    if volume and volume.severity != "ok":
        findings.append(volume)
    # The autoscaler's minimum is what the user asked for, even when it is not acting on it.
    wanted = max(
        int((deployment or {}).get("spec", {}).get("replicas") or 0), scaling.minimum if scaling else 0
    )
    status = (deployment or {}).get("status", {})
    image = _image(deployment, app)
    return {
        "name": app,
        "deployed": deployment is not None,
        "health": _health(
            findings, deployment=deployment, ready=int(status.get("readyReplicas") or 0), wanted=wanted
        ),
        "image": image,
        "instances": {
            "ready": int(status.get("readyReplicas") or 0),
            "wanted": wanted,
            "min": scaling.minimum if scaling else wanted,
            "max": scaling.maximum if scaling else wanted,
        },
        "restarts_last_hour": sum(words.restarts_recent(p, app, now) for p in pods),
        "findings": [f.as_json() for f in _unique(findings)],
        "autoscaling": scaling.as_json() | {"text": scaling.text()} if scaling else None,
        "volume": volume.as_json() if volume else None,
        "release_step": release,
        "instance_list": [instance_report(p, app=app, now=now) for p in pods],
    }


def _app_findings(deployment: Obj | None, pods: list[Obj], *, app: str, now: datetime) -> list[Finding]:
    if deployment is None:
        return [Finding("not deployed in this environment yet", "publish and let the reconciler apply it")]
    findings: list[Finding] = []
    for pod in pods:
        findings += words.instance_findings(pod, app=app, now=now)
    # The instances' own reason first: "the deploy did not finish" is the consequence.
    findings += words.rollout_findings(deployment)
    return sorted(findings, key=lambda f: -_RANK[f.severity])


def _drowned(problem: Finding, findings: list[Finding]) -> bool:
    """A note that readings are merely not in yet says nothing while instances cannot start."""
    return problem.severity == "progressing" and any(f.severity == "failing" for f in findings)


def _unique(findings: Iterable[Finding]) -> list[Finding]:
    """Three instances out of memory are one message, not three."""
    seen: dict[str, Finding] = {}
    for finding in findings:
        seen.setdefault(finding.message, finding)
    return list(seen.values())


def _ready(pod: Obj, app: str) -> bool:
    _, status = words.main_container(pod, app)
    return bool(status.get("ready"))


def _volume(deployment: Obj | None, claim: Obj | None, *, ready: bool) -> Finding | None:
    volumes = (deployment or {}).get("spec", {}).get("template", {}).get("spec", {}).get("volumes") or []
    wants = any("persistentVolumeClaim" in v for v in volumes)
    if not wants and claim is None:
        return None
    return words.volume_finding(claim, mounted=ready)


def _image(deployment: Obj | None, app: str) -> str | None:
    containers = (deployment or {}).get("spec", {}).get("template", {}).get("spec", {}).get(
        "containers"
    ) or []
    chosen = next((c for c in containers if c.get("name") == app), containers[0] if containers else {})
    image = chosen.get("image")
    return str(image) if image else None


def _health(findings: list[Finding], *, deployment: Obj | None, ready: int, wanted: int) -> str:
    if deployment is None:
        return "missing"
    worst = max((_RANK[f.severity] for f in findings), default=0)
    if worst == 0 and ready < wanted:
        worst = 1
    if worst == 3 and ready > 0:
        worst = 2  # some instances still serve: degraded, not down
    return HEALTH[worst]


def deploy_record(data: dict[str, str] | None) -> dict[str, Any] | None:
    """The reconciler's record for an environment, normalised: revision, source commit and
    message, when, health, last error. It may be one JSON document under `status.json` (or
    `status`) or flat keys; unknown keys are kept under `extra`."""
    if data is None:
        return None
    record: dict[str, Any] = {}
    for key in ("status.json", "status"):
        try:
            parsed = json.loads(data.get(key) or "")
        except ValueError:
            continue
        if isinstance(parsed, dict):
            record = parsed
            break
    record = {**{k: v for k, v in data.items() if k not in ("status.json", "status")}, **record}
    return _normalise(record)


_ALIASES = {
    "revision": ("revision", "last_applied_revision", "lastAppliedRevision", "applied_revision"),
    "source_commit": ("source_commit", "sourceCommit", "commit"),
    "source_message": ("source_message", "sourceMessage", "message"),
    "applied_at": ("applied_at", "appliedAt", "last_applied_at", "time", "when", "updated_at"),
    "health": ("health", "healthy"),
    "last_error": ("last_error", "lastError", "error", "errors"),
    "wanted_revision": ("wanted_revision", "wantedRevision"),
    "waiting": ("waiting",),
}


def _normalise(record: dict[str, Any]) -> dict[str, Any]:
    source = record.get("source")
    source = source if isinstance(source, dict) else {}
    flat = {**{f"source_{k}": v for k, v in source.items()}, **record}
    out: dict[str, Any] = {}
    used: set[str] = {"source"}
    for name, aliases in _ALIASES.items():
        key = next((a for a in aliases if flat.get(a) not in (None, "")), None)
        out[name] = flat[key] if key else None
        used.update(aliases)
    errors = out["last_error"]
    out["errors"] = [str(e) for e in errors] if isinstance(errors, list) else [str(errors)] if errors else []
    if isinstance(errors, list):  # the reconciler keeps a list; people read one line
        out["last_error"] = "; ".join(out["errors"]) or None
    if not isinstance(out["waiting"], list):
        out["waiting"] = []
    out["extra"] = {k: v for k, v in record.items() if k not in used}
    return out


def environment_report(
    snap: Snapshot, *, name: str, badge: str, apps: list[str], now: datetime
) -> dict[str, Any]:
    """One environment: its badge, the deploy it runs, each app (the spec's, then any others
    the cluster runs for us: made by hand, it is no app of ours), and the worst app health."""
    ours = {_name(d) for d in snap.deployments if _labels(d).get(MANAGED_BY) == OURS}
    names = list(apps) + sorted(ours - set(apps))
    app_reports = [app_report(snap, app, now=now) for app in names] if snap.exists else []
    worst = max((list(HEALTH.values()).index(a["health"]) for a in app_reports if a["deployed"]), default=0)
    deploy = deploy_record(snap.reconciler)
    health = HEALTH[worst] if snap.exists else "missing"
    if deploy and deploy.get("last_error") and health == "healthy":
        health = "degraded"
    if deploy and deploy.get("health") == "failed":
        health = "failing"
    return {
        "name": name,
        "badge": snap.labels.get(BADGE_LABEL, badge),
        "exists": snap.exists,
        "health": health,
        "deploy": deploy,
        "apps": app_reports,
        "jobs": runs.job_reports(snap.cronjobs, snap.jobs, snap.pods, now=now),
    }


def report(project: str, environments: list[dict[str, Any]], *, now: datetime) -> dict[str, Any]:
    return {"format": FORMAT, "project": project, "generated_at": _iso(now), "environments": environments}


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


# ---- text -------------------------------------------------------------------------------------


def text(data: dict[str, Any], *, now: datetime) -> list[str]:
    """The report as lines for a terminal: one block per environment, one line per app, each
    finding indented under its app."""
    lines: list[str] = []
    for env in data["environments"]:
        lines.append(f"{env['name']} ({env['badge']}): {env['health']}")
        if not env["exists"]:
            lines.append("  not in the cluster yet: publish it and let the reconciler apply it")
        lines += _deploy_lines(env.get("deploy"), now=now)
        width = max((len(a["name"]) for a in [*env["apps"], *env.get("jobs", [])]), default=0)
        for app in env["apps"]:
            lines += _app_lines(app, width)
        for job in env.get("jobs", []):
            lines += runs.job_lines(job, width, now=now)
        lines.append("")
    return lines[:-1] if lines else lines


def _deploy_lines(deploy: dict[str, Any] | None, *, now: datetime) -> list[str]:
    if deploy is None:
        return ["  deploy: no record from the reconciler yet"]
    revision = str(deploy.get("revision") or "?")[:12]
    source = deploy.get("source_commit")
    message = str(deploy.get("source_message") or "").splitlines()[0:1]
    what = f"revision {revision}"
    if source:
        what += f" from commit {str(source)[:12]}"
    if message:
        what += f' "{message[0][:60]}"'
    when = words.ago(words.parse_time(deploy.get("applied_at")), now) if deploy.get("applied_at") else ""
    lines = [f"  deploy: {what}{', applied ' + when if when else ''}"]
    wanted = deploy.get("wanted_revision")
    refused = [e for e in deploy.get("errors") or [] if LOCATED.match(e)]
    if wanted and wanted != deploy.get("revision") and not refused:  # a refused one is not on its way
        waiting = "; ".join(words.scrub(str(w)) for w in deploy.get("waiting") or [])
        lines.append(
            f"  deploying revision {str(wanted)[:12]}" + (f", waiting for {waiting}" if waiting else "")
        )
    other = [e for e in deploy.get("errors") or [] if not LOCATED.match(e)]
    if other:
        lines.append(f"  reconciler failing: {'; '.join(words.scrub(e) for e in other)}")
    if refused:
        # The guard's reasons name what the files say (kinds, fields): quoted as written, since a
        # word swap would garble them ("only a Environment may be cluster-wide").
        lines.append(
            "  latest revision refused, nothing of it applied; fix these files in the environment repo:"
        )
        lines += [f"    {e}" for e in refused]
    return lines


def _app_lines(app: dict[str, Any], width: int) -> list[str]:
    n = app["instances"]
    if not app["deployed"]:
        head = "not deployed"
    else:
        scale = f" (min {n['min']}, max {n['max']})" if n["min"] != n["max"] else ""
        head = f"{n['ready']}/{n['wanted']} instances ready{scale}"
    parts = [f"  {app['name']:<{width}}  {app['health']:<11} {head}"]
    if app["restarts_last_hour"]:
        count = app["restarts_last_hour"]
        parts.append(f"{count} {'restart' if count == 1 else 'restarts'} in 1 h")
    if app["autoscaling"] and n["min"] != n["max"]:
        parts.append(app["autoscaling"]["text"])
    if app["volume"] and app["volume"]["severity"] == "ok":
        parts.append(app["volume"]["message"])
    lines = ["; ".join(parts)]
    for finding in app["findings"]:
        hint = f": {finding['hint']}" if finding["hint"] else ""
        lines.append(f"  {'':<{width}}  - {finding['message']}{hint}")
    return lines


def _labels(obj: Obj) -> dict[str, str]:
    return dict((obj.get("metadata") or {}).get("labels") or {})
