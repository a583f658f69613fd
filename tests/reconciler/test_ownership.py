"""A folder reaches only the namespace the reconciler derives for it, and only when that namespace
is Unhazzle's; an object someone else made is never taken over (so never pruned). The pure half:
the folder's names and files, then what is live. The cluster half is in
test_reconcile_ownership_cluster.py."""

from __future__ import annotations

import json
from typing import Any

import pytest

from unhazzle.reconciler.objects import Ref
from unhazzle.reconciler.source.git import parse_environment
from unhazzle.reconciler.sync.ownership import (
    adopt_command,
    host_refusal,
    namespace_refusal,
    served,
    takeover_refusal,
)

OURS = {"app.kubernetes.io/managed-by": "unhazzle"}


def _namespace(name: str, **labels: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


def _namespace_yaml(name: str, project: str, environment: str) -> str:
    return (
        f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n  labels:\n"
        f"    app.kubernetes.io/managed-by: unhazzle\n    pod-security.kubernetes.io/enforce: restricted\n"
        f"    unhazzle.io/project: {project}\n    unhazzle.io/environment: {environment}\n"
    )


SERVICE = (
    "apiVersion: v1\nkind: Service\nmetadata:\n  name: victim\n  namespace: {ns}\n  labels:\n"
    "    app.kubernetes.io/managed-by: unhazzle\nspec:\n  selector: {{app: evil}}\n"
    "  ports: [{{port: 80}}]\n"
)


def test_a_folder_named_after_a_system_namespace_is_refused_with_no_namespace_object() -> None:
    # The attack as it was found: kube/system/ with an index naming kube-system, no Namespace.
    files = {
        "_index.json": json.dumps({"namespace": "kube-system"}),
        "victim.yaml": SERVICE.format(ns="kube-system"),
    }
    env = parse_environment("kube/system", files)
    assert any("would reach the namespace 'kube-system', which belongs to the cluster itself" in p
               for p in env.problems), env.problems  # fmt: skip
    assert env.namespace == ""


@pytest.mark.parametrize("folder", ["kube/system", "kube/public", "kube/node-lease", "unhazzle/system"])
def test_every_reserved_namespace_is_out_of_reach_even_with_a_proper_namespace_object(folder: str) -> None:
    project, environment = folder.split("/")
    name = f"{project}-{environment}"
    files = {"_environment.yaml": _namespace_yaml(name, project, environment)}
    env = parse_environment(folder, files)
    assert any("belongs to the cluster itself" in p for p in env.problems), env.problems


def test_the_index_cannot_point_a_folder_elsewhere() -> None:
    files = {"_environment.yaml": _namespace_yaml("shop-production", "shop", "production"),
             "_index.json": json.dumps({"namespace": "kube-system"})}  # fmt: skip
    env = parse_environment("shop/production", files)
    assert env.namespace == "shop-production"
    assert any("the namespace 'kube-system' is not the environment's" in p for p in env.problems)


def test_a_folder_must_create_its_own_namespace() -> None:
    files = {
        "victim.yaml": SERVICE.format(ns="shop-production"),
        "_index.json": '{"namespace": "shop-production"}',
    }
    env = parse_environment("shop/production", files)
    assert any("no Namespace 'shop-production'; a folder creates its own" in p for p in env.problems)


@pytest.mark.parametrize("folder", ["Shop/production", "shop/prod_1", "-x/y", "a/" + "b" * 70])
def test_a_folder_whose_names_are_not_the_specs_is_refused(folder: str) -> None:
    env = parse_environment(folder, {"_environment.yaml": "kind: x\n"})
    assert any("not an environment folder" in p for p in env.problems), env.problems


def test_a_namespace_that_does_not_exist_yet_may_be_created() -> None:
    assert (
        namespace_refusal(None, namespace="shop-production", project="shop", environment="production") == ""
    )


def test_a_namespace_made_by_someone_else_is_refused_with_the_step_that_adopts_it() -> None:
    why = namespace_refusal(
        _namespace("shop-production"), namespace="shop-production", project="shop", environment="production"
    )
    assert why.startswith("Namespace/shop-production: refused: it exists and was not made by Unhazzle")
    command = adopt_command("shop-production", "shop", "production")
    assert why.endswith(command)
    assert command == (
        "kubectl label namespace shop-production app.kubernetes.io/managed-by=unhazzle "
        "unhazzle.io/project=shop unhazzle.io/environment=production"
    )


def test_a_namespace_of_another_environment_is_refused() -> None:
    # project a-b, environment c and project a, environment b-c share the name a-b-c.
    live = _namespace("a-b-c", **OURS, **{"unhazzle.io/project": "a-b", "unhazzle.io/environment": "c"})
    why = namespace_refusal(live, namespace="a-b-c", project="a", environment="b-c")
    assert "it belongs to environment 'a-b/c', not to 'a/b-c'" in why
    assert namespace_refusal(live, namespace="a-b-c", project="a-b", environment="c") == ""


def test_a_reserved_namespace_is_refused_even_when_labelled_as_ours() -> None:
    live = _namespace(
        "kube-system", **OURS, **{"unhazzle.io/project": "kube", "unhazzle.io/environment": "system"}
    )
    assert "belongs to the cluster itself" in namespace_refusal(
        live, namespace="kube-system", project="kube", environment="system"
    )
    assert "belongs to the cluster itself" in namespace_refusal(
        None, namespace="default", project="x", environment="y"
    )


def test_an_object_someone_else_made_is_never_taken_over() -> None:
    ref = Ref("v1", "Service", "shop-production", "web")
    theirs = {"metadata": {"name": "web", "labels": {"app": "web"}}}
    assert takeover_refusal(ref, theirs, frozenset()).startswith(
        "Service/shop-production/web: refused: it exists already and was not made by Unhazzle"
    )
    # Ours by label, or once applied by this environment (a label edited away is drift to heal).
    assert takeover_refusal(ref, {"metadata": {"labels": OURS}}, frozenset()) == ""
    assert takeover_refusal(ref, theirs, frozenset({ref})) == ""
    assert takeover_refusal(ref, None, frozenset()) == ""


def _ingress(namespace: str, *hosts: str, tls: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": "web", "namespace": namespace},
        "spec": {"rules": [{"host": h} for h in hosts], "tls": [{"hosts": list(tls)}] if tls else []},
    }


def test_an_address_served_by_another_namespace_is_refused_and_its_own_is_not() -> None:
    mine = _ingress("shop-production", "shop.example.com")
    assert host_refusal(mine, served([mine])) == ""  # its own live copy
    assert host_refusal(mine, served([_ingress("blog-production", "blog.example.com")])) == ""
    evil = _ingress("evil-production", "x.example.com", tls=("shop.example.com",))
    why = host_refusal(mine, served([_ingress("blog-production", "blog.example.com"), evil]))
    assert why.startswith("Ingress/shop-production/web: refused: the address shop.example.com")
    assert "namespace 'evil-production'" in why
    # Two namespaces serving it: the first by name is said, whatever order they were listed in.
    other = _ingress("another-production", "shop.example.com")
    assert "namespace 'another-production'" in host_refusal(mine, served([evil, other]))
