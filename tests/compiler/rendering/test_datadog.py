"""observability.datadog in the spec: Unified Service Tagging labels, DD_* settings and
Autodiscovery log annotations on every app's and scheduled job's rendered manifests."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from tests.conftest import MINIMAL, Result
from unhazzle.compiler.pipeline import compile_text
from unhazzle.compiler.rendering.imagederived import image_version
from unhazzle.compiler.rendering.render import render_plan
from unhazzle.compiler.spec.schema import SCHEMA_FILE, schema_text

DATADOG = MINIMAL + "observability: {datadog: {enabled: true}}\n"


def deployment(spec_text: str, app: str = "web") -> dict:
    files = render_plan(compile_text(spec_text).plan)
    docs = list(YAML(typ="safe").load_all(files[f"production/{app}.yaml"]))
    return next(d for d in docs if d["kind"] == "Deployment")


def test_datadog_adds_unified_service_tags_and_autodiscovery() -> None:
    dep = deployment(DATADOG)
    tags = {
        "tags.datadoghq.com/env": "production",
        "tags.datadoghq.com/service": "web",
        "tags.datadoghq.com/version": "1.0",
    }
    assert tags.items() <= dep["metadata"]["labels"].items()
    assert tags.items() <= dep["spec"]["template"]["metadata"]["labels"].items()
    annotations = dep["spec"]["template"]["metadata"]["annotations"]
    assert json.loads(annotations["ad.datadoghq.com/web.logs"]) == [{"source": "web", "service": "web"}]
    env = {e["name"]: e for e in dep["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert (
        env["DD_VERSION"]["valueFrom"]["fieldRef"]["fieldPath"]
        == "metadata.labels['tags.datadoghq.com/version']"
    )


def test_datadog_tags_a_scheduled_jobs_runs_as_its_own_service() -> None:
    job = "jobs:\n  nightly:\n    image: ghcr.io/acme/report:2.1\n    schedule: '@daily'\n    env: {DD_ENV: prod}\n"
    files = render_plan(compile_text(DATADOG + job).plan)
    [cron] = [
        d for d in YAML(typ="safe").load_all(files["production/nightly.yaml"]) if d["kind"] == "CronJob"
    ]
    pod = cron["spec"]["jobTemplate"]["spec"]["template"]
    tags = {
        "tags.datadoghq.com/env": "production",
        "tags.datadoghq.com/service": "nightly",
        "tags.datadoghq.com/version": "2.1",
    }
    assert tags.items() <= pod["metadata"]["labels"].items()
    assert pod["spec"]["containers"][0]["name"] == "nightly"  # whose output the annotation names
    logs = pod["metadata"]["annotations"]["ad.datadoghq.com/nightly.logs"]
    assert json.loads(logs) == [{"source": "nightly", "service": "nightly"}]
    env = {e["name"]: e for e in pod["spec"]["containers"][0]["env"]}
    assert env["DD_ENV"] == {"name": "DD_ENV", "value": "prod"}  # the user's setting wins
    assert (
        env["DD_SERVICE"]["valueFrom"]["fieldRef"]["fieldPath"]
        == "metadata.labels['tags.datadoghq.com/service']"
    )


def test_datadog_off_by_default_adds_nothing() -> None:
    dep = deployment(MINIMAL)
    text = json.dumps(dep)
    assert "datadoghq" not in text and "DD_ENV" not in text


def test_datadog_user_setting_wins_over_ours() -> None:
    dep = deployment(
        DATADOG.replace("    port: 8080\n", "    port: 8080\n    env: {DD_SERVICE: storefront}\n")
    )
    env = [e for e in dep["spec"]["template"]["spec"]["containers"][0]["env"] if e["name"] == "DD_SERVICE"]
    assert env == [{"name": "DD_SERVICE", "value": "storefront"}]


@pytest.mark.parametrize(
    ("image", "version"),
    [
        ("ghcr.io/acme/web:1.4.3", "1.4.3"),
        ("redis", "latest"),
        ("localhost:5000/web", "latest"),
        (
            "ghcr.io/acme/api@sha256:982d4486a936e2e63d7985287730247ad18514560524c8e0f7cc769dcea7dec8",
            "982d4486a936",
        ),
        ("ghcr.io/acme/web:" + "x" * 100, "x" * 63),
        ("ghcr.io/acme/web:_weird", "weird"),
    ],
)
def test_datadog_version_is_a_valid_label_value(image: str, version: str) -> None:
    assert image_version(image) == version


def test_datadog_bad_value_is_located(cli: Callable[..., Result], write_spec: Callable[[str], Path]) -> None:
    spec = write_spec(MINIMAL + "observability: {datadog: {enabled: maybe, tags: x}}\n")
    result = cli("validate", str(spec))
    assert result.code == 2
    assert "error: observability.datadog.enabled: must be true or false, not 'maybe'" in result.err
    assert "error: observability.datadog: unknown key 'tags'" in result.err
    assert "Traceback" not in result.err


def test_schema_file_is_current() -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == schema_text()
