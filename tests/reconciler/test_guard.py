"""The reconciler's guard: an environment folder touches only its own namespace, only with the
kinds the compiler renders, and no hand edit can run an app privileged, as root or on the host."""

from __future__ import annotations

from functools import cache
from io import StringIO
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from tests.conftest import EXAMPLES
from unhazzle.compiler.pipeline import compile_file
from unhazzle.compiler.rendering.render import render_plan
from unhazzle.errors import InputError
from unhazzle.reconciler.source.guard import Manifest, check_manifests, parse_folder


@cache
def _rendered(env: str) -> dict[str, bytes]:
    plan = compile_file(EXAMPLES / "shop" / "unhazzle.yaml").plan
    files = render_plan(plan, environments=[env])
    return {path.split("/", 1)[1]: text.encode() for path, text in files.items()}


def _folder(env: str = "production") -> dict[str, bytes]:
    return dict(_rendered(env))


def _edit(files: dict[str, bytes], name: str, index: int, change) -> dict[str, bytes]:
    yaml = YAML(typ="safe", pure=True)
    docs = list(yaml.load_all(files[name].decode()))
    change(docs[index])
    out = []
    for doc in docs:
        buf = StringIO()
        YAML().dump(doc, buf)
        out.append(buf.getvalue())
    return {**files, name: "---\n".join(out).encode()}


def guard_environment(project: str, environment: str, files: dict[str, bytes]) -> list[Manifest]:
    """What the reconciler does with a folder before anything is applied (source/git.py): parse
    it once, check every object; every refusal at once, each with its file and line."""
    manifests, problems = parse_folder(f"{project}/{environment}", files)
    problems += check_manifests(manifests, project=project, environment=environment)
    if problems:
        raise InputError(problems)
    return manifests


def _refusals(files: dict[str, bytes]) -> list[str]:
    with pytest.raises(InputError) as caught:
        guard_environment("shop", "production", files)
    return caught.value.lines()


def test_guard_accepts_what_the_compiler_renders():
    manifests = guard_environment("shop", "production", _folder())
    assert len(manifests) > 20
    assert all(m.body["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "unhazzle" for m in manifests)


def _pod(doc):
    return doc["spec"]["template"]["spec"]


HOSTILE_EDITS = {
    "another namespace": ("web.yaml", 0, lambda d: d["metadata"].update(namespace="kube-system")),
    "privileged": (
        "web.yaml",
        0,
        lambda d: _pod(d)["containers"][0]["securityContext"].update(privileged=True),
    ),
    "root user": ("web.yaml", 0, lambda d: _pod(d)["securityContext"].update(runAsUser=0)),
    "host path": (
        "web.yaml",
        0,
        lambda d: _pod(d)["volumes"].append({"name": "h", "hostPath": {"path": "/"}}),
    ),
    "host network": ("web.yaml", 0, lambda d: _pod(d).update(hostNetwork=True)),
    "host port": ("web.yaml", 0, lambda d: _pod(d)["containers"][0]["ports"][0].update(hostPort=80)),
    "added capability": (
        "web.yaml",
        0,
        lambda d: _pod(d)["containers"][0]["securityContext"]["capabilities"].update(add=["NET_ADMIN"]),
    ),
    "load balancer": ("web.yaml", 1, lambda d: d["spec"].update(type="LoadBalancer")),
    "node port": ("web.yaml", 1, lambda d: d["spec"].update(type="NodePort")),
    "cluster role": (
        "web.yaml",
        1,
        lambda d: d.update(apiVersion="rbac.authorization.k8s.io/v1", kind="ClusterRole"),
    ),
    "role binding": (
        "web.yaml",
        1,
        lambda d: d.update(apiVersion="rbac.authorization.k8s.io/v1", kind="RoleBinding"),
    ),
    "weaker pod security": (
        "_environment.yaml",
        0,
        lambda d: d["metadata"]["labels"].update({"pod-security.kubernetes.io/enforce": "privileged"}),
    ),
    "other namespace object": (
        "_environment.yaml",
        0,
        lambda d: d["metadata"].update(name="billing-production"),
    ),
    "label removed": ("web.yaml", 1, lambda d: d["metadata"]["labels"].pop("app.kubernetes.io/managed-by")),
    "runs as the applier": ("web.yaml", 0, lambda d: _pod(d).update(serviceAccountName="unhazzle-applier")),
    "takes the applier's name": ("web.yaml", 1, lambda d: d["metadata"].update(name="unhazzle-applier")),
    "forges the inventory": ("web.yaml", 1, lambda d: d["metadata"].update(name="unhazzle-inventory")),
    "forges the status": ("web.yaml", 1, lambda d: d["metadata"].update(name="unhazzle-status")),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_EDITS))
def test_guard_refuses_hostile_edit(case):
    name, index, change = HOSTILE_EDITS[case]
    refusals = _refusals(_edit(_folder(), name, index, change))
    assert refusals, case
    assert all(f"shop/production/{name}:" in line and "refused" in line for line in refusals)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"apiVersion: v1\nkind: [", "not valid YAML"),
        (b"just: a mapping\n", "not a Kubernetes object"),
        (b"\xff\xfe", "not UTF-8"),
        (b"a" * (3 * 1024 * 1024), "at most"),
    ],
)
def test_guard_refuses_garbage_with_a_located_error(content, expected):
    refusals = _refusals({**_folder(), "junk.yaml": content})
    assert any(line.startswith("shop/production/junk.yaml:") and expected in line for line in refusals)


def test_guard_refuses_duplicate_objects():
    files = _folder()
    refusals = _refusals({**files, "copy.yaml": files["web.yaml"]})
    assert any("appears twice" in line for line in refusals)


def test_guard_ignores_files_that_are_not_yaml(tmp_path: Path):
    assert guard_environment("shop", "production", {**_folder(), "_index.json": b"{}"})


def test_guard_checks_the_objects_as_they_are_applied():
    # `off` is false in the YAML the applied objects are read with: one parse, so the guard sees it too
    web = _folder()["web.yaml"].decode()
    assert "runAsNonRoot: true" in web
    refusals = _refusals(
        {**_folder(), "web.yaml": web.replace("runAsNonRoot: true", "runAsNonRoot: off").encode()}
    )
    assert any(line.startswith("shop/production/web.yaml:") and "runs as root" in line for line in refusals)


def test_guard_refuses_an_environment_in_the_cluster_own_namespace():
    # a hand-made kube/system folder: its objects would land in kube-system
    files = {
        "_environment.yaml": _folder()["_environment.yaml"]
        .replace(b"shop-production", b"kube-system")
        .replace(b'"shop"', b'"kube"')
        .replace(b'"production"', b'"system"')
    }
    with pytest.raises(InputError) as caught:
        guard_environment("kube", "system", files)
    assert any("belongs to the cluster itself" in line for line in caught.value.lines())
