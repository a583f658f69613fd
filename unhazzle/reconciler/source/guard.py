"""The last line of defence: what an environment folder may ask of a shared cluster.

The environment repo can be edited by more people and pipelines than the compiler, so before
anything is applied every object in ``PROJECT/ENVIRONMENT/`` is checked here. One refusal refuses
the whole environment for that round (all or nothing); other environments go on. Pure: file
contents in, objects or refusals out.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml

from unhazzle.errors import Problem
from unhazzle.reconciler.source import manifestyaml
from unhazzle.shared.names import (
    APPLIER_NAME,
    ENVIRONMENT_FILE,
    ENVIRONMENT_LABEL,
    INVENTORY_NAME,
    MANAGED_BY,
    OURS,
    PROJECT_LABEL,
    STATUS_NAME,
    namespace_for,
    reserved,
)

MAX_FILE_BYTES = 2 * 1024 * 1024  # a 3,000-app environment renders files of a few KB each
MAX_FOLDER_BYTES = 64 * 1024 * 1024
# The kinds the compiler renders (and the reconciler itself writes); nothing else gets in.
ALLOWED_KINDS = {
    ("v1", "Namespace"),
    ("v1", "ServiceAccount"),
    ("v1", "ResourceQuota"),
    ("v1", "LimitRange"),
    ("v1", "Service"),
    ("v1", "PersistentVolumeClaim"),
    ("apps/v1", "Deployment"),
    ("batch/v1", "Job"),
    ("batch/v1", "CronJob"),
    ("autoscaling/v2", "HorizontalPodAutoscaler"),
    ("policy/v1", "PodDisruptionBudget"),
    ("networking.k8s.io/v1", "NetworkPolicy"),
    ("networking.k8s.io/v1", "Ingress"),
}
# The identity each environment is applied as (APPLIER_NAME, rbac.py): a folder may neither
# redefine it nor run an app as it, or an app could reach the API server with the applier's
# rights and skip this check.
NAMESPACE_LABELS = {
    "pod-security.kubernetes.io/enforce": "restricted",
    MANAGED_BY: OURS,
}
NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")


@dataclass(frozen=True)
class Manifest:
    """One Kubernetes object from the folder, and where it was written."""

    file: str
    line: int
    body: dict[str, Any]

    @property
    def ref(self) -> str:
        meta = self.body.get("metadata") or {}
        return f"{self.body.get('kind')}/{meta.get('namespace', '-')}/{meta.get('name')}"


def parse_folder(folder: str, files: dict[str, bytes]) -> tuple[list[Manifest], list[Problem]]:
    """The folder's objects, each with its file and line (the `_environment.yaml` ones first),
    and what could not be read as a Kubernetes object. The reconciler applies exactly these
    bodies, so what the guard checks is what reaches the cluster (one parse, one view)."""
    total = sum(len(data) for data in files.values())
    if total > MAX_FOLDER_BYTES:
        message = f"folder holds {total / 1e6:.0f} MB; at most {MAX_FOLDER_BYTES // 2**20} MB"
        return [], [Problem(folder, 1, 1, message)]
    manifests: list[Manifest] = []
    problems: list[Problem] = []
    memo = manifestyaml.Memo()  # the folder's files share their keys and most values
    for name in sorted(files, key=lambda n: (n != ENVIRONMENT_FILE, n)):
        if name.endswith((".yaml", ".yml")):
            found, errors = _parse_file(f"{folder}/{name}", files[name], memo)
            manifests += found
            problems += errors
    return manifests, problems


def _parse_file(path: str, data: bytes, memo: manifestyaml.Memo) -> tuple[list[Manifest], list[Problem]]:
    if len(data) > MAX_FILE_BYTES:
        limit = MAX_FILE_BYTES // 2**20
        size = f"file is {len(data) / 1e6:.1f} MB; a manifest file may be at most {limit} MB"
        return [], [Problem(path, 1, 1, size)]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return [], [Problem(path, line, 1, "not UTF-8 text")]
    manifests: list[Manifest] = []
    problems: list[Problem] = []
    try:
        for line, body in manifestyaml.documents(text, memo):
            shape = _shape(body)
            if shape:
                problems.append(Problem(path, line, 1, shape))
            elif body is not None:
                manifests.append(Manifest(path, line, body))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problems.append(Problem(path, line, col, f"not valid YAML: {exc.problem or exc.context}"))
    except (yaml.YAMLError, RecursionError) as exc:
        problems.append(Problem(path, 1, 1, f"not valid YAML: {type(exc).__name__}"))
    return manifests, problems


def _shape(body: Any) -> str:
    """Why *body* is not an object the reconciler can place ("" when it is; None is an empty
    document between separators)."""
    if body is None:
        return ""
    if not isinstance(body, dict) or not all(isinstance(body.get(k), str) for k in ("apiVersion", "kind")):
        return "not a Kubernetes object (needs apiVersion, kind and metadata)"
    meta = body.get("metadata")
    if not isinstance(meta, dict) or not isinstance(meta.get("name"), str) or not meta["name"]:
        return f"{body['kind']}: metadata.name is missing"
    allowed = (body["apiVersion"], body["kind"]) in ALLOWED_KINDS
    if allowed and body["kind"] != "Namespace" and not isinstance(meta.get("namespace"), str):
        # (a kind not allowed at all is refused as such by the checks that follow)
        return f"{body['kind']}/{meta['name']} has no namespace (only a Namespace may be cluster-wide)"
    return ""


def check_manifests(manifests: list[Manifest], *, project: str, environment: str) -> list[Problem]:
    """Every refusal for the folder's objects: duplicates, kinds, namespaces, labels, pods."""
    return _check_all(
        manifests, project=project, environment=environment, namespace=namespace_for(project, environment)
    )


def _check_all(manifests: list[Manifest], *, project: str, environment: str, namespace: str) -> list[Problem]:
    problems: list[Problem] = []
    seen: dict[tuple[str, str, str], Manifest] = {}
    for manifest in manifests:
        key = (
            str(manifest.body.get("kind")),
            str(manifest.body["metadata"].get("namespace", "")),
            manifest.body["metadata"]["name"],
        )
        if key in seen:
            first = seen[key]
            problems.append(_refuse(manifest, f"appears twice (first at {first.file}:{first.line})"))
            continue
        seen[key] = manifest
        problems += [
            _refuse(manifest, reason)
            for reason in _reasons(
                manifest.body, project=project, environment=environment, namespace=namespace
            )
        ]
    return problems


def _refuse(manifest: Manifest, reason: str) -> Problem:
    return Problem(manifest.file, manifest.line, 1, f"{manifest.ref}: refused: {reason}")


def _reasons(body: dict[str, Any], *, project: str, environment: str, namespace: str) -> Iterator[str]:
    kind, api = body.get("kind"), body.get("apiVersion")
    meta = body["metadata"]
    if (api, kind) not in ALLOWED_KINDS:
        yield f"{api} {kind} is not a kind Unhazzle manages here"
        return
    if not NAME.match(meta["name"]) or len(meta["name"]) > 253:
        yield f"'{meta['name']}' is not a valid object name"
    labels = _mapping(meta.get("labels"))
    if labels.get(MANAGED_BY) != OURS:
        yield f"lacks the label {MANAGED_BY}: {OURS}"
    if meta["name"] == APPLIER_NAME:
        yield f"the name '{APPLIER_NAME}' is reserved for the identity Unhazzle deploys with"
    if meta["name"] in (INVENTORY_NAME, STATUS_NAME):
        yield f"the name '{meta['name']}' is reserved for the reconciler's own record of the environment"
    if kind == "Namespace":
        yield from _namespace(meta, labels, project=project, environment=environment, namespace=namespace)
        return
    if meta.get("namespace", namespace) != namespace:
        yield f"names the namespace '{meta['namespace']}', outside the environment's namespace '{namespace}'"
    spec = _mapping(body.get("spec"))
    if kind == "Service" and spec.get("type", "ClusterIP") != "ClusterIP":
        yield f"Service type {spec.get('type')} opens the app outside the cluster's ingress; only ClusterIP"
    if kind == "Service" and spec.get("externalIPs"):
        yield "Service externalIPs are not allowed"
    if kind == "CronJob":
        spec = _mapping(_mapping(spec.get("jobTemplate")).get("spec"))
    if kind in ("Deployment", "Job", "CronJob"):
        template = _mapping(spec.get("template"))
        pod = _mapping(template.get("spec"))
        yield from pod_violations(pod)


def _namespace(
    meta: dict[str, Any], labels: dict[str, Any], *, project: str, environment: str, namespace: str
) -> Iterator[str]:
    if meta["name"] != namespace:
        yield f"this folder may only create the namespace '{namespace}', not '{meta['name']}'"
    elif reserved(namespace):
        yield f"the namespace '{namespace}' belongs to the cluster itself, not to a project"
    wanted = {**NAMESPACE_LABELS, PROJECT_LABEL: project, ENVIRONMENT_LABEL: environment}
    for key, value in wanted.items():
        if labels.get(key) != value:
            yield f"label {key} must be '{value}' (found {labels.get(key)!r})"
    for mode in ("enforce", "audit", "warn"):
        if labels.get(f"pod-security.kubernetes.io/{mode}") not in (None, "restricted"):
            yield f"label pod-security.kubernetes.io/{mode} must be 'restricted'"


def pod_violations(pod: dict[str, Any]) -> Iterator[str]:
    """Pod-level guard rails that survive hand edits (Pod Security 'restricted' and more)."""
    for flag in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.get(flag):
            yield f"uses {flag}"
    if APPLIER_NAME in (pod.get("serviceAccountName"), pod.get("serviceAccount")):
        yield f"runs as '{APPLIER_NAME}', the identity Unhazzle deploys with"
    security = _mapping(pod.get("securityContext"))
    if security.get("runAsUser") == 0 or security.get("runAsNonRoot") is False:
        yield "runs as root"
    if _mapping(security.get("seccompProfile")).get("type") == "Unconfined":
        yield "turns off seccomp"
    for volume in _dicts(pod.get("volumes")):
        if "hostPath" in volume:
            yield f"mounts a host path ({volume.get('name')})"
    containers = _dicts(pod.get("containers")) + _dicts(pod.get("initContainers"))
    containers += _dicts(pod.get("ephemeralContainers"))
    for container in containers:
        yield from _container_violations(container)


def _container_violations(container: dict[str, Any]) -> Iterator[str]:
    name = container.get("name")
    security = _mapping(container.get("securityContext"))
    if security.get("privileged"):
        yield f"container {name} runs privileged"
    if security.get("allowPrivilegeEscalation") is True:
        yield f"container {name} allows privilege escalation"
    if security.get("runAsUser") == 0 or security.get("runAsNonRoot") is False:
        yield f"container {name} runs as root"
    added = _mapping(security.get("capabilities")).get("add") or []
    if added:
        yield f"container {name} adds capabilities {', '.join(map(str, added))}"
    if _mapping(security.get("seccompProfile")).get("type") == "Unconfined":
        yield f"container {name} turns off seccomp"
    for port in _dicts(container.get("ports")):
        if port.get("hostPort"):
            yield f"container {name} binds host port {port.get('hostPort')}"


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []
