"""Cost in euros: hand-computed figures for examples/shop, the budget guardrail, and invariants."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import EXAMPLES, MINIMAL
from unhazzle.compiler.pipeline import compile_file, compile_text
from unhazzle.compiler.planning.cost import price_plan, rates_for
from unhazzle.compiler.rules.cluster import cluster_settings
from unhazzle.compiler.rules.prices import table_for

SHOP = EXAMPLES / "shop" / "unhazzle.yaml"
APRIL = rates_for(table_for(dt.date(2026, 4, 1)), cluster_settings())


def test_cost_rates_split_cx33_the_opencost_way():
    # cx33: 4 vCPU, 8 GB, 6.49 EUR; OpenCost base prices 0.031611 per vCPU-hour, 0.004237 per GB-hour
    weight = 4 * 0.031611 + 8 * 0.004237
    assert abs(float(APRIL.vcpu_eur_month) - 6.49 * 0.031611 / weight) < 1e-9  # 1.2795
    assert abs(float(APRIL.gb_eur_month) - 6.49 * 0.004237 / weight) < 1e-9  # 0.1715
    assert abs(float(4 * APRIL.vcpu_eur_month + 8 * APRIL.gb_eur_month) - 6.49) < 1e-9  # the node, whole
    assert APRIL.public_eur_month == Decimal("0.77")  # (LB11 7.01 + IPv4 0.65) / 10 public apps


def test_cost_shop_matches_hand_computed_figures():
    cost = price_plan(compile_file(SHOP).plan, APRIL)
    prod, staging = cost.environments["production"], cost.environments["staging"]
    small = Decimal("0.36")  # 0.25 vCPU x 1.2795 + 0.25 GB x 0.1715 = 0.3628
    assert prod.apps["web"].instance == small
    assert prod.apps["cache"].instance == Decimal("0.73")  # 0.5 x 1.2795 + 0.5 x 0.1715 = 0.7255
    assert prod.apps["cache"].volume == Decimal("0.57")  # 5 GB asked, 10 GB minimum billed x 0.0572
    figures = {name: (c.min, c.max) for name, c in prod.apps.items()}
    assert figures == {
        "web": (2 * small + Decimal("0.77"), 9 * small + Decimal("0.77")),  # 1.49, 4.01 (public)
        "api": (2 * small, 6 * small),  # 0.72, 2.16
        "worker": (1 * small, 6 * small),  # 0.36, 2.16
        "cache": (Decimal("1.30"), Decimal("1.30")),  # one instance plus its volume
    }
    assert (prod.min, prod.max) == (Decimal("3.87"), Decimal("9.63"))
    assert (staging.min, staging.max) == (Decimal("3.51"), Decimal("5.67"))
    assert cost.total() == (Decimal("7.38"), Decimal("15.30"))


def test_cost_in_plan_json_at_every_level(cli):
    result = cli("plan", str(SHOP), "--output", "json")
    data = json.loads(result.out)
    env = data["environments"][0]
    assert set(env["apps"][0]["cost_eur_month"]) == {"min", "max"}
    assert env["cost_eur_month"]["max"] == round(sum(a["cost_eur_month"]["max"] for a in env["apps"]), 2)
    total = sum(e["cost_eur_month"]["max"] for e in data["environments"])
    assert data["cost_eur_month"]["max"] == round(total, 2)
    assert data["prices"]["node_type"] == "cx33"


def test_cost_in_plan_text_and_markdown(cli):
    text = cli("plan", str(SHOP)).out
    assert "total:" in text and "EUR a month" in text
    markdown = cli("plan", str(SHOP), "--output", "markdown").out
    assert "| app | instances | size | EUR/month at min | EUR/month at max |" in markdown


def test_cost_budget_exceeded_fails_at_the_budget_line(cli, write_spec):
    spec = write_spec(
        MINIMAL.replace("region: fsn1", "region: fsn1\nbudget: {max_monthly_eur: 5}").replace(
            "port: 8080", "port: 8080\n    instances: {min: 2, max: 40}"
        )
    )
    for command in ("validate", "plan", "explain"):
        result = cli(command, str(spec), *(["web"] if command == "explain" else []))
        assert result.code == 2, command
        # validate says no; plan and explain still show the numbers, to decide what to cut
        assert (result.out == "") == (command == "validate"), command
        assert command == "validate" or "40 instances" in result.out or "instances.max" in result.out
        line = result.err.strip()
        assert line.startswith(f"{spec}:4:27: error: budget.max_monthly_eur: at maximum scale the project")
        assert "web in production" in line and "over its budget of 5 EUR" in line


def test_cost_environment_budget_names_the_largest_apps(cli, write_spec):
    text = MINIMAL.replace("  production: {}", "  production:\n    budget: {max_monthly_eur: 1}")
    text += "  api:\n    image: ghcr.io/acme/api:1.0\n    instances: {min: 1, max: 10}\n"
    result = cli("plan", str(write_spec(text)))
    assert result.code == 2
    assert ":6:31: error: environments.production.budget.max_monthly_eur:" in result.err
    assert "the largest costs: api (" in result.err  # 10 instances outweigh web's


APP = st.fixed_dictionaries(
    {
        "low": st.integers(1, 5),
        "extra": st.integers(0, 20),
        "cpu": st.sampled_from([0.05, 0.1, 0.25, 0.5, 1, 2]),
        "memory": st.sampled_from([64, 128, 256, 512, 1024, 3072]),
        "public": st.booleans(),
    }
)


def _spec(apps: list[dict[str, object]]) -> str:
    lines = ["version: 1", "project: prop", "region: hel1", "environments:", "  production: {}", "apps:"]
    for i, a in enumerate(apps):
        lines += [
            f"  app-{i}:",
            "    image: ghcr.io/acme/app:1",
            "    port: 8080",
            f"    public: {str(a['public']).lower()}",
            f"    instances: {{min: {a['low']}, max: {a['low'] + a['extra']}}}",  # type: ignore[operator]
            f"    size: {{cpu: {a['cpu']}, memory: {a['memory']}MB}}",
        ]
    return "\n".join(lines) + "\n"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(APP, min_size=1, max_size=6))
def test_cost_max_is_at_least_min(apps):
    cost = compile_text(_spec(apps)).cost
    for env in cost.environments.values():
        assert all(a.max >= a.min for a in env.apps.values())
    low, high = cost.total()
    assert high >= low


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(APP, min_size=1, max_size=6), st.data())
def test_cost_doubling_max_instances_adds_exactly_the_extra_instances(apps, data):
    i = data.draw(st.integers(0, len(apps) - 1))
    before = compile_text(_spec(apps)).cost
    old_max = apps[i]["low"] + apps[i]["extra"]
    doubled = [*apps[:i], {**apps[i], "extra": apps[i]["extra"] + old_max}, *apps[i + 1 :]]
    after = compile_text(_spec(doubled)).cost
    instance = before.environments["production"].apps[f"app-{i}"].instance
    assert after.total()[1] - before.total()[1] == old_max * instance
    assert after.total()[0] == before.total()[0]  # the minimum does not move


def test_a_job_whose_runs_never_overlap_costs_at_most_one_instance_all_month():
    # every minute, each run up to an hour: 60 runs' worth at once could never happen
    jobs = "jobs:\n  tick:\n    image: ghcr.io/acme/web:1.0\n    schedule: '* * * * *'\n    timeout: 1h\n"
    lone = price_plan(compile_text(MINIMAL + jobs).plan, APRIL).environments["production"].jobs["tick"]
    month = lone.run * 730  # one run's cost for an hour, every hour of a 730-hour month
    assert abs(lone.month - month) <= Decimal("0.01")
    together = (
        price_plan(compile_text(MINIMAL + jobs + "    overlap: true\n").plan, APRIL)
        .environments["production"]
        .jobs["tick"]
    )
    assert together.month > 50 * lone.month  # runs that may overlap: each is paid for
