"""Cluster state in the user's words. Pure: plain dicts in (the shape the API server returns,
camelCase keys), sentences out. No I/O, so every translation is table-tested.

Users meet apps, instances, environments and volumes; the words of the objects underneath
(pod, deployment, replica, namespace, HPA, container) never leave this module, and `scrub`
rewrites them in any text we pass through from the cluster.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from unhazzle.shared.quantity import quantity_mb, size_text

Dict = Mapping[str, Any]
Severity = Literal["ok", "progressing", "warning", "failing"]
RESTART_WINDOW = timedelta(hours=1)
# A crash this soon after starting means the app never got going ("on start").
START_CRASH = timedelta(seconds=60)
PULL_REASONS = {"ErrImagePull", "ImagePullBackOff", "ErrImageNeverPull", "RegistryUnavailable"}


@dataclass(frozen=True)
class Finding:
    """One plain-words fact about an app: what is wrong (or right) and what to do about it."""

    message: str
    hint: str = ""
    severity: Severity = "warning"

    def __str__(self) -> str:
        return f"{self.message}: {self.hint}" if self.hint else self.message

    def as_json(self) -> dict[str, str]:
        return {"message": self.message, "hint": self.hint, "severity": self.severity}


# Longest first, so "replica set" wins over "replica". Whole words only, case kept for the first letter.
_SCRUB = [
    (r"replica ?sets?", "instance group"),
    (r"stateful ?sets?", "app"),
    (r"horizontal ?pod ?autoscalers?|hpa", "autoscaling"),
    (r"persistent ?volume ?claims?|pvcs?", "volume"),
    (r"deployments?", "app"),
    (r"replicas", "instances"),
    (r"replica", "instance"),
    (r"pods", "instances"),
    (r"pod", "instance"),
    (r"containers", "apps"),
    (r"container", "app"),
    (r"namespaces", "environments"),
    (r"namespace", "environment"),
    (r"kubelet", "machine agent"),
    (r"nodes", "machines"),
    (r"node", "machine"),
]
_SCRUB_RE = [(re.compile(rf"\b(?:{pattern})\b", re.IGNORECASE), word) for pattern, word in _SCRUB]


def scrub(text: str) -> str:
    """Text from the cluster with its Kubernetes words replaced by ours."""
    for pattern, word in _SCRUB_RE:
        text = pattern.sub(_keep_case(word), text)
    return text


def _keep_case(word: str) -> Callable[[re.Match[str]], str]:
    return lambda match: word.capitalize() if match.group(0)[0].isupper() else word


def parse_time(value: Any) -> datetime | None:
    """An API timestamp ('2025-01-01T00:00:00Z', with or without fractions) as an aware datetime."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def cpu_cores(value: Any) -> float | None:
    """A CPU quantity ('500m', '1', '250000n') in cores."""
    match = re.fullmatch(r"\s*([0-9.]+)\s*([num]?)\s*", str(value)) if value is not None else None
    if not match:
        return None
    try:
        number = float(match.group(1))
    except ValueError:
        return None
    return number * {"": 1.0, "m": 1e-3, "u": 1e-6, "n": 1e-9}[match.group(2)]


def ago(moment: datetime | None, now: datetime) -> str:
    """'3 min ago', '2 h ago': short enough for a status line."""
    if moment is None:
        return "at an unknown time"
    seconds = max(0, int((now - moment).total_seconds()))
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return f"{seconds} s ago"


def image_tag(image: str) -> str:
    """The tag (or digest) of an image reference, as the user wrote it."""
    if "@" in image:
        return image.split("@", 1)[1]
    last = image.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else "latest"


# ---- one instance ---------------------------------------------------------------------------


def main_container(pod: Dict, app: str) -> tuple[Dict, Dict]:
    """The app's own container spec and status (named after the app), else the first."""
    specs = pod.get("spec", {}).get("containers") or [{}]
    statuses = pod.get("status", {}).get("containerStatuses") or [{}]
    spec = next((c for c in specs if c.get("name") == app), specs[0])
    status = next((c for c in statuses if c.get("name") == spec.get("name")), statuses[0])
    return spec, status


def memory_limit_mb(pod: Dict, app: str) -> int | None:
    spec, _ = main_container(pod, app)
    return quantity_mb(spec.get("resources", {}).get("limits", {}).get("memory"))


def health_check(pod: Dict, app: str) -> str:
    """Where the app's health check looks: 'at /healthz' or 'on port 8080'."""
    spec, _ = main_container(pod, app)
    probe = spec.get("readinessProbe") or spec.get("livenessProbe") or {}
    if "httpGet" in probe:
        return f"at {probe['httpGet'].get('path', '/')}"
    port = probe.get("tcpSocket", {}).get("port")
    if port is None:
        return ""
    named = {p.get("name"): p.get("containerPort") for p in spec.get("ports", [])}
    return f"on port {named.get(port, port)}"


def restarts_recent(pod: Dict, app: str, now: datetime, window: timedelta = RESTART_WINDOW) -> int:
    """Restarts within *window*. The API keeps a total, not a history: an instance younger than
    the window counts exactly; an older one counts its total only if it last restarted inside
    the window (an upper bound, the best the API allows) and 0 otherwise."""
    _, status = main_container(pod, app)
    total = int(status.get("restartCount") or 0)
    created = parse_time(pod.get("metadata", {}).get("creationTimestamp"))
    if created is not None and now - created <= window:
        return total
    finished = parse_time(status.get("lastState", {}).get("terminated", {}).get("finishedAt"))
    return total if finished is not None and now - finished <= window else 0


def instance_findings(pod: Dict, *, app: str, now: datetime) -> list[Finding]:
    """What is wrong with one instance, most important first; [] when it is running and ready."""
    phase = pod.get("status", {}).get("phase")
    if phase == "Pending" and _unschedulable(pod):
        return [_no_capacity(pod)]
    spec, status = main_container(pod, app)
    state = status.get("state", {})
    last = status.get("lastState", {}).get("terminated")
    findings: list[Finding] = []
    if "waiting" in state:
        findings.append(_waiting(state["waiting"], last, pod=pod, app=app, now=now, spec=spec))
    elif "terminated" in state:
        findings.append(_terminated(state["terminated"], pod=pod, app=app, now=now))
    elif "running" in state and status.get("ready") is False and phase == "Running":
        findings.append(_not_healthy(pod, app))
    if last and last.get("reason") == "OOMKilled" and not any("memory" in f.message for f in findings):
        findings.append(_oom(pod, app=app, now=now, severity="warning"))
    return [f for f in findings if f.message]


def _unschedulable(pod: Dict) -> bool:
    conditions = pod.get("status", {}).get("conditions") or []
    return any(
        c.get("type") == "PodScheduled" and c.get("status") == "False" and c.get("reason") == "Unschedulable"
        for c in conditions
    )


def _no_capacity(pod: Dict) -> Finding:
    conditions = pod.get("status", {}).get("conditions") or []
    message = next((c.get("message", "") for c in conditions if c.get("type") == "PodScheduled"), "")
    if "unbound" in message.lower() and "persistentvolumeclaim" in message.lower():
        hint = "the cluster has not created its disk yet; it starts once the volume exists"
        return Finding("waiting for its volume", hint, "progressing")
    short = "; ".join(
        f"not enough {kind} free" for kind in ("memory", "cpu") if f"insufficient {kind}" in message.lower()
    )
    hint = (
        f"{short.replace('cpu', 'CPU')}; lower size or instances.min, or ask for more machines"
        if short
        else "no machine can take another instance right now; it starts when one can"
    )
    return Finding("waiting for capacity in the cluster", hint, "progressing")


def _waiting(waiting: Dict, last: Dict | None, *, pod: Dict, app: str, now: datetime, spec: Dict) -> Finding:
    reason = waiting.get("reason", "")
    if reason in PULL_REASONS or reason == "InvalidImageName":
        return image_problem(
            spec.get("image", ""), waiting.get("message", ""), invalid=reason == "InvalidImageName"
        )
    if reason == "CrashLoopBackOff" and last:
        if last.get("reason") == "OOMKilled":
            return _oom(pod, app=app, now=now, severity="failing")
        return _crash(last, pod=pod, app=app, now=now)
    if reason == "CreateContainerConfigError":
        return _config_problem(waiting.get("message", ""), app)
    if reason in {"ContainerCreating", "PodInitializing", ""}:
        return Finding("starting", "", "progressing")
    return Finding(f"cannot start ({scrub(reason)})", scrub(waiting.get("message", "")), "failing")


def image_problem(image: str, message: str, *, invalid: bool = False) -> Finding:
    """Why an image cannot be downloaded, from the registry's answer in *message*."""
    hint = f"check the image in unhazzle.yaml (unhazzle inspect {image})" if image else ""
    lowered = message.lower()
    if invalid:
        return Finding("image name is not valid", hint, "failing")
    if "not found" in lowered or "manifest unknown" in lowered or "does not exist" in lowered:
        return Finding(f"image cannot be downloaded: tag {image_tag(image)} not found", hint, "failing")
    if any(word in lowered for word in ("unauthorized", "denied", "authentication required", "forbidden")):
        return Finding("image cannot be downloaded: the registry refused access", hint, "failing")
    if any(word in lowered for word in ("timeout", "no such host", "connection refused", "i/o timeout")):
        return Finding(
            "image cannot be downloaded: the registry cannot be reached", "it is retried", "failing"
        )
    return Finding("image cannot be downloaded", hint, "failing")


def _oom(pod: Dict, *, app: str, now: datetime, severity: Severity) -> Finding:
    limit = memory_limit_mb(pod, app)
    at = f" at its {size_text(limit)} limit" if limit else ""
    times = restarts_recent(pod, app, now)
    count = f" ({times} {'time' if times == 1 else 'times'} in 1 h)" if times else ""
    return Finding(f"ran out of memory{at}{count}", "raise size.memory", severity)


_PATH = r"(?<![\w/])/[A-Za-z._][^\s\"':,()\[\]]*"  # an absolute path, not a date's 12/05
_CANNOT = r"read-only file system|permission denied"
_UNWRITABLE = re.compile(
    rf"(?P<path>{_PATH})[^\n]*?(?P<why>{_CANNOT})|(?P<why2>{_CANNOT})[^\n]*?(?P<path2>{_PATH})", re.IGNORECASE
)


def unwritable(message: str, app: str) -> Finding | None:
    """A start that failed writing outside the app's writable folders, from its last words
    ("mkdir() "/var/cache/nginx/client_temp" failed (30: Read-only file system)"): the path, and
    the folder to list under `writable:`."""
    for line in message.splitlines():
        found = _UNWRITABLE.search(line)
        if not found:
            continue
        path = (found.group("path") or found.group("path2") or "").rstrip("/.")
        why = (found.group("why") or found.group("why2") or "").lower()
        if not path or path == "/tmp" or path.startswith("/tmp/"):
            continue
        folder, _, name = path.rpartition("/")
        if "mkdir" in line.lower() or "makedirs" in line.lower():  # a folder it makes: deep in a
            target = folder if folder.count("/") >= 3 else path  # cache, the cache; else itself
        elif "." in name.lstrip("."):  # a file: its folder, unless that is a top one like /app
            target = folder if folder.count("/") >= 2 else ""
        else:
            target = path
        words = "read-only" if why.startswith("read-only") else "not writable for the app's user"
        hint = (
            f"add writable: [{target}] to {app} in unhazzle.yaml (an empty folder at every start)"
            if target
            else f"have {app} write under /tmp, or into a folder of its own listed under writable:"
        )
        return Finding(f"cannot start: it writes to {path}, which is {words}", hint, "failing")
    return None


def _crash(last: Dict, *, pod: Dict, app: str, now: datetime) -> Finding:
    said = unwritable(str(last.get("message") or ""), app)
    if said is not None:
        return said
    started, finished = parse_time(last.get("startedAt")), parse_time(last.get("finishedAt"))
    on_start = started is not None and finished is not None and finished - started < START_CRASH
    code = last.get("exitCode")
    what = "keeps crashing on start" if on_start else "keeps crashing"
    detail = f" (exit code {code})" if code is not None else ""
    if code == 0:
        what, detail = "keeps exiting right after it starts", " (exit code 0: apps must keep running)"
    return Finding(f"{what}{detail}", f"see unhazzle logs {app} --previous", "failing")


def _terminated(terminated: Dict, *, pod: Dict, app: str, now: datetime) -> Finding:
    if terminated.get("reason") == "OOMKilled":
        return _oom(pod, app=app, now=now, severity="failing")
    return _crash(terminated, pod=pod, app=app, now=now)


def _config_problem(message: str, app: str) -> Finding:
    secret = re.search(r'secret "([^"]+)" not found', message)
    if secret:
        hint = f"set them with unhazzle secrets import --app {app}"
        return Finding("cannot start: its secrets have no values yet", hint, "failing")
    key = re.search(r"couldn't find key (\S+) in Secret", message)
    if key:
        return Finding(
            f"cannot start: secret {key.group(1)} has no value",
            f"set it with unhazzle secrets import --app {app}",
            "failing",
        )
    return Finding("cannot start: its settings are incomplete", scrub(message), "failing")


def _not_healthy(pod: Dict, app: str) -> Finding:
    where = health_check(pod, app)
    return Finding(f"not answering its health check {where}".rstrip(), f"see unhazzle logs {app}", "warning")


# ---- the app as a whole ---------------------------------------------------------------------


def rollout_findings(deployment: Dict) -> list[Finding]:
    """What the app's rollout reports: a deploy that stalled, instances that cannot be added."""
    findings = []
    for cond in deployment.get("status", {}).get("conditions") or []:
        kind, reason, message = cond.get("type"), cond.get("reason"), cond.get("message", "")
        if kind == "Progressing" and reason == "ProgressDeadlineExceeded":
            findings.append(
                Finding("the last deploy did not finish in time", "see unhazzle status and events", "failing")
            )
        elif kind == "ReplicaFailure" and cond.get("status") == "True":
            if "exceeded quota" in message:
                hint = "the environment's limit is reached; check the plan's instances and size"
                findings.append(Finding("cannot add instances", hint, "failing"))
            else:
                findings.append(Finding("cannot add instances", scrub(message), "failing"))
    return findings


@dataclass(frozen=True)
class Autoscaling:
    minimum: int
    maximum: int
    current: int
    desired: int
    cpu_percent: int | None
    target_cpu_percent: int | None
    at_max: bool
    problem: Finding | None

    def text(self) -> str:
        cpu = (
            f"CPU {self.cpu_percent}% of target {self.target_cpu_percent}%"
            if self.cpu_percent is not None and self.target_cpu_percent is not None
            else "CPU use unknown"
        )
        limit = ", at its maximum" if self.at_max else ""
        return f"autoscaling {self.minimum}-{self.maximum}: {cpu}{limit}"

    def as_json(self) -> dict[str, Any]:
        return {
            "min": self.minimum,
            "max": self.maximum,
            "current": self.current,
            "desired": self.desired,
            "cpu_percent": self.cpu_percent,
            "target_cpu_percent": self.target_cpu_percent,
            "at_max": self.at_max,
            "problem": self.problem.as_json() if self.problem else None,
        }


def autoscaling(hpa: Dict, *, running: int | None = None, now: datetime | None = None) -> Autoscaling:
    """The autoscaler's state (autoscaling/v2 shape): CPU now against target, and whether it is
    stuck. *running* is how many instances the app has now (the autoscaler's own count lags it by
    up to one of its passes, 15 s); *now* lets a fresh lack of CPU readings count as starting."""
    spec, status = hpa.get("spec", {}), hpa.get("status", {})
    target = _cpu_metric(spec.get("metrics") or [], "target")
    current = _cpu_metric(status.get("currentMetrics") or [], "current")
    maximum = int(spec.get("maxReplicas") or 0)
    desired = int(status.get("desiredReplicas") or 0)
    conditions = {c.get("type"): c for c in status.get("conditions") or []}
    limited = conditions.get("ScalingLimited", {})
    at_max = desired >= maximum > 0 or (
        limited.get("status") == "True" and limited.get("reason") == "TooManyReplicas"
    )
    problem = _scaling_problem(hpa, current=current, target=target, at_max=at_max, running=running, now=now)
    return Autoscaling(
        minimum=int(spec.get("minReplicas") or 1),
        maximum=maximum,
        current=int(status.get("currentReplicas") or 0),
        desired=desired,
        cpu_percent=current,
        target_cpu_percent=target,
        at_max=at_max,
        problem=problem,
    )


# A new instance's first CPU reading takes the metrics service a scrape or two (10-60 s), and the
# autoscaler's next pass (15 s) to pick it up.
READINGS_GRACE = timedelta(minutes=2)
_NO_READINGS = ("no metrics returned", "did not receive metrics")


def _scaling_problem(
    hpa: Dict,
    *,
    current: int | None,
    target: int | None,
    at_max: bool,
    running: int | None,
    now: datetime | None,
) -> Finding | None:
    spec, status = hpa.get("spec", {}), hpa.get("status", {})
    minimum, maximum = int(spec.get("minReplicas") or 1), int(spec.get("maxReplicas") or 0)
    conditions = {c.get("type"): c for c in status.get("conditions") or []}
    if not conditions:  # the autoscaler has not looked at the app yet: its counts are still zero
        return None
    if running is None and status.get("currentReplicas") is not None:
        running = int(status["currentReplicas"])
    if running is not None and running < minimum:
        # The autoscaler raises an app to its minimum without CPU readings; only a failed
        # change of the instance count stops it.
        if conditions.get("AbleToScale", {}).get("status") == "False":
            return Finding(
                f"running fewer instances than its minimum of {minimum}",
                "autoscaling cannot change the instance count; contact your cluster operator",
            )
        return Finding(
            f"running fewer instances than its minimum of {minimum}",
            "autoscaling is catching up",
            "progressing",
        )
    blind = _blind(conditions.get("ScalingActive", {}), now=now)
    if blind and minimum != maximum:  # a fixed count needs no CPU readings
        return blind
    if at_max and current is not None and target is not None and current > target:
        return Finding("busy at its maximum instances", "raise instances.max or size.cpu")
    return None


def _blind(active: Dict, *, now: datetime | None) -> Finding | None:
    """Why the autoscaler has no CPU readings, or None when it has them."""
    if active.get("status") != "False":
        return None
    stays = "instance count stays as it is"
    if not any(words in str(active.get("message") or "") for words in _NO_READINGS):
        return Finding(
            "autoscaling cannot read CPU use",
            f"the cluster's metrics service is missing or not answering; {stays}",
        )
    since = parse_time(active.get("lastTransitionTime"))
    if now is not None and since is not None and now - since < READINGS_GRACE:
        return Finding(
            "autoscaling has no CPU readings yet",
            "new instances get their first within a minute",
            "progressing",
        )
    return Finding(
        "autoscaling cannot read CPU use", f"the cluster's metrics service is not measuring this app; {stays}"
    )


def _cpu_metric(metrics: Iterable[Dict], field: str) -> int | None:
    for metric in metrics:
        resource = metric.get("resource") or {}
        if metric.get("type") == "Resource" and resource.get("name") == "cpu":
            value = (resource.get(field) or {}).get("averageUtilization")
            return int(value) if isinstance(value, int | float) else None
    return None


def volume_finding(claim: Dict | None, *, mounted: bool | None = None) -> Finding:
    """Whether the app's volume exists and is attached."""
    if claim is None:
        return Finding("volume not created yet", "it is created with the next deploy", "progressing")
    phase = claim.get("status", {}).get("phase")
    size_mb = quantity_mb(claim.get("status", {}).get("capacity", {}).get("storage")) or quantity_mb(
        claim.get("spec", {}).get("resources", {}).get("requests", {}).get("storage")
    )
    size = f" ({size_text(size_mb)})" if size_mb else ""
    if phase == "Bound":
        if mounted is False:
            return Finding(f"volume{size} ready, not attached", "no instance is running", "warning")
        return Finding(f"volume{size} attached", "", "ok")
    if phase == "Lost":
        return Finding(f"volume{size} lost", "its disk is gone; contact your cluster operator", "failing")
    return Finding(f"volume{size} waiting to be created", "", "progressing")


# ---- events -----------------------------------------------------------------------------------

# reason -> plain words; a callable gets the event's message when the words depend on it.
_EVENT_WORDS: dict[str, str] = {
    "Scheduled": "instance placed on a machine",
    "Pulling": "downloading the image",
    "Pulled": "image downloaded",
    "Created": "instance created",
    "Started": "instance started",
    "Killing": "instance stopping",
    "Preempting": "instance stopping to make room",
    "SuccessfulCreate": "new instance added",
    "SuccessfulDelete": "instance removed",
    "FailedScheduling": "waiting for capacity in the cluster",
    "OOMKilling": "ran out of memory",
    "FailedMount": "volume cannot be attached",
    "FailedAttachVolume": "volume cannot be attached",
    "ProvisioningSucceeded": "volume created",
    "ProvisioningFailed": "volume cannot be created",
    "FailedBinding": "volume waiting to be created",
    "WaitForFirstConsumer": "volume waits for the first instance",
    "FailedGetResourceMetric": "autoscaling cannot read CPU use",
    "FailedComputeMetricsReplicas": "autoscaling cannot read CPU use",
    "DeploymentRollback": "deploy rolled back",
    # raw reasons that would otherwise read "no matching instances found" and the like
    "NoPods": "no instance running yet to keep available during maintenance",
    "CalculateExpectedPodCountFailed": "cannot tell how many instances to keep available yet",
    "SelectingAll": "keeps every instance available during maintenance",
    "SandboxChanged": "instance restarted by its machine",
    "NodeNotReady": "its machine is not answering",
    "TaintManagerEviction": "instance moved off a machine going away",
    "Evicted": "instance stopped: its machine ran short",
    # jobs' runs and release steps
    "Completed": "run finished",
    "SuccessfulCreate/Job": "run started",
    "SawCompletedJob": "run finished",
    "BackoffLimitExceeded": "run failed, with no retries left",
    "DeadlineExceeded": "run stopped: it took longer than its timeout",
    "JobAlreadyActive": "run skipped: the previous one still runs",
    "MissSchedule": "run missed its time (the cluster could not start it then)",
    "UnexpectedJob": "a run not started by its schedule was seen",
}


def last_words(pods: Sequence[Dict]) -> dict[str, str]:
    """Each instance's last words (the end of its output when it last crashed), by its name."""
    found = {}
    for pod in pods:
        statuses = pod.get("status", {}).get("containerStatuses") or []
        for status in statuses[:1]:
            said = (status.get("lastState", {}).get("terminated") or {}).get("message")
            if said:
                found[str(pod.get("metadata", {}).get("name"))] = str(said)
    return found


def event_words(event: Dict, *, app: str = "", said: str = "") -> str:
    """One cluster event as a plain sentence (no Kubernetes words). `said`: the last words of
    the instance it is about, which name why a crash loop crashes."""
    reason, message = str(event.get("reason") or ""), str(event.get("message") or "")
    lowered = message.lower()
    cause = unwritable(said, app or "the app") if said and reason == "BackOff" else None
    if cause is not None:
        return f"keeps crashing: {cause.message.removeprefix('cannot start: ')}; {cause.hint}"
    if reason in {"Failed", "BackOff"} and ("image" in lowered or "pull" in lowered):
        return "image cannot be downloaded" + _registry_says(message)
    if reason == "BackOff":
        return "keeps crashing; waiting before the next restart"
    if reason == "Unhealthy":
        return _unhealthy(message)
    if reason == "ScalingReplicaSet":
        return _version_scaled(message)
    if reason == "SuccessfulRescale":
        size = re.search(r"New size: (\d+)", message)
        why = "above" if "above target" in lowered else "below"
        why = f" (CPU use {why} target)" if "cpu" in lowered else ""
        return f"autoscaling set {size.group(1) if size else 'a new number of'} instances{why}"
    if reason == "FailedCreate" and "exceeded quota" in lowered:
        return "cannot add instances: the environment's limit is reached"
    if reason == "Evicted" and "ephemeral" in lowered:
        return "instance stopped: it wrote more to disk than it has room for (/tmp and its writable folders)"
    kind = str((event.get("involvedObject") or event.get("regarding") or {}).get("kind", ""))
    if reason == "SuccessfulCreate" and kind == "CronJob":
        return _EVENT_WORDS["SuccessfulCreate/Job"]
    if reason in _EVENT_WORDS:
        return _EVENT_WORDS[reason]
    return scrub(f"{_spaced(reason)}: {message}" if message else _spaced(reason)).strip()


def _version_scaled(message: str) -> str:
    """The instances of one version of the app. A deploy starts the new version and retires the
    old one (scaled down to 0): that is a rollover, not the app scaling down to nothing."""
    # "... from 0 to 2" (Kubernetes 1.31 and later) or "... to 2 from 0" / "... to 2" (before)
    found = re.search(
        r"Scaled (up|down) replica set \S+? (?:from (\d+) to (\d+)|to (\d+)(?: from (\d+))?)", message
    )
    if not found:
        return "changing instance count"
    direction = found.group(1)
    count, before = int(found.group(3) or found.group(4)), found.group(2) or found.group(5)
    if direction == "down" and count == 0:
        return "previous version retired: the new version took over"
    if direction == "up" and before in (None, "0"):
        return f"new version started with {_instances(count)}"
    return f"scaling {direction} to {_instances(count)}"


def _instances(count: int) -> str:
    return f"{count} instance" if count == 1 else f"{count} instances"


def _registry_says(message: str) -> str:
    lowered = message.lower()
    if "not found" in lowered or "manifest unknown" in lowered:
        return ": tag not found"
    if "unauthorized" in lowered or "denied" in lowered:
        return ": the registry refused access"
    return ""


def _unhealthy(message: str) -> str:
    code = re.search(r"statuscode: (\d+)", message)
    if code:
        return f"not answering its health check (answered {code.group(1)})"
    if "connection refused" in message:
        return "not answering its health check (nothing listens on its port)"
    if "timeout" in message.lower():
        return "not answering its health check (too slow)"
    return "not answering its health check"


def _spaced(reason: str) -> str:
    """'FailedCreatePodSandBox' -> 'failed create pod sand box' (then scrubbed)."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", reason).lower()


def event_time(event: Dict) -> datetime | None:
    series = event.get("series") or {}
    return (
        parse_time(series.get("lastObservedTime"))
        or parse_time(event.get("lastTimestamp"))
        or parse_time(event.get("eventTime"))
        or parse_time(event.get("firstTimestamp"))
        or parse_time(event.get("metadata", {}).get("creationTimestamp"))
    )


def event_count(event: Dict) -> int:
    series = event.get("series") or {}
    return int(series.get("count") or event.get("count") or 1)


# `<hash>` for an instance group, `<hash>-<id>` for an instance of it.
_POD_SUFFIX = re.compile(r"-[a-z0-9]{5,10}(?:-[a-z0-9]{5})?")


_RUN = re.compile(r"-[0-9]{8,10}")  # a scheduled job's run: its name and the minute it was due
_RELEASE = re.compile(r"-release-[0-9a-f]{10}")  # an app's release step


def app_of(kind: str, name: str, known: Iterable[str]) -> str | None:
    """Which app (or job) an object belongs to, from its name: the app itself, `<app>-<hash>`
    for an instance group, `<app>-<hash>-<id>` for an instance, `<app>-data` for a volume,
    `<job>-<minute>` for a run, `<app>-release-<hash>` for a release step. Longest known name
    first, so 'web-admin' never lands on 'web'."""
    for app in sorted(known, key=len, reverse=True):
        if name == app or name in {f"{app}-data", f"{app}-secrets"}:
            return app
        if (
            kind in {"Pod", "ReplicaSet"}
            and name.startswith(f"{app}-")
            and _POD_SUFFIX.search(name[len(app) :])
        ):
            return app
        if kind == "Job" and (_RUN.fullmatch(name[len(app) :]) or _RELEASE.fullmatch(name[len(app) :])):
            return app
    return None


def window(text: str) -> timedelta:
    """'10m', '1h', '2d', '30s' -> a timedelta; ValueError in plain words otherwise."""
    match = re.fullmatch(r"\s*(\d{1,6})\s*([smhd])\s*", text or "")
    if not match:
        raise ValueError(f"'{text}' is not a duration; write it like 30s, 10m, 1h or 2d")
    unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[match.group(2)]
    return timedelta(**{unit: int(match.group(1))})
