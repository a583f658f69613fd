"""Sizing: the five answers become numbers by the table in compiler/rules/data/sizing.yaml, the spec's
`instances:` and `size:` override them, and the rules keep the invariants an SRE expects."""

from __future__ import annotations

import itertools
import json
import re
from typing import Any

import pytest

from tests.conftest import EXAMPLES, MINIMAL
from tests.support.manifests import objects, render_text
from unhazzle.compiler.pipeline import compile_file
from unhazzle.compiler.planning.sizing import Sizing, size_app
from unhazzle.compiler.rules.sizingtable import sizing_rules
from unhazzle.compiler.spec.model import App

IMAGE = "ghcr.io/acme/app:1.0"
TRAFFIC = ["low", "medium", "high", "very-high"]
LATENCY = ["relaxed", "standard", "sensitive"]
WORKLOAD = ["web", "worker", "cpu-intensive", "memory-intensive"]
STARTUP = ["fast", "medium", "slow"]
PATTERN = ["steady", "daily-peaks", "spiky"]
EVERY_PROFILE = [
    dict(zip(("traffic", "latency", "workload", "startup", "pattern"), combo, strict=True))
    for combo in itertools.product(TRAFFIC, LATENCY, WORKLOAD, STARTUP, PATTERN)
]


def size(port: int | None = 8080, **fields: Any) -> Sizing:
    return size_app(App.model_validate({"image": IMAGE, "port": port, **fields}))


def numbers(s: Sizing) -> tuple[Any, ...]:
    return (
        s.min_instances,
        s.max_instances,
        s.cpu_request,
        s.cpu_limit,
        s.memory_request_mb,
        s.target_cpu_percent,
        s.scale_up_cooldown_s,
        s.scale_down_cooldown_s,
    )


# (app fields, (min, max, cpu, cpu limit, memory MB, target %, scale-up s, scale-down s))
CASES = [
    ({"port": None}, (1, 3, 0.25, 0.5, 256, 70, 60, 300)),
    ({}, (1, 3, 0.25, 0.5, 256, 70, 60, 300)),
    ({"profile": {"latency": "sensitive"}}, (2, 3, 0.25, 0.5, 256, 60, 60, 300)),
    ({"profile": {"latency": "relaxed"}}, (1, 3, 0.25, 0.5, 256, 80, 60, 300)),
    ({"profile": {"traffic": "medium", "pattern": "daily-peaks"}}, (2, 9, 0.25, 0.5, 256, 70, 0, 300)),
    (
        {"profile": {"traffic": "high", "pattern": "spiky", "startup": "slow"}},
        (4, 24, 0.25, 0.5, 256, 70, 0, 600),
    ),
    (
        {"profile": {"traffic": "very-high", "latency": "sensitive", "workload": "cpu-intensive"}},
        (4, 24, 1.0, 2.0, 1024, 60, 60, 300),
    ),
    ({"profile": {"workload": "memory-intensive"}}, (1, 3, 0.5, 1.0, 2048, 70, 60, 300)),
    (
        {"profile": {"traffic": "very-high"}, "volume": {"size": "5GB", "path": "/data"}},
        (1, 1, 0.25, 0.5, 256, 70, 60, 300),
    ),
    ({"instances": {"min": 5}}, (5, 5, 0.25, 0.5, 256, 70, 60, 300)),
    ({"profile": {"traffic": "high"}, "instances": {"max": 2}}, (2, 2, 0.25, 0.5, 256, 70, 60, 300)),
    ({"size": {"cpu": 0.1, "memory": "64MB"}}, (1, 3, 0.1, 0.2, 64, 70, 60, 300)),
    ({"size": {"memory": "1.5GB"}}, (1, 3, 0.25, 0.5, 1536, 70, 60, 300)),
]


@pytest.mark.parametrize(("fields", "expected"), CASES, ids=[str(f) for f, _ in CASES])
def test_sizing_table_case(fields: dict[str, Any], expected: tuple[Any, ...]):
    assert numbers(size(**fields)) == expected


def test_sizing_rules_table_loads_with_every_answer():
    rules = sizing_rules()
    assert sorted(rules.traffic) == sorted(TRAFFIC)
    assert sorted(rules.latency) == sorted(LATENCY)
    assert sorted(rules.workload) == sorted(WORKLOAD)
    assert sorted(rules.startup) == sorted(STARTUP)
    assert sorted(rules.pattern) == sorted(PATTERN)


@pytest.mark.parametrize("profile", EVERY_PROFILE, ids=lambda p: "-".join(p.values()))
def test_sizing_invariants_hold_for_every_profile(profile: dict[str, str]):
    serving = size(profile=profile)
    if profile["latency"] == "sensitive":
        assert serving.min_instances >= 2, "a latency-sensitive app never runs a single instance"
    assert 1 <= serving.min_instances <= serving.max_instances
    assert serving.cpu_request <= serving.cpu_limit
    assert serving.memory_request_mb == serving.memory_limit_mb
    if profile["pattern"] == "spiky":
        assert serving.scale_up_cooldown_s == 0
        assert serving.scale_down_cooldown_s >= 600 and serving.scale_down_percent <= 25
    if profile["startup"] == "slow":
        probe = serving.startup_probe
        assert probe is not None and probe.period_s * probe.failures > 60
        assert (serving.scale_up_pods, serving.scale_up_percent) == (1, 0)
    worker = size(port=None, profile=profile)
    assert (worker.startup_probe, worker.readiness_probe, worker.liveness_probe) == (None, None, None)
    with_volume = size(profile=profile, volume={"size": "1GB", "path": "/data"})
    assert (with_volume.min_instances, with_volume.max_instances) == (1, 1)


def test_sizing_spiky_scales_up_at_once_and_down_slower_than_steady():
    spiky, steady = size(profile={"pattern": "spiky"}), size(profile={"pattern": "steady"})
    assert spiky.scale_up_cooldown_s == 0
    assert spiky.scale_down_cooldown_s > steady.scale_down_cooldown_s
    assert spiky.scale_down_percent < steady.scale_down_percent


def rendered_autoscaler(profile: str) -> dict[str, Any]:
    spec = MINIMAL + f"    profile: {profile}\n"
    return next(o for _, o in objects(render_text(spec)) if o["kind"] == "HorizontalPodAutoscaler")


def test_sizing_slow_starter_renders_one_instance_per_period():
    autoscaler = rendered_autoscaler("{startup: slow, pattern: spiky, traffic: high}")
    assert autoscaler["spec"]["behavior"]["scaleUp"]["policies"] == [
        {"type": "Pods", "value": 1, "periodSeconds": 120}
    ]


def test_sizing_slow_starter_startup_check_waits_over_a_minute():
    deployment = next(
        o
        for _, o in objects(render_text(MINIMAL + "    profile: {startup: slow}\n"))
        if o["kind"] == "Deployment"
    )
    probe = deployment["spec"]["template"]["spec"]["containers"][0]["startupProbe"]
    assert probe["periodSeconds"] * probe["failureThreshold"] > 60


def test_sizing_worker_has_no_port_url_or_checks():
    spec = MINIMAL.replace("    port: 8080\n", "    profile: {workload: worker}\n")
    found = objects(render_text(spec))
    assert {o["kind"] for _, o in found if o["metadata"].get("labels", {}).get("unhazzle.io/app")} == {
        "Deployment",
        "HorizontalPodAutoscaler",
    }
    container = next(o for _, o in found if o["kind"] == "Deployment")["spec"]["template"]["spec"]
    container = container["containers"][0]
    assert not {"ports", "startupProbe", "readinessProbe", "livenessProbe"} & set(container)


def test_sizing_volume_runs_exactly_one_instance_recreated():
    spec = MINIMAL + "    volume: {size: 5GB, path: /data}\n    profile: {traffic: very-high}\n"
    found = {o["kind"]: o for _, o in objects(render_text(spec))}
    assert (
        found["HorizontalPodAutoscaler"]["spec"]["minReplicas"],
        found["HorizontalPodAutoscaler"]["spec"]["maxReplicas"],
    ) == (1, 1)
    assert found["Deployment"]["spec"]["strategy"] == {"type": "Recreate"}
    assert "PodDisruptionBudget" not in found
    assert found["PersistentVolumeClaim"]["spec"]["resources"]["requests"]["storage"] == "5Gi"


def test_sizing_more_instances_next_to_a_volume_is_an_error_at_the_instances_line(cli, write_spec):
    # CONTRACT.md: "an app with a volume runs 1 instance"; what the user wrote is never silently
    # overridden, so asking for more is an error where they asked, with what to do instead.
    spec = write_spec(MINIMAL + "    volume: {size: 5GB, path: /data}\n    instances: {min: 2, max: 3}\n")
    result = cli("validate", str(spec))
    assert result.code == 2
    line = MINIMAL.count("\n") + 2
    assert result.err.startswith(f"{spec}:{line}:")
    assert (
        "apps.web.instances: max 3 is not possible for an app with a volume: its disk attaches to one"
        in result.err
    )
    assert cli("plan", str(spec)).code == 2
    # one instance, written out, is what it runs anyway: fine
    spec = write_spec(MINIMAL + "    volume: {size: 5GB, path: /data}\n    instances: {min: 1, max: 1}\n")
    assert cli("validate", str(spec)).code == 0


def test_sizing_more_instances_for_a_volume_app_in_one_environment_names_it(cli, write_spec):
    spec = write_spec(
        MINIMAL.replace("  production: {}\n", "  production:\n    apps:\n      web: {instances: {max: 4}}\n")
        + "    volume: {size: 5GB, path: /data}\n"
    )
    result = cli("validate", str(spec))
    assert result.code == 2
    assert "apps.web (in production).instances: max 4 is not possible for an app with a volume" in result.err


def test_sizing_latency_sensitive_app_with_a_volume_is_warned_of_downtime(cli, write_spec):
    # A volume means one instance; a latency-sensitive app must hear what that costs it.
    spec = write_spec(MINIMAL + "    volume: {size: 5GB, path: /data}\n    profile: {latency: sensitive}\n")
    plan = json.loads(cli("plan", str(spec), "--output", "json").out)
    assert plan["environments"][0]["apps"][0]["instances"] == {"min": 1, "max": 1}
    assert [w["message"] for w in plan["warnings"]] == [
        "latency-sensitive, yet it has a volume, so it runs a single instance: every restart or "
        "deploy is a short downtime"
    ]


def test_plan_names_every_environment_a_warning_concerns(cli, write_spec):
    spec = write_spec(
        MINIMAL.replace("  production: {}\n", "  production: {}\n  staging: {}\n")
        + "    profile: {workload: worker}\n"
    )
    plan = json.loads(cli("plan", str(spec), "--output", "json").out)
    (warning,) = plan["warnings"]
    assert warning["environments"] == ["production", "staging"]
    assert warning["environment"] == "production"  # the field as it was, kept for readers of it
    assert "  web (production, staging): is a worker" in cli("plan", str(spec)).out
    markdown = cli("plan", str(spec), "--output", "markdown").out
    assert "- **web** (production, staging): is a worker" in markdown


EXPLAIN_ROWS = {
    "instances.min": ("traffic:", "instances.min:", "volume:"),
    "instances.max": ("traffic:", "instances.max:", "volume:"),
    "size.cpu": ("workload:", "size.cpu:"),
    "size.memory": ("workload:", "size.memory:"),
    "autoscaling": ("latency:",),
    "scale up after": ("pattern:",),
    "scale down after": ("pattern:",),
    "adds at most": ("startup:",),
    "health checks": ("no port:", "GET /", "a connection to port"),
}


SCALING_ROWS = ("autoscaling", "scale up after", "scale down after", "adds at most")


@pytest.mark.parametrize("spec", sorted(EXAMPLES.glob("*/unhazzle.yaml")), ids=lambda p: p.parent.name)
def test_sizing_explain_names_the_answer_or_rule_for_each_number(cli, spec):
    compiled = compile_file(spec)
    for env in compiled.plan.environments:
        for app in env.apps:
            result = cli("explain", str(spec), app.name, "--env", env.name)
            assert result.code == 0, result.err
            rows = {
                label: rest
                for label in EXPLAIN_ROWS
                for line in result.out.splitlines()
                if (rest := line.strip()).startswith(label + "  ")
            }
            fixed = app.sizing.min_instances == app.sizing.max_instances
            for label, reasons in EXPLAIN_ROWS.items():
                if fixed and label in SCALING_ROWS:  # nothing scales: one row says why, as plan does
                    both = f"instances.min and instances.max are both {app.sizing.min_instances}"
                    said = re.split(r"\s{2,}", rows[label])[1:] if label in rows else None
                    assert said == (["none", both] if label == "autoscaling" else None), (app.name, label)
                    continue
                why = re.split(r"\s{2,}", rows[label])[-1]
                assert why.startswith(reasons), f"{app.name}/{env.name}: {label}: {why}"


def test_sizing_explain_quotes_the_numbers_and_answers(cli):
    result = cli("explain", str(EXAMPLES / "shop" / "unhazzle.yaml"), "web", "--env", "production")
    assert result.code == 0
    assert (
        "answers: traffic medium, latency sensitive, workload web, startup fast, pattern daily-peaks"
        in result.out
    )
    assert re.search(r"instances\.min\s+2\s+traffic: medium -> 2", result.out)
    assert re.search(
        r"instances\.max\s+9\s+traffic: medium -> 6; pattern: daily-peaks -> x1.5 = 9", result.out
    )
    assert re.search(r"autoscaling\s+at 60% CPU\s+latency: sensitive", result.out)


def test_sizing_explain_speaks_of_health_checks_only_where_there_are_some(cli):
    """The scale-up reason is about adding instances; check timings belong to the health checks row,
    and a worker (no port) has none."""
    result = cli("explain", str(EXAMPLES / "shop" / "unhazzle.yaml"), "worker", "--env", "production")
    assert result.code == 0
    adds = next(line for line in result.out.splitlines() if line.strip().startswith("adds at most"))
    assert "checked" not in adds and "instances every 15 s" in adds
    assert re.search(r"health checks\s+none\s+no port", result.out)


def test_worker_with_a_port_is_accepted_with_a_warning() -> None:
    assert any("is a worker" in w for w in size(port=9000, profile={"workload": "worker"}).warnings)
    assert not any("is a worker" in w for w in size(port=None, profile={"workload": "worker"}).warnings)
    assert not any("is a worker" in w for w in size(port=9000, profile={"workload": "web"}).warnings)


def test_sizing_plan_text_does_not_promise_autoscaling_to_a_fixed_count(cli, write_spec):
    spec = write_spec(MINIMAL + "    volume: {size: 5GB, path: /data}\n")
    text = cli("plan", str(spec)).out
    web = next(line for line in text.splitlines() if line.startswith("  web  "))
    assert "1 instance " in web and web.endswith("no autoscaling")
    assert "autoscales" not in web
