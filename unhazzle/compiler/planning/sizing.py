"""The sizing rules applied to one app: five answers in, every number with its reason out.

Pure: takes the app and the rules table, returns a Sizing. No I/O.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from unhazzle.compiler.rules.sizingtable import Rules, sizing_rules
from unhazzle.compiler.spec.model import App, Size


@dataclass(frozen=True)
class Probe:
    """One health check: HTTP on a path, or a TCP connect to the port."""

    path: str | None
    port: int
    period_s: int
    failures: int
    timeout_s: int


@dataclass(frozen=True)
class Sizing:
    """What the rules (and the spec's overrides) decided for one app."""

    answers: dict[str, str]
    min_instances: int
    max_instances: int
    cpu_request: float
    cpu_limit: float
    memory_request_mb: int
    memory_limit_mb: int
    target_cpu_percent: int
    scale_up_cooldown_s: int
    scale_down_cooldown_s: int
    scale_up_pods: int
    scale_up_percent: int
    scale_up_period_s: int
    scale_down_percent: int
    startup_probe: Probe | None
    readiness_probe: Probe | None
    liveness_probe: Probe | None
    reasons: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def answers_for(app: App, rules: Rules) -> dict[str, str]:
    """The five answers, with each default filled in."""
    d = rules.defaults
    p = app.profile
    workload = p.workload or (d.workload_with_port if app.port else d.workload_without_port)
    return {
        "traffic": p.traffic or d.traffic,
        "latency": p.latency or d.latency,
        "workload": workload,
        "startup": p.startup or d.startup,
        "pattern": p.pattern or d.pattern,
    }


def size_app(app: App, rules: Rules | None = None) -> Sizing:
    """Run the rules for *app*; explicit `instances:` and `size:` in the spec win."""
    rules = rules or sizing_rules()
    answers = answers_for(app, rules)
    reasons: dict[str, str] = {}
    warnings: list[str] = []
    low, high = _instances(app, answers, rules, reasons, warnings)
    cpu, cpu_limit, memory = _size(app, answers, rules, reasons)
    pattern = rules.pattern[answers["pattern"]]
    startup = rules.startup[answers["startup"]]
    latency = rules.latency[answers["latency"]]
    reasons["target_cpu_percent"] = f"latency: {answers['latency']} -> {latency.why}"
    reasons["scale_up_cooldown_s"] = f"pattern: {answers['pattern']} -> {pattern.why}"
    reasons["scale_down_cooldown_s"] = reasons["scale_up_cooldown_s"]
    reasons["scale_up_policy"] = f"startup: {answers['startup']} -> {startup.why}"
    startup_probe, readiness, liveness = _probes(app, answers, rules, reasons)
    if answers["workload"] == "worker" and app.port:
        warnings.append(
            f"is a worker (serves no requests) yet has port {app.port}: it is sized and scaled as a "
            "worker; if other apps call it, set profile.workload to web"
        )
    return Sizing(
        answers=answers,
        min_instances=low,
        max_instances=high,
        cpu_request=cpu,
        cpu_limit=cpu_limit,
        memory_request_mb=memory,
        memory_limit_mb=memory,
        target_cpu_percent=latency.target_cpu_percent,
        scale_up_cooldown_s=pattern.scale_up_cooldown_s,
        scale_down_cooldown_s=pattern.scale_down_cooldown_s,
        scale_up_pods=startup.scale_up_pods,
        scale_up_percent=startup.scale_up_percent,
        scale_up_period_s=startup.scale_up_period_s,
        scale_down_percent=pattern.scale_down_percent,
        startup_probe=startup_probe,
        readiness_probe=readiness,
        liveness_probe=liveness,
        reasons=reasons,
        warnings=warnings,
    )


def _instances(
    app: App, answers: dict[str, str], rules: Rules, reasons: dict[str, str], warnings: list[str]
) -> tuple[int, int]:
    if app.volume is not None:
        reasons["min_instances"] = reasons["max_instances"] = (
            "volume: an app with a volume runs exactly 1 instance (the disk attaches to one)"
        )
        # More instances written next to a volume is refused by validation (spec/check.py).
        if app.port and answers["latency"] == "sensitive":
            warnings.append(
                "latency-sensitive, yet it has a volume, so it runs a single instance: every restart "
                "or deploy is a short downtime"
            )
        return 1, 1
    traffic = rules.traffic[answers["traffic"]]
    pattern = rules.pattern[answers["pattern"]]
    latency = rules.latency[answers["latency"]]
    startup = rules.startup[answers["startup"]]
    low, why_low = traffic.min, f"traffic: {answers['traffic']} -> {traffic.min}"
    if app.port and latency.min_instances_serving > low:
        low = latency.min_instances_serving
        why_low += f"; latency: {answers['latency']} -> at least {low} (never a single instance)"
    if answers["pattern"] == "spiky" and startup.spare_when_spiky:
        low += startup.spare_when_spiky
        why_low += (
            f"; spiky traffic and slow startup -> +{startup.spare_when_spiky} spare "
            "instance kept warm, since new ones arrive too late for a spike"
        )
    high = max(low, math.ceil(traffic.max * pattern.max_factor))
    why_high = f"traffic: {answers['traffic']} -> {traffic.max}"
    if pattern.max_factor != 1:
        why_high += f"; pattern: {answers['pattern']} -> x{pattern.max_factor:g} = {high}"
    return _override_instances(app, low, high, (why_low, why_high), reasons, warnings)


def _override_instances(
    app: App, low: int, high: int, why: tuple[str, str], reasons: dict[str, str], warnings: list[str]
) -> tuple[int, int]:
    want_min, want_max = app.instances.min, app.instances.max
    why_low, why_high = why
    if want_min is not None:
        low, why_low = want_min, f"instances.min: {want_min} in the spec"
    if want_max is not None:
        high, why_high = want_max, f"instances.max: {want_max} in the spec"
    if low > high and want_max is not None and want_min is None:
        low, why_low = high, f"{why_low}; lowered to instances.max ({high}) set in the spec"
    elif low > high:
        high, why_high = low, f"{why_high}; raised to instances.min ({low}) set in the spec"
    if app.port and low < 2 and (app.profile.latency == "sensitive") and want_min is not None:
        warnings.append(
            "latency-sensitive, yet instances.min is 1: a single instance means "
            "downtime on every restart or deploy"
        )
    reasons["min_instances"], reasons["max_instances"] = why_low, why_high
    return low, high


def _size(
    app: App, answers: dict[str, str], rules: Rules, reasons: dict[str, str]
) -> tuple[float, float, int]:
    row = rules.workload[answers["workload"]]
    cpu, memory = row.cpu, row.memory_mb
    reasons["cpu"] = reasons["memory"] = f"workload: {answers['workload']} -> {row.why}"
    if app.size.cpu is not None:
        cpu = app.size.cpu
        reasons["cpu"] = f"size.cpu: {cpu:g} in the spec"
    if app.size.memory is not None:
        memory = app.size.memory
        reasons["memory"] = f"size.memory: {memory} MB in the spec"
    cpu_limit = round(cpu * row.cpu_limit_factor, 3)
    reasons["cpu_limit"] = (
        f"bursts to {row.cpu_limit_factor:g}x its CPU, so short bursts are not "
        "slowed; its memory is its own in full, so an instance is never stopped "
        "for memory its server promised elsewhere"
    )
    return cpu, cpu_limit, memory


def _probes(
    app: App, answers: dict[str, str], rules: Rules, reasons: dict[str, str]
) -> tuple[Probe | None, Probe | None, Probe | None]:
    if app.port is None:
        reasons["checks"] = "no port: nothing to check over the network; a crashed process restarts"
        return None, None, None
    startup = rules.startup[answers["startup"]]
    latency = rules.latency[answers["latency"]]
    checks = rules.checks
    path = app.health.path if app.health else None
    failures = math.ceil(startup.budget_s / startup.period_s)
    what = f"GET {path}" if path else f"a connection to port {app.port}"
    reasons["checks"] = (
        f"{what}; startup: {answers['startup']} -> up to {startup.budget_s} s to "
        f"start; checked ready for traffic every {latency.readiness_period_s} s "
        f"(latency: {answers['latency']}); checked alive every "
        f"{checks.liveness_period_s} s"
    )
    return (
        Probe(path, app.port, startup.period_s, failures, checks.readiness_timeout_s),
        Probe(
            path, app.port, latency.readiness_period_s, checks.readiness_failures, checks.readiness_timeout_s
        ),
        Probe(path, app.port, checks.liveness_period_s, checks.liveness_failures, checks.liveness_timeout_s),
    )


@dataclass(frozen=True)
class RunSize:
    """CPU and memory for something that runs to completion: a job's run, a release step."""

    cpu_request: float
    cpu_limit: float
    memory_mb: int
    reasons: dict[str, str] = field(default_factory=dict)


def size_run(
    workload: str, size: Size, rules: Rules | None = None, *, fallback: Sizing | None = None
) -> RunSize:
    """A run's size: the workload's row of the rules, or (a release step) the app's own size;
    `size:` in the spec wins either way."""
    rules = rules or sizing_rules()
    row = rules.workload[workload]
    if fallback is not None:
        cpu, memory = fallback.cpu_request, fallback.memory_request_mb
        why = "the app's own size (its release step runs with what the app has)"
    else:
        cpu, memory, why = row.cpu, row.memory_mb, f"workload: {workload} -> {row.why}"
    reasons = {"cpu": why, "memory": why}
    if size.cpu is not None:
        cpu, reasons["cpu"] = size.cpu, f"size.cpu: {size.cpu:g} in the spec"
    if size.memory is not None:
        memory, reasons["memory"] = size.memory, f"size.memory: {size.memory} MB in the spec"
    return RunSize(cpu, round(cpu * row.cpu_limit_factor, 3), memory, reasons)
