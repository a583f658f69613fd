"""Read-only cluster access for `status`, `events`, `logs` and `metrics`: plain dicts out, our own
`OperationError` for every failure.

Why its own module next to reconciler/cluster/client.py: it only ever reads, never counts or
retries, and its errors are the read commands' words; the connection itself (kubeconfig, TLS,
credentials, the pool) is the same transport the reconciler sends through.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import quote

import urllib3

from unhazzle.errors import OperationError
from unhazzle.observe.overview import Snapshot
from unhazzle.reconciler.cluster import connection, transport
from unhazzle.reconciler.cluster.credentials import Unusable
from unhazzle.shared.names import (
    APP_LABEL,
    BADGE_LABEL,
    ENVIRONMENT_LABEL,
    JOB_LABEL,
    MANAGED_BY,
    OURS,
    PROJECT_LABEL,
)

Obj = dict[str, Any]
STATUS_CONFIGMAP = "unhazzle-status"
MANAGED = f"{MANAGED_BY}={OURS}"


class ClusterReadError(OperationError):
    """The cluster refused or never answered; `status` 0 means no answer at all."""

    def __init__(self, where: str, status: int, message: str) -> None:
        self.status = status
        super().__init__(f"{where}: {message}")


class MetricsUnavailable(ClusterReadError):
    """The metrics API is not installed: a fact to state, not an error to fail on."""


def connect(kubeconfig: str | None = None, *, timeout: float = 10.0) -> Reader:
    """A reader for the cluster in *kubeconfig* (else $KUBECONFIG, ~/.kube/config, in-cluster)."""
    path = connection.chosen(kubeconfig)
    try:
        api = transport.connect(kubeconfig)
    except Unusable as exc:
        where = path or "~/.kube/config"
        detail = connection.reason(path, exc)
        raise OperationError(f"{where}: cannot read the cluster connection settings: {detail}") from None
    return Reader(api, timeout=timeout)


class Reader:
    """GETs against one API server; thread-safe (the transport is)."""

    def __init__(self, api: transport.Transport, *, timeout: float = 10.0) -> None:
        self._api = api
        self._timeout = timeout

    @property
    def server(self) -> str:
        return self._api.server

    def get(self, path: str, *, query: list[tuple[str, str]] | None = None, where: str = "") -> Any:
        data = self._call(path, query=query or [], where=where or path, stream=False)
        try:
            return json.loads(data)
        except ValueError:
            raise ClusterReadError(where or path, 0, "the cluster sent an answer that is not JSON") from None

    def lines(self, path: str, *, query: list[tuple[str, str]], where: str) -> Iterator[bytes]:
        """A streamed answer (logs) line by line; the connection closes when the caller stops."""
        response = self._call(path, query=query, where=where, stream=True)
        try:
            yield from _split_lines(response)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise ClusterReadError(where, 0, f"the stream broke: {exc}") from None
        finally:
            response.release_conn()

    def _call(self, path: str, *, query: list[tuple[str, str]], where: str, stream: bool) -> Any:
        headers = {"Accept": "application/json, */*", "Content-Type": "application/json"}
        # A stream waits as long as the app prints nothing; only connecting is bounded.
        timeout = (self._timeout, None) if stream else self._timeout
        try:
            response = self._api.request(
                "GET", path, query=query, headers=headers, timeout=timeout, stream=stream
            )
            if response.status >= 400:
                raise _refused(where, response.status, response.data)
            return response if stream else response.data
        except Unusable as exc:  # the credentials could not be had (a plugin failed)
            raise ClusterReadError(where, 0, str(exc)) from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise ClusterReadError(where, 0, connection.no_answer(self.server, exc)) from None

    def items(self, path: str, *, where: str, selector: str = "") -> list[Obj]:
        query = [("labelSelector", selector)] if selector else []
        try:
            body = self.get(path, query=query, where=where)
        except ClusterReadError as err:
            if err.status == 404:
                return []
            raise
        found: list[Obj] = body.get("items") or []
        return found


def _split_lines(response: Any) -> Iterator[bytes]:
    pending = b""
    for chunk in response.stream(64 * 1024, decode_content=True):
        pending += chunk
        *complete, pending = pending.split(b"\n")
        yield from complete
    if pending:
        yield pending


def _refused(where: str, status: int, body: Any) -> ClusterReadError:
    message = ""
    try:
        message = str(json.loads(body or b"{}").get("message", ""))
    except (ValueError, AttributeError):
        message = str(body or "")[:200]
    if status == 401 or status == 403:
        return ClusterReadError(where, status, "the cluster refused these credentials; check --kubeconfig")
    return ClusterReadError(where, status, message or f"the cluster answered {status}")


def _ns(namespace: str) -> str:
    return quote(namespace, safe="")


def snapshot(reader: Reader, namespace: str, *, with_events: bool = True) -> Snapshot:
    """One environment, read with parallel GETs (each is a loopback round trip; together they
    decide whether `status` answers within a second)."""
    ns = _ns(namespace)
    try:
        meta = reader.get(f"/api/v1/namespaces/{ns}", where=f"environment {namespace}")
    except ClusterReadError as err:
        if err.status == 404:
            return Snapshot(namespace, exists=False)
        raise
    paths = {
        "deployments": f"/apis/apps/v1/namespaces/{ns}/deployments",
        "pods": f"/api/v1/namespaces/{ns}/pods",
        "autoscalers": f"/apis/autoscaling/v2/namespaces/{ns}/horizontalpodautoscalers",
        "claims": f"/api/v1/namespaces/{ns}/persistentvolumeclaims",
        "cronjobs": f"/apis/batch/v1/namespaces/{ns}/cronjobs",
        "jobs": f"/apis/batch/v1/namespaces/{ns}/jobs",
        **({"events": f"/api/v1/namespaces/{ns}/events"} if with_events else {}),
    }
    with ThreadPoolExecutor(max_workers=len(paths) + 1) as pool:
        futures = {
            key: pool.submit(reader.items, path, where=f"environment {namespace}")
            for key, path in paths.items()
        }
        status = pool.submit(reconciler_status, reader, namespace)
        found = {key: future.result() for key, future in futures.items()}
    labels = meta.get("metadata", {}).get("labels") or {}
    return Snapshot(namespace, exists=True, labels=labels, reconciler=status.result(), **found)


def reconciler_status(reader: Reader, namespace: str) -> dict[str, str] | None:
    """The reconciler's record for this environment (ConfigMap `unhazzle-status`), if it wrote one."""
    path = f"/api/v1/namespaces/{_ns(namespace)}/configmaps/{STATUS_CONFIGMAP}"
    try:
        body = reader.get(path, where=f"environment {namespace}")
    except ClusterReadError as err:
        if err.status in (403, 404):
            return None
        raise
    data: dict[str, str] = body.get("data") or {}
    return data


def pods(reader: Reader, namespace: str, app: str, *, job: bool = False) -> list[Obj]:
    """An app's instances, or (`job`) the instances of a scheduled job's runs the cluster keeps."""
    path = f"/api/v1/namespaces/{_ns(namespace)}/pods"
    label = JOB_LABEL if job else APP_LABEL
    return reader.items(path, where=f"{'job' if job else 'app'} {app}", selector=f"{label}={app}")


def all_pods(reader: Reader, namespace: str) -> list[Obj]:
    return reader.items(f"/api/v1/namespaces/{_ns(namespace)}/pods", where=f"environment {namespace}")


def events(reader: Reader, namespace: str) -> list[Obj]:
    return reader.items(f"/api/v1/namespaces/{_ns(namespace)}/events", where=f"environment {namespace}")


def log_lines(
    reader: Reader, namespace: str, pod: str, *, container: str, options: dict[str, str]
) -> Iterator[bytes]:
    """One instance's log (`options`: tailLines, sinceSeconds, previous, follow, timestamps)."""
    path = f"/api/v1/namespaces/{_ns(namespace)}/pods/{quote(pod, safe='')}/log"
    query = [("container", container), *sorted(options.items())]
    return reader.lines(path, query=query, where=f"instance {pod}")


def usage(reader: Reader, namespace: str) -> list[Obj]:
    """Per-instance CPU and memory from the metrics API; MetricsUnavailable when not installed."""
    path = f"/apis/metrics.k8s.io/v1beta1/namespaces/{_ns(namespace)}/pods"
    try:
        body = reader.get(path, where="metrics")
    except ClusterReadError as err:
        if err.status in (404, 503):
            raise MetricsUnavailable("metrics", err.status, "the metrics service is not installed") from None
        raise
    found: list[Obj] = body.get("items") or []
    return found


def project_environments(reader: Reader, project: str) -> list[tuple[str, str, str]]:
    """(environment, badge, its place in the cluster) for every environment of *project*."""
    found = reader.items(
        "/api/v1/namespaces", where=f"project {project}", selector=f"{PROJECT_LABEL}={project}"
    )
    result = []
    for item in found:
        meta = item.get("metadata", {})
        labels = meta.get("labels") or {}
        env = labels.get(ENVIRONMENT_LABEL) or meta.get("name", "").removeprefix(f"{project}-")
        result.append((env, labels.get(BADGE_LABEL, ""), meta.get("name", "")))
    return sorted(result)


def app_names(reader: Reader, namespace: str) -> list[str]:
    """The apps we run in an environment (when no spec says which)."""
    path = f"/apis/apps/v1/namespaces/{_ns(namespace)}/deployments"
    return sorted(
        str(d.get("metadata", {}).get("name")) for d in reader.items(path, where=namespace, selector=MANAGED)
    )
