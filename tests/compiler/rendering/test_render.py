"""Rendered manifests: valid Kubernetes objects, owned by us, never fighting the autoscaler,
never carrying a secret value."""

from __future__ import annotations

import os
from collections import OrderedDict
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
from jinja2 import StrictUndefined

from tests.conftest import EXAMPLES, MINIMAL
from tests.support.manifests import KUBERNETES_VERSION, ident, objects, render_file, render_text
from unhazzle.compiler.rendering.render import template_environment
from unhazzle.shared.quantity import quantity_mb

SPECS = sorted(EXAMPLES.glob("*/unhazzle.yaml"))
EXAMPLE_OBJECTS = [
    pytest.param(obj, id=f"{spec.parent.name}:{ident(obj)}")
    for spec in SPECS
    for _, obj in objects(render_file(spec))
]


def deployments_and_autoscalers(files: dict[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:
    found = objects(files)
    deployments = {ident(o): o for _, o in found if o["kind"] == "Deployment"}
    autoscalers = {ident(o): o for _, o in found if o["kind"] == "HorizontalPodAutoscaler"}
    return deployments, autoscalers


@pytest.mark.parametrize("obj", EXAMPLE_OBJECTS)
def test_render_object_is_valid_kubernetes(obj: dict[str, Any]):
    # strict: unknown fields fail too, as a typo in a template would be dropped by the server
    kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("obj", EXAMPLE_OBJECTS)
def test_render_object_is_labelled_managed_by_unhazzle(obj: dict[str, Any]):
    assert obj["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "unhazzle"


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.parent.name)
def test_render_every_deployment_is_under_an_autoscaler_without_replicas(spec: Path):
    deployments, autoscalers = deployments_and_autoscalers(render_file(spec))
    assert deployments and sorted(deployments) == sorted(
        k.replace("HorizontalPodAutoscaler/", "Deployment/") for k in autoscalers
    )
    for key, deployment in deployments.items():
        assert "replicas" not in deployment["spec"], key
    for autoscaler in autoscalers.values():
        assert autoscaler["spec"]["scaleTargetRef"]["kind"] == "Deployment"


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.parent.name)
def test_render_files_hold_only_objects_and_namespace_first(spec: Path):
    files = render_file(spec)
    for rel, obj in objects(files):
        assert {"apiVersion", "kind", "metadata"} <= set(obj), rel
    envs = {rel.split("/")[0] for rel in files}
    for env in envs:
        first = objects({"x": files[f"{env}/_environment.yaml"]})[0][1]
        assert first["kind"] == "Namespace"


def test_render_secret_values_never_appear(write_spec):
    # Secrets are names in the spec; the rendered objects only reference them by key.
    spec = (
        MINIMAL
        + "    secrets: [SESSION_KEY]\n    databases: [main]\n"
        + ("databases:\n  main: {provider: aiven, region: aws-eu-central-1, secret: DATABASE_URL}\n")
    )
    found = objects(render_text(spec))
    assert not [o for _, o in found if o["kind"] == "Secret"]
    (deployment,) = [o for _, o in found if o["kind"] == "Deployment"]
    env = deployment["spec"]["template"]["spec"]["containers"][0]["env"]
    assert env == [
        {"name": n, "valueFrom": {"secretKeyRef": {"name": "web-secrets", "key": n}}}
        for n in ("DATABASE_URL", "SESSION_KEY")
    ]


def test_render_example_secrets_are_references_only():
    for spec in SPECS:
        for _, obj in objects(render_file(spec)):
            assert obj["kind"] != "Secret"
            if obj["kind"] != "Deployment":
                continue
            for container in obj["spec"]["template"]["spec"]["containers"]:
                for var in container.get("env", []):
                    assert ("value" in var) != ("valueFrom" in var)
                    assert "secretKeyRef" in var.get("valueFrom", {"secretKeyRef": 1})


def test_render_empty_command_and_args_leave_the_image_defaults():
    found = objects(render_text(MINIMAL + "    command: []\n    args: []\n"))
    deployment = next(o for _, o in found if o["kind"] == "Deployment")
    kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert "command" not in container and "args" not in container


def test_render_every_network_policy_selects_instances_the_environment_has():
    # (a policy that selects nothing is a mistake to policy checkers: kube-score, kube-linter)
    private = MINIMAL
    public = MINIMAL + "    public: true\n"
    for spec, admits_front_door in ((private, False), (public, True)):
        found = [o for _, o in objects(render_text(spec)) if o["kind"] == "NetworkPolicy"]
        names = {o["metadata"]["name"] for o in found}
        assert ("allow-ingress-controller" in names) == admits_front_door
        pods = [o for _, o in objects(render_text(spec)) if o["kind"] == "Deployment"]
        labels = [d["spec"]["template"]["metadata"]["labels"] for d in pods]
        for policy in found:
            wanted = policy["spec"]["podSelector"].get("matchLabels", {})
            assert any(wanted.items() <= pod.items() for pod in labels), policy["metadata"]["name"]


def test_render_the_quota_has_room_for_every_run_of_a_job_that_may_be_in_progress_together():
    job = "jobs:\n  sync:\n    image: ghcr.io/acme/sync:1\n    schedule: '*/15 * * * *'\n    timeout: 1h\n"

    def pods(text: str) -> int:
        found = objects(render_text(MINIMAL + text))
        return int(next(o for _, o in found if o["kind"] == "ResourceQuota")["spec"]["hard"]["pods"])

    assert pods(job + "    overlap: true\n") - pods(job) == 3  # four runs at once, not one


def test_render_a_disruption_budget_never_holds_up_a_server_for_an_instance_that_is_not_ready():
    found = objects(render_text(MINIMAL + "    instances: {min: 2, max: 4}\n"))
    budget = next(o for _, o in found if o["kind"] == "PodDisruptionBudget")
    kubernetes_validate.validate(budget, KUBERNETES_VERSION, strict=True)
    assert budget["spec"]["unhealthyPodEvictionPolicy"] == "AlwaysAllow"


def test_render_quoted_setting_that_looks_like_a_number_stays_text_as_written():
    # a quoted value is text: '0123' (a zip code), "1e3", "1_000" reach the app exactly as written
    text = (
        MINIMAL
        + """\
    env:
      ZIP: '0123'
      EXP: "1e3"
      GROUPED: "1_000"
      HALF: "0.50"
      COUNT: 7
"""
    )
    deployment = next(o for _, o in objects(render_text(text)) if o["kind"] == "Deployment")
    env = {e["name"]: e["value"] for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["ZIP"] == "0123"
    assert env["EXP"] == "1e3"
    assert env["GROUPED"] == "1_000"
    assert env["HALF"] == "0.50"
    assert env["COUNT"] == "7"


def test_render_settings_named_like_a_mappings_methods_reach_the_app_as_written():
    # the templates read views as mappings: a setting called `items` or `get` is still a setting
    names = ("items", "get", "keys", "values", "copy", "update", "pop")
    text = MINIMAL + "    env:\n" + "".join(f"      {name}: {name}-value\n" for name in names)
    deployment = next(o for _, o in objects(render_text(text)) if o["kind"] == "Deployment")
    env = {e["name"]: e["value"] for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env == {name: f"{name}-value" for name in names}


def test_render_templates_read_a_views_keys_by_name_and_a_mappings_methods_as_methods():
    env = template_environment()
    view = {"image": "web:1", "items": "a setting"}
    assert env.getattr(view, "image") == "web:1"
    assert env.getattr(view, "items")() == view.items()  # `.items()` in a template is the method
    assert isinstance(env.getattr(view, "missing"), StrictUndefined)
    assert env.getattr(OrderedDict(image="x"), "image") == "x"  # not a plain dict: as jinja2 reads it


def test_render_folders_are_readable_like_the_files_in_them(cli, write_spec, tmp_path):
    # mkdir's mode (0755 under the usual umask), so a CI step running as another user can read them
    umask = os.umask(0o022)
    try:
        out = tmp_path / "out"
        assert cli("render", str(write_spec(MINIMAL)), "--out", str(out)).code == 0
        assert (out / "production").stat().st_mode & 0o777 == 0o755
        assert (out / "production" / "web.yaml").stat().st_mode & 0o777 == 0o644
    finally:
        os.umask(umask)


def test_render_writable_folders_are_empty_size_limited_and_counted_in_the_quota():
    spec = MINIMAL.replace(
        "    port: 8080\n",
        "    port: 8080\n    writable: [/var/cache/nginx, {path: /var/lib/app, size: 1GB}]\n",
    )
    found = objects(render_text(spec))
    deployment = next(o for _, o in found if o["kind"] == "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True  # the secure default stays
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert {
        path: volumes[mounts[path]]["emptyDir"]["sizeLimit"]
        for path in ("/tmp", "/var/cache/nginx", "/var/lib/app")
    } == {
        "/tmp": "256Mi",
        "/var/cache/nginx": "256Mi",
        "/var/lib/app": "1Gi",
    }
    assert container["resources"]["requests"]["ephemeral-storage"] == "1536Mi"  # /tmp and both folders
    assert container["resources"]["limits"]["ephemeral-storage"] == "1600Mi"  # and its logs
    quota = next(o for _, o in found if o["kind"] == "ResourceQuota")["spec"]["hard"]
    assert quantity_mb(quota["requests.ephemeral-storage"]) == 1536 * int(quota["pods"])
    assert container["terminationMessagePolicy"] == "FallbackToLogsOnError"
    kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)  # raises when invalid
