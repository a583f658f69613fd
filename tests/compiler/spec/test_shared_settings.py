"""Settings shared by several apps: `env:` at the project and at an environment, inherited by
every app. The most specific place wins: an environment's app change, then the app's own, then the
environment's shared settings, then the project's. `explain` says where each value came from."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import MINIMAL
from unhazzle.compiler.spec.model import Spec
from unhazzle.compiler.spec.resolve import resolve, setting_origins

SHARED = """\
version: 1
project: shop
region: fsn1
env:
  LOG_LEVEL: info
  SENTRY_DSN: https://key@sentry.example/1
  FEATURE_X: false
environments:
  production: {}
  staging:
    env:
      LOG_LEVEL: debug
      FEATURE_X: true
    apps:
      api:
        env:
          FEATURE_X: "off"
apps:
  web:
    image: ghcr.io/acme/web:1.0
    port: 8080
    env:
      API_URL: ${apps.api.url}
  api:
    image: ghcr.io/acme/api:1.0
    port: 8080
    env:
      LOG_LEVEL: warn
    secrets: [SENTRY_DSN]
"""


def _apps(text: str) -> dict[str, dict[str, Any]]:
    spec = Spec.model_validate(yaml.safe_load(text))
    resolved, problems = resolve(spec)
    assert problems == []
    return {env: {name: app.env for name, app in apps.items()} for env, apps in resolved.items()}


def test_every_app_inherits_the_shared_settings_and_the_most_specific_wins() -> None:
    env = _apps(SHARED)
    assert env["production"]["web"] == {
        "LOG_LEVEL": "info",
        "SENTRY_DSN": "https://key@sentry.example/1",
        "FEATURE_X": False,
        "API_URL": "${apps.api.url}",
    }
    assert env["staging"]["web"]["LOG_LEVEL"] == "debug"  # the environment's over the project's
    assert env["staging"]["web"]["FEATURE_X"] is True
    assert env["staging"]["api"]["LOG_LEVEL"] == "warn"  # the app's own over both
    assert env["staging"]["api"]["FEATURE_X"] == "off"  # the environment's change to the app over all
    assert "SENTRY_DSN" not in env["production"]["api"]  # the app keeps it as a secret: its secret wins


def test_explain_says_where_each_setting_came_from(tmp_path: Path, cli: Any) -> None:
    path = tmp_path / "unhazzle.yaml"
    path.write_text(SHARED, encoding="utf-8")
    result = cli("explain", str(path), "api", "--env", "staging")
    assert result.code == 0, result.err
    rows = {line.split()[0]: line for line in result.out.splitlines() if line.startswith("    ")}
    assert rows["LOG_LEVEL"].endswith("from apps.api.env")
    assert rows["FEATURE_X"].endswith("from environments.staging.apps.api.env")
    web = cli("explain", str(path), "web", "--env", "staging").out
    assert any(
        line.startswith("    LOG_LEVEL") and line.endswith("from environments.staging.env")
        for line in web.splitlines()
    )
    assert any(line.startswith("    SENTRY_DSN") and line.endswith("from env") for line in web.splitlines())


def test_shared_settings_reach_the_rendered_app(tmp_path: Path, cli: Any) -> None:
    path = tmp_path / "unhazzle.yaml"
    path.write_text(SHARED, encoding="utf-8")
    out = tmp_path / "out"
    assert cli("render", str(path), "--out", str(out)).code == 0
    docs = list(yaml.safe_load_all((out / "staging" / "web.yaml").read_text(encoding="utf-8")))
    deployment = next(d for d in docs if d and d["kind"] == "Deployment")
    env = {e["name"]: e.get("value") for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["LOG_LEVEL"] == "debug" and env["FEATURE_X"] == "true"
    assert env["API_URL"].startswith("http://api.shop-staging")


def test_a_shared_reference_to_no_app_is_located_at_its_line(tmp_path: Path, cli: Any) -> None:
    path = tmp_path / "unhazzle.yaml"
    path.write_text(
        MINIMAL.replace("environments:", "env:\n  BACKEND: ${apps.nope.url}\nenvironments:"), encoding="utf-8"
    )
    result = cli("validate", str(path))
    assert result.code == 2
    assert f"{path}:5:12:" in result.err and "names no app 'nope'" in result.err


names = st.from_regex(r"[A-Z][A-Z0-9_]{0,6}", fullmatch=True)
layer = st.dictionaries(names, st.text("abc", max_size=3), max_size=4)


@settings(max_examples=60, deadline=None)
@given(project=layer, environment=layer, app=layer, change=layer)
def test_the_most_specific_layer_always_wins(
    tmp_path_factory: Any,
    project: dict[str, str],
    environment: dict[str, str],
    app: dict[str, str],
    change: dict[str, str],
) -> None:
    text = yaml.safe_dump(
        {
            "version": 1,
            "project": "shop",
            "region": "fsn1",
            "env": project,
            "environments": {"production": {"env": environment, "apps": {"web": {"env": change}}}},
            "apps": {"web": {"image": "ghcr.io/acme/web:1.0", "port": 8080, "env": app}},
        }
    )
    got = _apps(text)["production"]["web"]
    assert got == {**project, **environment, **app, **change}
    spec = Spec.model_validate(yaml.safe_load(text))
    origins = setting_origins(spec, "production", "web")
    for name in got:
        expected = (
            "environments.production.apps.web.env" if name in change
            else "apps.web.env" if name in app
            else "environments.production.env" if name in environment
            else "env"
        )  # fmt: skip
        assert origins[name] == expected


def test_explain_json_has_each_number_its_reasons_and_each_setting_its_origin(
    tmp_path: Path, cli: Any
) -> None:

    path = tmp_path / "unhazzle.yaml"
    path.write_text(SHARED, encoding="utf-8")
    result = cli("explain", str(path), "api", "--env", "staging", "--output", "json")
    assert result.code == 0, result.err
    env = json.loads(result.out)["environments"][0]
    numbers = {n["what"]: n for n in env["numbers"]}
    assert {"instances.min", "instances.max", "size.cpu", "size.memory"} <= set(numbers)
    assert all(n["why"] for n in numbers.values())
    assert {s["name"]: s["from"] for s in env["settings"]}["FEATURE_X"] == "environments.staging.apps.api.env"


def test_a_shared_setting_named_like_a_database_url_gives_way_to_the_database(
    tmp_path: Path, cli: Any
) -> None:
    # a database's connection URL is a secret of every process that uses the database: it wins,
    # as an app's own secret does, and each process gets one variable of that name
    text = MINIMAL.replace("environments:", "env: {DATABASE_URL: postgres://unused, OTHER: x}\nenvironments:")
    text += "    databases: [main]\ndatabases:\n  main: {provider: aiven, region: aws-eu-central-1, secret: DATABASE_URL}\n"
    text += "jobs:\n  nightly: {image: 'x:1', schedule: '@daily', databases: [main]}\n"
    path = tmp_path / "unhazzle.yaml"
    path.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    assert cli("render", str(path), "--out", str(out)).code == 0
    for name, kind in (("web", "Deployment"), ("nightly", "CronJob")):
        docs = yaml.safe_load_all((out / "production" / f"{name}.yaml").read_text(encoding="utf-8"))
        obj = next(d for d in docs if d and d["kind"] == kind)
        pod = (
            obj["spec"]["template"]
            if kind == "Deployment"
            else obj["spec"]["jobTemplate"]["spec"]["template"]
        )
        env = pod["spec"]["containers"][0]["env"]
        assert [e["name"] for e in env].count("DATABASE_URL") == 1
        assert (
            next(e for e in env if e["name"] == "DATABASE_URL")["valueFrom"]["secretKeyRef"]["key"]
            == "DATABASE_URL"
        )
        assert {"name": "OTHER", "value": "x"} in env
