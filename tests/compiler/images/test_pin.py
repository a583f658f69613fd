"""Digest pinning: `render --pin-digests` and `plan --pin-digests` resolve each tag to the digest it
points at in the registry, so the output records exactly what runs; the plan shows tag and digest."""

from __future__ import annotations

import json

from ruamel.yaml import YAML

from unhazzle.compiler.images.pin import pin_plan
from unhazzle.compiler.pipeline import compile_text
from unhazzle.compiler.presentation.report import warnings

DIGEST = "sha256:" + "12" * 32


def spec_for(host: str) -> str:
    return f"""\
version: 1
project: shop
region: fsn1
environments:
  production: {{}}
  staging: {{}}
apps:
  web:
    image: {host}/acme/web:1.0
    port: 8080
  multi:
    image: {host}/acme/multi:1.0
    port: 8080
  fixed:
    image: ghcr.io/acme/fixed:2.0@{DIGEST}
"""


def deployment_image(path) -> str:
    docs = list(YAML(typ="safe").load_all(path.read_text()))
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    return str(deployment["spec"]["template"]["spec"]["containers"][0]["image"])


def test_render_pin_digests_records_tag_and_digest(cli, write_spec, tmp_path, plain_registry, docker_config):
    spec = write_spec(spec_for(plain_registry.host))
    out = tmp_path / "out"
    result = cli("render", str(spec), "--out", str(out), "--pin-digests")
    assert result.code == 0, result.err
    for env in ("production", "staging"):
        web = deployment_image(out / env / "web.yaml")
        assert web == f"{plain_registry.ref('acme/web:1.0')}@{plain_registry.digests['acme/web:1.0']}"
        multi = deployment_image(out / env / "multi.yaml")
        assert multi == f"{plain_registry.ref('acme/multi:1.0')}@{plain_registry.digests['acme/multi:1.0']}"
        assert deployment_image(out / env / "fixed.yaml") == f"ghcr.io/acme/fixed:2.0@{DIGEST}"


def test_render_without_pin_keeps_tags(cli, write_spec, tmp_path, plain_registry):
    spec = write_spec(spec_for(plain_registry.host))
    result = cli("render", str(spec), "--out", str(tmp_path / "out"))
    assert result.code == 0, result.err
    assert deployment_image(tmp_path / "out" / "production" / "web.yaml") == plain_registry.ref(
        "acme/web:1.0"
    )


def test_plan_pin_digests_shows_tag_and_digest(cli, write_spec, plain_registry, docker_config):
    spec = write_spec(spec_for(plain_registry.host))
    result = cli("plan", str(spec), "--pin-digests", "--env", "production")
    assert result.code == 0, result.err
    digest = plain_registry.digests["acme/web:1.0"]
    assert f"image     {plain_registry.ref('acme/web:1.0')} @ {digest}" in result.out
    data = json.loads(cli("plan", str(spec), "--pin-digests", "--output", "json").out)
    web = data["environments"][0]["apps"][0]
    assert web["image_digest"] == digest
    assert web["image"] == f"{plain_registry.ref('acme/web:1.0')}@{digest}"


def test_plan_shows_digest_already_in_the_spec(cli, write_spec, plain_registry):
    result = cli("plan", str(write_spec(spec_for(plain_registry.host))))
    assert result.code == 0, result.err
    assert f"image     ghcr.io/acme/fixed:2.0 @ {DIGEST}" in result.out
    assert "acme/web:1.0 @" not in result.out


def test_render_pin_digests_missing_tag_writes_nothing(
    cli, write_spec, tmp_path, plain_registry, docker_config
):
    spec = write_spec(spec_for(plain_registry.host).replace("acme/web:1.0", "acme/web:2.0"))
    out = tmp_path / "out"
    result = cli("render", str(spec), "--out", str(out), "--pin-digests")
    assert result.code == 1
    ref = plain_registry.ref("acme/web:2.0")
    assert result.err == f"{ref}: no such tag '2.0' in {plain_registry.host}/acme/web (it has: 1.0)\n"
    assert not out.exists()


def test_render_pin_digests_through_bearer_tokens(cli, write_spec, tmp_path, token_registry, docker_config):
    registry, _ = token_registry
    spec = write_spec(spec_for(registry.host))
    result = cli("render", str(spec), "--out", str(tmp_path / "out"), "--pin-digests", "--env", "production")
    assert result.code == 0, result.err
    web = deployment_image(tmp_path / "out" / "production" / "web.yaml")
    assert web.endswith(f"@{registry.digests['acme/web:1.0']}")


def test_pin_plan_resolves_each_image_once():
    compiled = compile_text(spec_for("registry.example.com"))
    asked: list[str] = []

    def resolve(ref):
        asked.append(str(ref))
        return "sha256:" + "ab" * 32

    plan = pin_plan(compiled.plan, resolve)
    assert sorted(asked) == ["registry.example.com/acme/multi:1.0", "registry.example.com/acme/web:1.0"]
    images = {app.name: app.app.image for env in plan.environments for app in env.apps}
    assert images["web"] == "registry.example.com/acme/web:1.0@sha256:" + "ab" * 32
    assert images["fixed"] == f"ghcr.io/acme/fixed:2.0@{DIGEST}"
    assert compiled.plan.environments[0].apps[0].app.image == "registry.example.com/acme/web:1.0"


def test_pin_plan_pins_jobs_too_and_shares_one_answer_per_image():
    job = "jobs:\n  nightly:\n    image: registry.example.com/acme/web:1.0\n    schedule: '@daily'\n"
    compiled = compile_text(spec_for("registry.example.com") + job)
    asked: list[str] = []

    def resolve(ref):
        asked.append(str(ref))
        return "sha256:" + "cd" * 32

    plan = pin_plan(compiled.plan, resolve)
    assert asked.count("registry.example.com/acme/web:1.0") == 1  # the app's and the job's image
    [nightly] = plan.environments[0].jobs
    assert nightly.job.image == "registry.example.com/acme/web:1.0@sha256:" + "cd" * 32


def test_a_pinned_image_is_no_longer_warned_about_having_no_version():
    job = "jobs:\n  nightly:\n    image: registry.example.com/acme/report\n    schedule: '@daily'\n"
    compiled = compile_text(spec_for("registry.example.com").replace("acme/web:1.0", "acme/web") + job)
    names = {w["app"] for w in warnings(compiled.plan) if "names no version" in w["message"]}
    assert names == {"web", "nightly"}
    plan = pin_plan(compiled.plan, lambda ref: "sha256:" + "cd" * 32)
    assert [w for w in warnings(plan) if "names no version" in w["message"]] == []
