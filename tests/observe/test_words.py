"""Cluster state in plain words: realistic API status dicts in, the user's sentences out."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from unhazzle.observe import words
from unhazzle.shared.quantity import quantity_mb

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
KUBE_WORDS = re.compile(
    r"\b(pods?|deployments?|replicas?|replica ?sets?|namespaces?|hpa|containers?|kubelet|nodes?)\b", re.I
)


def ts(minutes_ago: float) -> str:
    return (NOW - timedelta(minutes=minutes_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def pod(
    *,
    state: dict[str, Any] | None = None,
    last: dict[str, Any] | None = None,
    restarts: int = 0,
    ready: bool = True,
    phase: str = "Running",
    created: float = 30,
    image: str = "ghcr.io/acme/web:1.4.3",
    conditions: list[dict[str, Any]] | None = None,
    probe: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One instance of app 'web' as GET /api/v1/namespaces/shop-production/pods returns it."""
    container: dict[str, Any] = {
        "name": "web",
        "image": image,
        "ports": [{"name": "app", "containerPort": 8080, "protocol": "TCP"}],
        "resources": {
            "limits": {"cpu": "1", "memory": "512Mi"},
            "requests": {"cpu": "500m", "memory": "512Mi"},
        },
        "readinessProbe": probe or {"httpGet": {"path": "/healthz", "port": "app"}, "periodSeconds": 5},
    }
    status: dict[str, Any] = {
        "name": "web",
        "image": image,
        "ready": ready,
        "restartCount": restarts,
        "state": state or {"running": {"startedAt": ts(5)}},
        "lastState": {"terminated": last} if last else {},
    }
    return {
        "metadata": {
            "name": "web-7d4b9c6f5-x2kqp",
            "creationTimestamp": ts(created),
            "labels": {"unhazzle.io/app": "web"},
        },
        "spec": {"containers": [container], "nodeName": "kwok-node-0"},
        "status": {
            "phase": phase,
            "conditions": conditions or [],
            "containerStatuses": [] if phase == "Pending" and conditions else [status],
        },
    }


OOM_LAST = {"exitCode": 137, "reason": "OOMKilled", "startedAt": ts(3), "finishedAt": ts(2)}
CRASH_LAST = {"exitCode": 1, "reason": "Error", "startedAt": ts(2), "finishedAt": ts(2)}
BACKOFF = {
    "waiting": {
        "reason": "CrashLoopBackOff",
        "message": "back-off 40s restarting failed container=web pod=web-7d4b9c6f5-x2kqp",
    }
}
UNSCHEDULABLE = [
    {
        "type": "PodScheduled",
        "status": "False",
        "reason": "Unschedulable",
        "message": "0/2 nodes are available: 2 Insufficient memory. preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod.",
    }
]


def pull(message: str) -> dict[str, Any]:
    return {"waiting": {"reason": "ImagePullBackOff", "message": message}}


INSTANCE_CASES = [
    ("running and ready", pod(), []),
    (
        "out of memory, crash looping",
        pod(state=BACKOFF, last=OOM_LAST, restarts=3, ready=False),
        ["ran out of memory at its 512 MB limit (3 times in 1 h): raise size.memory"],
    ),
    (
        "out of memory once, running again",
        pod(last=OOM_LAST, restarts=1),
        ["ran out of memory at its 512 MB limit (1 time in 1 h): raise size.memory"],
    ),
    (
        "out of memory long ago on an old instance",
        pod(last={**OOM_LAST, "finishedAt": ts(300)}, restarts=4, created=600),
        ["ran out of memory at its 512 MB limit: raise size.memory"],
    ),
    (
        "crashing on start",
        pod(state=BACKOFF, last=CRASH_LAST, restarts=5, ready=False),
        ["keeps crashing on start (exit code 1): see unhazzle logs web --previous"],
    ),
    (
        "crashing after running a while",
        pod(state=BACKOFF, last={**CRASH_LAST, "startedAt": ts(20)}, restarts=2, ready=False),
        ["keeps crashing (exit code 1): see unhazzle logs web --previous"],
    ),
    (
        "exits cleanly but should keep running",
        pod(
            state=BACKOFF, last={**CRASH_LAST, "exitCode": 0, "reason": "Completed"}, restarts=2, ready=False
        ),
        [
            "keeps exiting right after it starts (exit code 0: apps must keep running): see unhazzle logs web --previous"
        ],
    ),
    (
        "tag not found",
        pod(
            state=pull('Back-off pulling image "ghcr.io/acme/web:1.4.3": manifest unknown: manifest unknown'),
            ready=False,
            phase="Pending",
        ),
        [
            "image cannot be downloaded: tag 1.4.3 not found: check the image in unhazzle.yaml (unhazzle inspect ghcr.io/acme/web:1.4.3)"
        ],
    ),
    (
        "tag not found, first try",
        pod(
            state={
                "waiting": {
                    "reason": "ErrImagePull",
                    "message": 'rpc error: code = NotFound desc = failed to pull and unpack image "ghcr.io/acme/web:1.4.3": not found',
                }
            },
            ready=False,
            phase="Pending",
        ),
        [
            "image cannot be downloaded: tag 1.4.3 not found: check the image in unhazzle.yaml (unhazzle inspect ghcr.io/acme/web:1.4.3)"
        ],
    ),
    (
        "registry refuses",
        pod(state=pull("failed to authorize: 401 Unauthorized"), ready=False, phase="Pending"),
        [
            "image cannot be downloaded: the registry refused access: check the image in unhazzle.yaml (unhazzle inspect ghcr.io/acme/web:1.4.3)"
        ],
    ),
    (
        "registry unreachable",
        pod(state=pull("dial tcp: lookup ghcr.io: no such host"), ready=False, phase="Pending"),
        ["image cannot be downloaded: the registry cannot be reached: it is retried"],
    ),
    (
        "bad image name",
        pod(
            state={"waiting": {"reason": "InvalidImageName", "message": "bad"}}, ready=False, phase="Pending"
        ),
        [
            "image name is not valid: check the image in unhazzle.yaml (unhazzle inspect ghcr.io/acme/web:1.4.3)"
        ],
    ),
    (
        "no capacity",
        pod(phase="Pending", conditions=UNSCHEDULABLE, ready=False),
        [
            "waiting for capacity in the cluster: not enough memory free; lower size or instances.min, or ask for more machines"
        ],
    ),
    (
        "no capacity, no reason given",
        pod(
            phase="Pending",
            conditions=[{**UNSCHEDULABLE[0], "message": "0/2 nodes are available"}],
            ready=False,
        ),
        [
            "waiting for capacity in the cluster: no machine can take another instance right now; it starts when one can"
        ],
    ),
    (
        "no volume yet",
        pod(
            phase="Pending",
            conditions=[
                {
                    **UNSCHEDULABLE[0],
                    "message": "0/2 nodes are available: pod has unbound immediate PersistentVolumeClaims. not found",
                }
            ],
            ready=False,
        ),
        [
            "waiting for its volume: the cluster has not created its disk yet; it starts once the volume exists"
        ],
    ),
    (
        "health check failing",
        pod(ready=False),
        ["not answering its health check at /healthz: see unhazzle logs web"],
    ),
    (
        "port check failing",
        pod(ready=False, probe={"tcpSocket": {"port": "app"}}),
        ["not answering its health check on port 8080: see unhazzle logs web"],
    ),
    (
        "secrets missing",
        pod(
            state={
                "waiting": {
                    "reason": "CreateContainerConfigError",
                    "message": 'secret "web-secrets" not found',
                }
            },
            ready=False,
            phase="Pending",
        ),
        ["cannot start: its secrets have no values yet: set them with unhazzle secrets import --app web"],
    ),
    (
        "one secret missing",
        pod(
            state={
                "waiting": {
                    "reason": "CreateContainerConfigError",
                    "message": "couldn't find key SESSION_KEY in Secret shop-production/web-secrets",
                }
            },
            ready=False,
            phase="Pending",
        ),
        ["cannot start: secret SESSION_KEY has no value: set it with unhazzle secrets import --app web"],
    ),
    (
        "starting",
        pod(state={"waiting": {"reason": "ContainerCreating"}}, ready=False, phase="Pending"),
        ["starting"],
    ),
    (
        "killed for memory right now",
        pod(state={"terminated": OOM_LAST}, restarts=0, ready=False),
        ["ran out of memory at its 512 MB limit: raise size.memory"],
    ),
]


@pytest.mark.parametrize(("case", "status", "expected"), INSTANCE_CASES, ids=[c[0] for c in INSTANCE_CASES])
def test_instance_findings_plain_words(case: str, status: dict[str, Any], expected: list[str]) -> None:
    found = words.instance_findings(status, app="web", now=NOW)
    assert [str(f) for f in found] == expected
    for finding in found:
        assert not KUBE_WORDS.search(str(finding)), str(finding)


@pytest.mark.parametrize(
    ("created", "finished", "restarts", "expected"),
    [(30, 2, 3, 3), (600, 2, 7, 7), (600, 120, 7, 0), (600, None, 7, 0), (10, None, 0, 0)],
)
def test_restarts_recent_window(created: float, finished: float | None, restarts: int, expected: int) -> None:
    last = {**OOM_LAST, "finishedAt": ts(finished)} if finished is not None else None
    assert words.restarts_recent(pod(created=created, last=last, restarts=restarts), "web", NOW) == expected


def hpa(
    *, current: int | None, target: int = 60, desired: int = 3, maximum: int = 10, active: bool = True
) -> dict[str, Any]:
    current_metrics = (
        [
            {
                "type": "Resource",
                "resource": {
                    "name": "cpu",
                    "current": {"averageUtilization": current, "averageValue": "300m"},
                },
            }
        ]
        if current is not None
        else []
    )
    return {
        "spec": {
            "minReplicas": 2,
            "maxReplicas": maximum,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": target},
                    },
                }
            ],
        },
        "status": {
            "currentReplicas": desired,
            "desiredReplicas": desired,
            "currentMetrics": current_metrics,
            "conditions": [
                {
                    "type": "ScalingActive",
                    "status": "True" if active else "False",
                    "reason": "ValidMetricFound" if active else "FailedGetResourceMetric",
                }
            ],
        },
    }


AUTOSCALING_CASES = [
    ("calm", hpa(current=35), "autoscaling 2-10: CPU 35% of target 60%", None),
    (
        "busy at max",
        hpa(current=95, desired=10),
        "autoscaling 2-10: CPU 95% of target 60%, at its maximum",
        "busy at its maximum instances: raise instances.max or size.cpu",
    ),
    (
        "at max but calm",
        hpa(current=40, desired=10),
        "autoscaling 2-10: CPU 40% of target 60%, at its maximum",
        None,
    ),
    (
        "no metrics",
        hpa(current=None, active=False),
        "autoscaling 2-10: CPU use unknown",
        "autoscaling cannot read CPU use: the cluster's metrics service is missing or not answering; instance count stays as it is",
    ),
    (
        "below its minimum, blind",
        hpa(current=None, desired=1, active=False),
        "autoscaling 2-10: CPU use unknown",
        # the autoscaler raises an app to its minimum without CPU readings
        "running fewer instances than its minimum of 2: autoscaling is catching up",
    ),
    (
        "just created, not yet looked at",
        {"spec": hpa(current=None)["spec"], "status": {"currentReplicas": 0, "desiredReplicas": 0}},
        "autoscaling 2-10: CPU use unknown",
        None,
    ),
    (
        "fixed count, blind",
        hpa(current=None, desired=2, maximum=2, active=False),
        "autoscaling 2-2: CPU use unknown, at its maximum",
        None,
    ),
]


@pytest.mark.parametrize(
    ("case", "obj", "text", "problem"), AUTOSCALING_CASES, ids=[c[0] for c in AUTOSCALING_CASES]
)
def test_autoscaling_state(case: str, obj: dict[str, Any], text: str, problem: str | None) -> None:
    state = words.autoscaling(obj)
    assert state.text() == text
    assert (str(state.problem) if state.problem else None) == problem


def _condition(obj: dict[str, Any], kind: str, status: str, message: str, ago: timedelta) -> dict[str, Any]:
    since = (NOW - ago).isoformat().replace("+00:00", "Z")
    rest = [c for c in obj["status"]["conditions"] if c["type"] != kind]
    condition = {"type": kind, "status": status, "message": message, "lastTransitionTime": since}
    return obj | {"status": obj["status"] | {"conditions": [*rest, condition]}}


NO_READINGS = "failed to get cpu utilization: unable to get metrics for resource cpu: no metrics returned from resource metrics API"  # fmt: skip
NO_SERVICE = "unable to fetch metrics from resource metrics API: the server could not find the requested resource (get pods.metrics.k8s.io)"  # fmt: skip

LIVE_AUTOSCALING_CASES = [
    # The autoscaler's own count lags the app's by up to one of its passes (15 s).
    ("its own count is behind, the app has its minimum", hpa(current=35, desired=1), 2, None, None),
    (
        "the app has fewer than its minimum",
        hpa(current=35, desired=2),
        1,
        "running fewer instances than its minimum of 2: autoscaling is catching up",
        "progressing",
    ),
    (
        "it cannot change the instance count",
        _condition(hpa(current=35, desired=2), "AbleToScale", "False", "FailedUpdateScale", timedelta(0)),
        1,
        "running fewer instances than its minimum of 2: autoscaling cannot change the instance count; "
        "contact your cluster operator",
        "warning",
    ),
    (
        "new instances, no readings yet",
        _condition(hpa(current=None), "ScalingActive", "False", NO_READINGS, timedelta(seconds=40)),
        2,
        "autoscaling has no CPU readings yet: new instances get their first within a minute",
        "progressing",
    ),
    (
        "no readings for minutes",
        _condition(hpa(current=None), "ScalingActive", "False", NO_READINGS, timedelta(minutes=5)),
        2,
        "autoscaling cannot read CPU use: the cluster's metrics service is not measuring this app; "
        "instance count stays as it is",
        "warning",
    ),
    (
        "no metrics service, even just now",
        _condition(hpa(current=None), "ScalingActive", "False", NO_SERVICE, timedelta(seconds=5)),
        2,
        "autoscaling cannot read CPU use: the cluster's metrics service is missing or not answering; "
        "instance count stays as it is",
        "warning",
    ),
]


@pytest.mark.parametrize(
    ("case", "obj", "running", "problem", "severity"),
    LIVE_AUTOSCALING_CASES,
    ids=[c[0] for c in LIVE_AUTOSCALING_CASES],
)
def test_autoscaling_problem_from_the_app_and_the_time(
    case: str, obj: dict[str, Any], running: int, problem: str | None, severity: str | None
) -> None:
    state = words.autoscaling(obj, running=running, now=NOW)
    assert (str(state.problem) if state.problem else None) == problem
    assert (state.problem.severity if state.problem else None) == severity


def claim(phase: str | None) -> dict[str, Any]:
    return {
        "spec": {"resources": {"requests": {"storage": "10Gi"}}},
        "status": {"phase": phase, "capacity": {"storage": "10Gi"}} if phase == "Bound" else {"phase": phase},
    }


@pytest.mark.parametrize(
    ("obj", "mounted", "expected", "severity"),
    [
        (claim("Bound"), True, "volume (10 GB) attached", "ok"),
        (claim("Bound"), False, "volume (10 GB) ready, not attached: no instance is running", "warning"),
        (claim("Pending"), None, "volume (10 GB) waiting to be created", "progressing"),
        (
            claim("Lost"),
            None,
            "volume (10 GB) lost: its disk is gone; contact your cluster operator",
            "failing",
        ),
        (None, None, "volume not created yet: it is created with the next deploy", "progressing"),
    ],
)
def test_volume_finding_states(
    obj: dict[str, Any] | None, mounted: bool | None, expected: str, severity: str
) -> None:
    found = words.volume_finding(obj, mounted=mounted)
    assert (str(found), found.severity) == (expected, severity)


def test_rollout_findings_stalled_and_quota() -> None:
    deployment = {"status": {"conditions": [
        {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded", "message": 'ReplicaSet "web-7d4b9c6f5" has timed out progressing.'},
        {"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate", "message": 'pods "web-7d4b9c6f5-abcde" is forbidden: exceeded quota: compute, requested: limits.memory=512Mi'},
    ]}}  # fmt: skip
    assert [str(f) for f in words.rollout_findings(deployment)] == [
        "the last deploy did not finish in time: see unhazzle status and events",
        "cannot add instances: the environment's limit is reached; check the plan's instances and size",
    ]


EVENT_CASES = [
    ("NoPods", "No matching pods found", "no instance running yet to keep available during maintenance"),
    (
        "Evicted",
        "Pod ephemeral local storage usage exceeds the total limit of containers 320Mi.",
        "instance stopped: it wrote more to disk than it has room for (/tmp and its writable folders)",
    ),
    (
        "Scheduled",
        "Successfully assigned shop-production/web-7d4b9c6f5-x2kqp to kwok-node-0",
        "instance placed on a machine",
    ),
    (
        "FailedScheduling",
        "0/2 nodes are available: 2 Insufficient memory.",
        "waiting for capacity in the cluster",
    ),
    (
        "Failed",
        'Failed to pull image "ghcr.io/acme/web:1.4.3": manifest unknown',
        "image cannot be downloaded: tag not found",
    ),
    ("BackOff", 'Back-off pulling image "ghcr.io/acme/web:1.4.3"', "image cannot be downloaded"),
    (
        "BackOff",
        "Back-off restarting failed container web in pod web-7d4b9c6f5-x2kqp",
        "keeps crashing; waiting before the next restart",
    ),
    (
        "Unhealthy",
        "Readiness probe failed: HTTP probe failed with statuscode: 503",
        "not answering its health check (answered 503)",
    ),
    (
        "Unhealthy",
        "Liveness probe failed: dial tcp 10.0.0.5:8080: connect: connection refused",
        "not answering its health check (nothing listens on its port)",
    ),
    ("ScalingReplicaSet", "Scaled up replica set web-7d4b9c6f5 to 3", "new version started with 3 instances"),
    (
        "ScalingReplicaSet",
        "Scaled up replica set web-7d4b9c6f5 to 1 from 0",
        "new version started with 1 instance",
    ),
    ("ScalingReplicaSet", "Scaled up replica set web-7d4b9c6f5 to 4 from 3", "scaling up to 4 instances"),
    (
        "ScalingReplicaSet",
        "Scaled up replica set web-7d4b9c6f5 from 0 to 2",
        "new version started with 2 instances",
    ),
    (
        "ScalingReplicaSet",
        "Scaled down replica set web-5f6d8b7c9 from 2 to 0",
        "previous version retired: the new version took over",
    ),
    ("ScalingReplicaSet", "Scaled up replica set web-7d4b9c6f5 from 2 to 5", "scaling up to 5 instances"),
    ("ScalingReplicaSet", "Scaled down replica set web-7d4b9c6f5 to 2 from 4", "scaling down to 2 instances"),
    # a rollover retires the old version: never "scaling down to 0"
    (
        "ScalingReplicaSet",
        "Scaled down replica set web-5f6d8b7c9 to 0 from 1",
        "previous version retired: the new version took over",
    ),
    (
        "SuccessfulRescale",
        "New size: 4; reason: cpu resource utilization (percentage of request) above target",
        "autoscaling set 4 instances (CPU use above target)",
    ),
    (
        "FailedGetResourceMetric",
        "failed to get cpu utilization: unable to get metrics for resource cpu",
        "autoscaling cannot read CPU use",
    ),
    (
        "FailedCreate",
        'Error creating: pods "web-x" is forbidden: exceeded quota: compute',
        "cannot add instances: the environment's limit is reached",
    ),
    (
        "FailedCreatePodSandBox",
        "Failed to create pod sandbox: the node is gone",
        "failed create instance sand box: Failed to create instance sandbox: the machine is gone",
    ),
    ("", "", ""),
]


@pytest.mark.parametrize(("reason", "message", "expected"), EVENT_CASES)
def test_event_words_plain(reason: str, message: str, expected: str) -> None:
    text = words.event_words({"reason": reason, "message": message, "type": "Warning"})
    assert text == expected
    assert not KUBE_WORDS.search(text)


@pytest.mark.parametrize(
    ("kind", "name", "expected"),
    [
        ("Pod", "web-7d4b9c6f5-x2kqp", "web"),
        ("Pod", "web-admin-7d4b9c6f5-x2kqp", "web-admin"),
        ("ReplicaSet", "web-7d4b9c6f5", "web"),
        ("Deployment", "web", "web"),
        ("PersistentVolumeClaim", "cache-data", "cache"),
        ("Pod", "other-7d4b9c6f5-x2kqp", None),
        ("Deployment", "webx", None),
    ],
)
def test_app_of_names(kind: str, name: str, expected: str | None) -> None:
    assert words.app_of(kind, name, ["web", "web-admin", "cache"]) == expected


@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30), ("10m", 600), ("1h", 3600), ("2d", 172800), (" 5m ", 300)]
)
def test_window_parses(text: str, seconds: int) -> None:
    assert words.window(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["", "10", "1w", "-5m", "1.5h", "9999999h", "1h; rm -rf /"])
def test_window_rejects_hostile(text: str) -> None:
    with pytest.raises(ValueError, match="is not a duration"):
        words.window(text)


@pytest.mark.parametrize(
    ("value", "mb"),
    [
        ("512Mi", 512),
        ("1Gi", 1024),
        ("536870912", 512),
        ("500M", 477),
        ("0.5Gi", 512),
        ("1Pi", 2**30),  # every suffix the cluster writes, read as the reconciler reads it
        ("1.5e9", 1431),  # an exponent is a suffix of its own
        ("1.5e3Mi", None),  # so it takes no other
        ("9e999", None),  # beyond what the cluster keeps (63 bits): no size
        ("-1Mi", None),  # no size
        ("500K", None),  # kilo is k
        ("9" * 400 + "Mi", None),  # no quantity the cluster keeps: not one to overflow on
        ("", None),
        ("lots", None),
        (None, None),
    ],
)
def test_quantity_mb(value: Any, mb: int | None) -> None:
    assert quantity_mb(value) == mb


@pytest.mark.parametrize(
    ("value", "cores"), [("500m", 0.5), ("1", 1.0), ("250000000n", 0.25), ("x", None), (None, None)]
)
def test_cpu_cores(value: Any, cores: float | None) -> None:
    assert words.cpu_cores(value) == cores


def test_scrub_keeps_case_and_meaning() -> None:
    assert words.scrub("Pod web in namespace shop-production: container crashed on node n1") == (
        "Instance web in environment shop-production: app crashed on machine n1"
    )


@pytest.mark.parametrize(
    "junk",
    [{}, {"status": None}, {"spec": {}, "status": {"containerStatuses": []}}, {"status": {"phase": 3}}],
)
def test_instance_findings_hostile_input(junk: dict[str, Any]) -> None:
    junk = {k: (v or {}) for k, v in junk.items()}
    assert isinstance(words.instance_findings(junk, app="web", now=NOW), list)


# -- an image that writes where it may not -----------------------------------------------------

NGINX_LAST = {
    **CRASH_LAST,
    "message": '2026/12/05 04:00:01 [emerg] 1#1: mkdir() "/var/cache/nginx/client_temp" failed '
    "(30: Read-only file system)\nnginx: [emerg] mkdir() failed\n",
}


@pytest.mark.parametrize(
    ("said", "message", "hint"),
    [
        (
            NGINX_LAST["message"],
            "it writes to /var/cache/nginx/client_temp, which is read-only",
            "writable: [/var/cache/nginx]",
        ),
        (
            'open() "/var/run/nginx.pid" failed (13: Permission denied)',
            "which is not writable for the app's user",
            "writable: [/var/run]",
        ),
        (
            "OSError: [Errno 30] Read-only file system: '/app/logs'",
            "it writes to /app/logs",
            "writable: [/app/logs]",
        ),
        (
            "Error: EROFS: read-only file system, open '/app/cache/x.json'",
            "/app/cache/x.json",
            "writable: [/app/cache]",
        ),
        (
            "PermissionError: [Errno 13] Permission denied: '/home/app/.cache'",
            "/home/app/.cache",
            "writable: [/home/app/.cache]",
        ),
        ("open /app.log: read-only file system", "/app.log", "write under /tmp"),
    ],
)
def test_a_start_that_writes_where_it_may_not_names_the_path_and_the_field(
    said: str, message: str, hint: str
) -> None:
    found = words.unwritable(said, "web")
    assert found is not None and message in found.message and hint in found.hint


@pytest.mark.parametrize(
    "said", ["listening on :8080", "2026/12/05 12:00 done", "sh: /tmp/x: Permission denied"]
)
def test_other_last_words_are_not_mistaken_for_a_read_only_folder(said: str) -> None:
    assert words.unwritable(said, "web") is None


def test_status_of_a_crash_loop_says_which_folder_to_make_writable() -> None:
    findings = words.instance_findings(
        pod(state=BACKOFF, last=NGINX_LAST, restarts=4, ready=False), app="web", now=NOW
    )
    assert (
        findings[0].message == "cannot start: it writes to /var/cache/nginx/client_temp, which is read-only"
    )
    assert findings[0].hint.startswith("add writable: [/var/cache/nginx] to web in unhazzle.yaml")


def test_events_of_a_crash_loop_carry_its_last_words() -> None:
    event = {"reason": "BackOff", "message": "Back-off restarting failed container web in pod web-1"}
    said = words.last_words(
        [
            {
                "metadata": {"name": "web-1"},
                "status": {"containerStatuses": [{"lastState": {"terminated": NGINX_LAST}}]},
            }
        ]
    )
    text = words.event_words(event, app="web", said=said["web-1"])
    assert text.startswith(
        "keeps crashing: it writes to /var/cache/nginx/client_temp, which is read-only; add writable"
    )
    assert words.event_words(event) == "keeps crashing; waiting before the next restart"
