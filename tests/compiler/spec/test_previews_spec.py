"""`previews:` in the spec: what a preview environment copies, at what size, with which secrets,
and every mistake located at once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import Result
from unhazzle.compiler.pipeline import compile_preview, compile_text

RunCli = Callable[..., Result]
WriteSpec = Callable[[str], Path]

SPEC = """\
version: 1
project: shop
region: fsn1
environments:
  production: {}
  staging:
    env: {STAGE: "yes"}
    apps:
      web:
        domains: [staging.shop.example.com]
        env: {LOG_LEVEL: debug}
apps:
  web:
    image: ghcr.io/acme/web:1.0
    port: 8080
    public: true
    domains: [shop.example.com]
    env: {API: "${apps.api.url}", SELF: "${apps.web.host}", CACHE: "redis://${ apps.cache.host }:${apps.cache.port}",
          LITERAL: "$${apps.cache.url}"}
    secrets: [SESSION_KEY]
    after: [api]
    size: {cpu: 1, memory: 512MB}
  api:
    image: ghcr.io/acme/api:1.0
    port: 9000
    secrets: [STRIPE_KEY]
    databases: [main]
  cache:
    image: redis:7
    port: 6379
jobs:
  nightly:
    image: ghcr.io/acme/web:1.0
    schedule: "0 3 * * *"
databases:
  main: {provider: aiven, region: aws-eu-central-1, secret: DATABASE_URL}
previews:
  from: staging
  apps: [web]
"""


def preview(text: str = SPEC, name: str = "pr-7"):
    return compile_preview(compile_text(text), name)


def test_a_preview_copies_its_environment_for_the_apps_it_runs_at_one_small_instance() -> None:
    compiled, made = preview()
    [env] = compiled.plan.environments
    assert (env.name, env.badge, env.namespace) == ("pr-7", "preview", "shop-pr-7")
    [web] = env.apps
    assert (web.sizing.min_instances, web.sizing.max_instances) == (1, 1)
    assert web.sizing.cpu_request == 0.25 and web.sizing.memory_request_mb == 512  # CPU shrinks, memory not
    assert web.settings["LOG_LEVEL"] == "debug" and web.settings["STAGE"] == "yes"  # staging's settings
    assert web.public_hosts == ["web.shop-pr-7.unhazzle.app"]  # never staging's or production's domain
    assert env.jobs == []  # scheduled jobs do not run in previews
    assert made.apps == ["web"]


def test_apps_a_preview_leaves_out_are_reached_in_the_copied_environment() -> None:
    compiled, made = preview()
    [web] = compiled.plan.environments[0].apps
    assert web.settings["API"] == "http://api.shop-staging.svc.cluster.local:9000"
    assert web.settings["CACHE"] == "redis://cache.shop-staging.svc.cluster.local:6379"
    assert web.settings["SELF"] == "web.shop-pr-7.svc.cluster.local"  # its own are its own
    assert web.settings["LITERAL"] == "${apps.cache.url}"  # `$${` is a literal `${`, there as anywhere
    assert made.reached == {
        "api": "http://api.shop-staging.svc.cluster.local:9000",
        "cache": "http://cache.shop-staging.svc.cluster.local:6379",
    }
    assert web.app.after == []  # api is not in the preview to wait for


def test_the_copied_environment_admits_previews_to_exactly_the_apps_they_reach() -> None:
    staging = compile_text(SPEC).plan.environment("staging")
    assert staging.previews_reach == ["api", "cache"]
    assert compile_text(SPEC).plan.environment("production").previews_reach == []


def test_a_preview_gets_the_copied_environments_secrets_but_none_from_production() -> None:
    _, made = preview()
    assert made.secrets == ["SESSION_KEY"] and made.withheld == {}
    text = SPEC.replace("  from: staging", "  from: production")
    compiled, made = preview(text)
    assert made.withheld == {"web": ["SESSION_KEY"]} and made.secrets == []
    assert compiled.plan.environments[0].apps[0].secrets == []
    chosen = SPEC.replace("  apps: [web]", "  apps: [web, api]\n  secrets: [STRIPE_KEY]")
    compiled, made = preview(chosen)
    api = next(a for a in compiled.plan.environments[0].apps if a.name == "api")
    assert api.secrets == ["STRIPE_KEY"] and api.app.databases == []  # DATABASE_URL not given
    assert made.withheld == {"api": ["DATABASE_URL"], "web": ["SESSION_KEY"]}


def test_sizes_and_instances_of_a_preview_can_be_set() -> None:
    text = SPEC + "  instances: {min: 1, max: 2}\n  size: {cpu: 0.1, memory: 128MB}\n"
    [web] = preview(text)[0].plan.environments[0].apps
    assert (web.sizing.max_instances, web.sizing.cpu_request, web.sizing.memory_request_mb) == (2, 0.1, 128)


def test_an_app_with_a_volume_runs_one_instance_in_a_preview_whatever_its_instances_say() -> None:
    text = SPEC.replace("  apps: [web]", "  apps: [web, cache]\n  instances: {min: 2, max: 3}").replace(
        "    port: 6379", "    port: 6379\n    volume: {size: 1GB, path: /data}"
    )
    apps = {a.name: a for a in preview(text)[0].plan.environments[0].apps}
    assert (apps["web"].sizing.min_instances, apps["web"].sizing.max_instances) == (2, 3)
    assert (apps["cache"].sizing.min_instances, apps["cache"].sizing.max_instances) == (1, 1)


def test_a_preview_size_bigger_than_a_server_is_an_error_where_it_is_written(
    cli: RunCli, write_spec: WriteSpec
) -> None:
    # (said by validate, not first by `preview-env up` at each app it copies)
    spec = write_spec(SPEC + "  size: {cpu: 8}\n")
    result = cli("validate", str(spec))
    assert result.code == 2
    assert result.err.splitlines() == [
        f"{spec}:40:15: error: previews.size.cpu: 8 vCPU is more than one cx33 server gives an "
        "instance (4 vCPU and 8 GB, less the 0.1 vCPU and 256 MB the cluster keeps there for itself), "
        "and an instance runs on one server; use a smaller size"
    ]


def test_validate_says_what_a_preview_would_refuse(
    cli: RunCli, write_spec: WriteSpec, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Whatever a preview's copy makes of the spec is checked too (here: a size no server gives,
    # made as no spec can write it), so that an OK holds for `preview-env up`.
    from unhazzle.compiler.planning import previews

    spec = write_spec(SPEC)
    assert cli("validate", str(spec)).code == 0
    monkeypatch.setattr(previews, "_size", lambda *_: {"cpu": 64, "memory": "512MB"})
    result = cli("validate", str(spec))
    assert result.code == 2
    assert "apps.web.size.cpu: 64 vCPU is more than one cx33 server" in result.err, result.err


@pytest.mark.parametrize(
    ("edit", "where", "says"),
    [
        (("  from: staging", "  from: stagin"), "38:9", "previews.from: no environment named 'stagin' to copy (did you mean 'staging'?)"),
        (("  apps: [web]", "  apps: [web, wbe]"), "39:15", "previews.apps: no app named 'wbe'"),
        (("  apps: [web]", "  apps: [web]\n  secrets: [STRIPE_KEY]"), "40:13", "no app a preview runs uses a secret named 'STRIPE_KEY'"),
        (("  apps: [web]", "  apps: [web]\n  ttl: 91d"), "40:8", "previews.ttl"),
        (("  apps: [web]", "  apps: [web]\n  limits: {count: 0}"), "40:19", "previews.limits.count"),
        (("  apps: [web]", "  apps: [web]\n  budget: {max_monthly_eur: -1}"), "40:29", "previews.budget.max_monthly_eur"),
        (("  apps: [web]", "  apps: [web]\n  colour: blue"), "40:3", "previews: unknown key 'colour'"),
    ],
)  # fmt: skip
def test_every_mistake_in_previews_is_located(
    cli: RunCli, write_spec: WriteSpec, edit: tuple[str, str], where: str, says: str
) -> None:
    result = cli("validate", str(write_spec(SPEC.replace(*edit))))
    assert result.code == 2, result.out
    assert f":{where}: error:" in result.err and says in result.err, result.err


def test_all_mistakes_at_once(cli: RunCli, write_spec: WriteSpec) -> None:
    text = SPEC.replace("  from: staging\n  apps: [web]", "  from: nowhere\n  apps: [nothing, 3]\n  ttl: 0")
    result = cli("validate", str(write_spec(text)))
    assert result.code == 2
    assert [line.split(": error: ")[0].rsplit(":", 2)[1:] for line in result.err.splitlines()] == [
        ["38", "9"], ["39", "10"], ["39", "19"], ["40", "8"],
    ]  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
                    max_leaves=12))  # fmt: skip
def test_any_previews_section_is_a_preview_or_located_errors(value: object) -> None:
    """Hostile input: whatever `previews:` holds, the spec compiles or says where it is wrong."""
    import json

    from unhazzle.errors import InputError

    text = SPEC.split("previews:")[0] + "previews: " + json.dumps(value) + "\n"
    try:
        compiled = compile_text(text)
    except InputError as err:
        assert err.problems and all(p.line >= 1 for p in err.problems)
        return
    if compiled.spec.previews is not None:
        preview(text)
