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

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from unhazzle.errors import InputError, Problem

MAX_FILE_BYTES = 2 * 1024 * 1024  # a 3,000-app environment renders files of a few KB each
MAX_FOLDER_BYTES = 64 * 1024 * 1024
MANAGED_BY = ("app.kubernetes.io/managed-by", "unhazzle")
# The kinds the compiler renders (and the reconciler itself writes); nothing else gets in.
ALLOWED_KINDS = {
    ("v1", "Namespace"),
    ("v1", "ServiceAccount"),
    ("v1", "ResourceQuota"),
    ("v1", "LimitRange"),
    ("v1", "Service"),
    ("v1", "PersistentVolumeClaim"),
    ("apps/v1", "Deployment"),
    ("autoscaling/v2", "HorizontalPodAutoscaler"),
    ("policy/v1", "PodDisruptionBudget"),
    ("networking.k8s.io/v1", "NetworkPolicy"),
    ("networking.k8s.io/v1", "Ingress"),
}
# The identity each environment is applied as (rbac.py): a folder may neither redefine it nor run
# an app as it, or an app could reach the API server with the applier's rights and skip this check.
APPLIER_NAME = "unhazzle-applier"
NAMESPACE_LABELS = {
    "pod-security.kubernetes.io/enforce": "restricted",
    MANAGED_BY[0]: MANAGED_BY[1],
}
DOC_START = re.compile(r"^---[ \t]*(#.*)?$")
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


def guard_environment(project: str, environment: str, files: dict[str, bytes]) -> list[Manifest]:
    """Every object of one environment folder (relative path -> bytes), or an InputError listing
    every refusal, each starting with the file and line and naming the object."""
    namespace = f"{project}-{environment}"
    manifests: list[Manifest] = []
    problems: list[Problem] = []
    total = sum(len(data) for data in files.values())
    if total > MAX_FOLDER_BYTES:
        raise InputError(
            [
                Problem(
                    f"{project}/{environment}",
                    1,
                    1,
                    f"folder holds {total / 1e6:.0f} MB; at most {MAX_FOLDER_BYTES // 2**20} MB",
                )
            ]
        )
    for name, data in sorted(files.items()):
        if not name.endswith((".yaml", ".yml")):
            continue
        found, errors = _parse_file(f"{project}/{environment}/{name}", data)
        manifests += found
        problems += errors
    problems += _check_all(manifests, project=project, environment=environment, namespace=namespace)
    if problems:
        raise InputError(problems)
    return manifests


def _parse_file(path: str, data: bytes) -> tuple[list[Manifest], list[Problem]]:
    if len(data) > MAX_FILE_BYTES:
        return [], [
            Problem(
                path,
                1,
                1,
                f"file is {len(data) / 1e6:.1f} MB; a manifest file may be "
                f"at most {MAX_FILE_BYTES // 2**20} MB",
            )
        ]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return [], [Problem(path, line, 1, "not UTF-8 text")]
    manifests: list[Manifest] = []
    problems: list[Problem] = []
    for start, chunk in _documents(text):
        body, problem = _parse_document(path, start, chunk)
        if problem:
            problems.append(problem)
        elif body is not None:
            manifests.append(Manifest(path, start, body))
    return manifests, problems


def _documents(text: str) -> Iterator[tuple[int, str]]:
    """(first line, text) of each YAML document, split on '---' lines."""
    start, lines = 1, list[str]()
    for number, line in enumerate(text.splitlines(), start=1):
        if DOC_START.match(line):
            yield start, "\n".join(lines)
            start, lines = number + 1, []
        else:
            lines.append(line)
    yield start, "\n".join(lines)


def _parse_document(path: str, start: int, chunk: str) -> tuple[dict[str, Any] | None, Problem | None]:
    try:
        body = YAML(typ="safe").load(chunk)  # libyaml when available: folders can be large
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (start + mark.line, mark.column + 1) if mark else (start, 1)
        return None, Problem(path, line, col, f"not valid YAML: {exc.problem or exc.context}")
    except (YAMLError, RecursionError) as exc:
        return None, Problem(path, start, 1, f"not valid YAML: {type(exc).__name__}")
    if body is None:
        return None, None  # an empty document between separators
    if not isinstance(body, dict) or not all(k in body for k in ("apiVersion", "kind", "metadata")):
        return None, Problem(path, start, 1, "not a Kubernetes object (needs apiVersion, kind and metadata)")
    if not isinstance(body.get("metadata"), dict) or not isinstance(body["metadata"].get("name"), str):
        return None, Problem(path, start, 1, f"{body.get('kind')}: metadata.name is missing")
    return body, None


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
    if labels.get(MANAGED_BY[0]) != MANAGED_BY[1]:
        yield f"lacks the label {MANAGED_BY[0]}: {MANAGED_BY[1]}"
    if meta["name"] == APPLIER_NAME:
        yield f"the name '{APPLIER_NAME}' is reserved for the identity Unhazzle deploys with"
    if kind == "Namespace":
        yield from _namespace(meta, labels, project=project, environment=environment, namespace=namespace)
        return
    if meta.get("namespace", namespace) != namespace:
        yield f"names the namespace '{meta.get('namespace')}'; this folder may only use '{namespace}'"
    spec = _mapping(body.get("spec"))
    if kind == "Service" and spec.get("type", "ClusterIP") != "ClusterIP":
        yield f"Service type {spec.get('type')} opens the app outside the cluster's ingress; only ClusterIP"
    if kind == "Service" and spec.get("externalIPs"):
        yield "Service externalIPs are not allowed"
    if kind == "Deployment":
        template = _mapping(spec.get("template"))
        pod = _mapping(template.get("spec"))
        yield from pod_violations(pod)


def _namespace(
    meta: dict[str, Any], labels: dict[str, Any], *, project: str, environment: str, namespace: str
) -> Iterator[str]:
    if meta["name"] != namespace:
        yield f"this folder may only create the namespace '{namespace}', not '{meta['name']}'"
    wanted = {**NAMESPACE_LABELS, "unhazzle.io/project": project, "unhazzle.io/environment": environment}
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
