"""What makes a folder a preview the reconciler may remove whole, and what removing it deletes.
(The whole flow, on real containers: tests/cluster/test_previews_cluster.py.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from unhazzle.compiler.pipeline import compile_preview, compile_text
from unhazzle.compiler.rendering.render import render_plan
from unhazzle.reconciler.objects import Ref
from unhazzle.reconciler.source.git import parse_environment
from unhazzle.reconciler.sync import prune, rbac
from unhazzle.shared.previewmark import PreviewMark, stamp

SPEC = """\
version: 1
project: shop
region: fsn1
environments:
  staging: {}
  pr-7: {badge: preview}
apps:
  web: {image: ghcr.io/acme/web:1.0, port: 8080, volume: {size: 1GB, path: /data}}
previews: {from: staging}
"""


def folder(made_by: str, *, expires_in: timedelta = timedelta(days=1)) -> dict[str, str]:
    """pr-7's folder, made by `preview-env up` ("preview-env"), or an environment of the spec
    badged preview ("spec") that someone gave a marker."""
    compiled = compile_text(SPEC)
    plan = compile_preview(compiled, "pr-7")[0].plan if made_by == "preview-env" else compiled.plan
    rendered = {p: t for p, t in render_plan(plan).items() if p.startswith("pr-7/")}
    files = {path.split("/", 1)[1]: text for path, text in rendered.items()}
    now = datetime.now(UTC)
    mark = PreviewMark("pr-7", "staging", stamp(now), stamp(now + expires_in), "1.00", "1.00")
    return {**files, "_preview.json": mark.to_bytes().decode()}


def test_a_preview_folder_carries_its_expiry() -> None:
    env = parse_environment("shop/pr-7", folder("preview-env", expires_in=timedelta(minutes=-1)))
    assert env.problems == [] and env.preview is not None
    assert env.preview.expired(datetime.now(UTC))


def test_a_marker_on_a_folder_not_made_by_preview_env_is_refused_even_one_badged_preview() -> None:
    env = parse_environment("shop/pr-7", folder("spec"))
    assert env.preview is None
    assert env.problems == [
        "shop/pr-7/_preview.json: marks a preview, but its Namespace is not labelled "
        "unhazzle.io/preview-environment: true"
    ]
    unmarked = {k: v for k, v in folder("preview-env").items() if k != "_preview.json"}
    assert parse_environment("shop/pr-7", unmarked).problems == [
        "shop/pr-7/_environment.yaml: its Namespace is labelled unhazzle.io/preview-environment, which only "
        "a preview environment (with its _preview.json) may be"
    ]
    broken = {**folder("preview-env"), "_preview.json": '{"format": 1, "name": "pr-7"}'}
    assert parse_environment("shop/pr-7", broken).problems == [
        "shop/pr-7/_preview.json: not a preview marker: 'source' is missing"
    ]


def _pvc(app: str) -> dict[str, object]:
    return {"kind": "PersistentVolumeClaim", "metadata": {
        "name": f"{app}-data", "namespace": "shop-pr-7", "uid": "u1",
        "labels": {"app.kubernetes.io/managed-by": "unhazzle", "unhazzle.io/app": app}}}  # fmt: skip


def test_a_removed_preview_loses_its_volumes_and_running_jobs_an_environment_keeps_them() -> None:
    volume = Ref("v1", "PersistentVolumeClaim", "shop-pr-7", "web-data")
    job = Ref("batch/v1", "CronJob", "shop-pr-7", "nightly")
    running = {"kind": "CronJob", "metadata": {"name": "nightly", "uid": "u2", "labels": {
        "app.kubernetes.io/managed-by": "unhazzle"}}, "status": {"active": [{"name": "nightly-1"}]}}  # fmt: skip
    live = {volume: _pvc("web"), job: running}
    kept = prune.plan(frozenset(live), frozenset(), live, apps=None)
    assert kept.delete == [] and [r for r, _ in kept.keep] == [volume] and [r for r, _ in kept.wait] == [job]
    gone = prune.plan(frozenset(live), frozenset(), live, apps=None, disposable=True)
    assert sorted(r for r, _ in gone.delete) == sorted([volume, job])


def test_the_api_server_lets_the_reconciler_delete_a_previews_namespace_only() -> None:
    [policy, _] = rbac.reconciler_policy("system:serviceaccount:unhazzle-system:unhazzle-reconciler")
    rules = policy["spec"]["matchConstraints"]["resourceRules"]
    assert next(r for r in rules if r["resources"] == ["namespaces"])["operations"][-1] == "DELETE"
    assert all("DELETE" not in r["operations"] for r in rules if r["resources"] != ["namespaces"])
    [namespaces, _] = policy["spec"]["validations"]
    assert "request.operation == 'DELETE' ?" in namespaces["expression"]
    assert (
        "oldObject.metadata.labels['unhazzle.io/preview-environment'] == 'true'" in namespaces["expression"]
    )
