"""`unhazzle run`: one command, once, in an app's image with its settings and secrets.

The instance is the app's own, as the cluster runs it now (its Deployment's pod template: image,
settings, secret references, user, read-only filesystem, folders), with the command in place of
its process, no health checks (a console is not a server), never restarted and never in the
app's traffic (it does not carry the app's label, so no Service or autoscaler counts it). Its
output is streamed; it is deleted afterwards, Ctrl-C included. The environment's quota keeps
room for one (rendering/render.py)."""

from __future__ import annotations

import copy
import secrets
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TextIO

from unhazzle.compiler.rendering.render import as_written
from unhazzle.errors import OperationError
from unhazzle.observe import words
from unhazzle.observe.reads import Reader, log_lines
from unhazzle.reconciler.cluster.client import Client, ClusterError
from unhazzle.reconciler.objects import Obj, Ref
from unhazzle.shared.names import APP_LABEL, PUBLIC_LABEL, RUN_LABEL

START_WAIT_S = 300.0  # pulling a large image can take minutes; a bad one is said at once
POLL_S = 0.5


def instance_for(deployment: Obj, command: list[str], *, name: str, timeout_s: int) -> Obj:
    """The run's instance (a Pod) from the app's Deployment."""
    template = deployment["spec"]["template"]
    meta = deployment["metadata"]
    app = meta["name"]
    spec = copy.deepcopy(template["spec"])
    container = next((c for c in spec["containers"] if c.get("name") == app), spec["containers"][0])
    spec["containers"] = [container]
    container["name"] = app
    container["command"] = [as_written(part) for part in command]
    for key in ("args", "ports", "startupProbe", "readinessProbe", "livenessProbe", "lifecycle"):
        container.pop(key, None)
    spec.pop("topologySpreadConstraints", None)
    spec["restartPolicy"] = "Never"
    spec["activeDeadlineSeconds"] = timeout_s
    labels = {
        k: v
        for k, v in (template.get("metadata") or {}).get("labels", {}).items()
        if k not in (APP_LABEL, PUBLIC_LABEL)
    }
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": meta["namespace"],
            "labels": {**labels, RUN_LABEL: app},
            "annotations": dict((template.get("metadata") or {}).get("annotations") or {}),
        },
        "spec": spec,
    }


def run_name(app: str) -> str:
    return f"{app}-run-{secrets.token_hex(3)}"


def run(
    client: Client,
    reader: Reader,
    *,
    namespace: str,
    app: str,
    command: list[str],
    timeout_s: int,
    out: TextIO | None = None,
    said: Callable[[str], None] | None = None,
) -> int:
    """Start the command, stream what it prints to `out`, and return its exit code."""
    out = out or sys.stdout
    say = said or (lambda text: print(text, file=sys.stderr, flush=True))
    deployment = client.get(Ref("apps/v1", "Deployment", namespace, app))
    if deployment is None:
        raise OperationError(
            f"app {app} does not run in {namespace} yet: publish it and let the reconciler apply it first"
        )
    pod = instance_for(deployment, command, name=run_name(app), timeout_s=timeout_s)
    ref = Ref.of(pod)
    try:
        client.create(pod)
    except ClusterError as err:
        raise OperationError(f"cannot start the run: {words.scrub(err.message)}") from None
    say(f"started {ref.name} ({' '.join(command)}) in {namespace}; Ctrl-C stops it")
    try:
        live = _started(client, ref, app)
        if live is not None:
            for line in log_lines(reader, namespace, ref.name, container=app, options={"follow": "true"}):
                out.write(line.decode("utf-8", errors="replace") + "\n")
                out.flush()
        return _exit_code(client, ref, app, say)
    except KeyboardInterrupt:
        say(f"stopping {ref.name}")
        return 130
    finally:
        try:
            client.delete(ref)
        except ClusterError as err:
            say(f"could not remove {ref.name}: {err.message}; remove it by hand")


def _started(client: Client, ref: Ref, app: str) -> Obj | None:
    """Wait until the instance runs or has ended; a reason it never will is an error in words."""
    deadline = time.monotonic() + START_WAIT_S
    while time.monotonic() < deadline:
        pod = client.get(ref)
        if pod is None:
            raise OperationError(f"{ref.name} was removed before it started")
        phase = (pod.get("status") or {}).get("phase", "Pending")
        if phase != "Pending":
            return pod
        failing = [
            f for f in words.instance_findings(pod, app=app, now=datetime.now(UTC)) if f.severity == "failing"
        ]
        if failing:
            raise OperationError(f"the run cannot start: {failing[0]}")
        time.sleep(POLL_S)
    raise OperationError(f"the run did not start within {START_WAIT_S:.0f} s")


def _exit_code(client: Client, ref: Ref, app: str, say: Callable[[str], None]) -> int:
    """The command's exit code once the instance has ended (the log stream can end first)."""
    while True:
        pod = client.get(ref) or {}
        status: dict[str, Any] = pod.get("status") or {}
        if status.get("reason") == "DeadlineExceeded":
            say("the run took longer than its --timeout and was stopped")
            return 124
        for container in status.get("containerStatuses") or []:
            ended = (container.get("state") or {}).get("terminated")
            if container.get("name") == app and ended:
                if ended.get("reason") == "OOMKilled":
                    say("the run ran out of memory (the app's memory size) and was stopped")
                return int(ended.get("exitCode", 1))
        time.sleep(POLL_S)
