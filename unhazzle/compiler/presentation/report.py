"""The plan as people and programs read it: text and the JSON of CONTRACT.md section 3.

Pure: a plan in, a string or a JSON-ready dict out. Words are the spec's own (apps, instances,
environments, size), never the cluster's.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from unhazzle.compiler.images.pin import split_pinned
from unhazzle.compiler.planning.cost import (
    HOURS_PER_MONTH,
    AppCost,
    EnvCost,
    JobCost,
    PlanCost,
    cents,
    cost_json,
    current_rates,
    price_plan,
    small_eur,
)
from unhazzle.compiler.planning.plan import AppPlan, EnvPlan, JobPlan, Plan
from unhazzle.shared.quantity import size_text


def plan_json(plan: Plan, cost: PlanCost | None = None) -> dict[str, Any]:
    """The machine-readable plan; fields may be added, never renamed. *cost*: today's by default."""
    cost = cost or price_plan(plan, current_rates())
    names = [env.name for env in plan.environments]
    return {
        "project": plan.project,
        "region": plan.region,
        "environments": [_env_json(env, cost.environments[env.name]) for env in plan.environments],
        "cost_eur_month": cost_json(*cost.total(names)),
        "prices": prices_json(cost),
        "warnings": warnings(plan),
    }


def prices_json(cost: PlanCost) -> dict[str, Any]:
    """Which price table and unit prices the costs come from."""
    r = cost.rates
    return {
        "table": r.table.isoformat(),
        "node_type": r.node_type,
        "vcpu_eur_month": float(round(r.vcpu_eur_month, 4)),
        "memory_gb_eur_month": float(round(r.gb_eur_month, 4)),
        "vcpu_eur_hour": float(round(r.vcpu_eur_month / HOURS_PER_MONTH, 6)),
        "memory_gb_eur_hour": float(round(r.gb_eur_month / HOURS_PER_MONTH, 6)),
        "volume_gb_eur_month": float(r.volume_gb_eur_month),
        "public_app_eur_month": float(r.public_eur_month),
        "estimates": list(r.estimates),
    }


def _env_json(env: EnvPlan, cost: EnvCost) -> dict[str, Any]:
    return {
        "name": env.name,
        "badge": env.badge,
        "apps": [_app_json(app, cost.apps[app.name]) for app in env.apps],
        "jobs": [_job_json(job, cost.jobs[job.name]) for job in env.jobs],
        "cost_eur_month": cost_json(cost.min, cost.max),
        "budget_eur_month": env.budget.max_monthly_eur if env.budget else None,
    }


def _app_json(app: AppPlan, cost: AppCost) -> dict[str, Any]:
    s = app.sizing
    return {
        "name": app.name,
        "image": app.app.image,
        "image_digest": split_pinned(app.app.image)[1],
        "instances": {"min": s.min_instances, "max": s.max_instances},
        "cpu": {"request": s.cpu_request, "limit": s.cpu_limit},
        "memory_mb": {"request": s.memory_request_mb, "limit": s.memory_limit_mb},
        "autoscaling": {
            "target_cpu_percent": s.target_cpu_percent,
            "scale_up_cooldown_s": s.scale_up_cooldown_s,
            "scale_down_cooldown_s": s.scale_down_cooldown_s,
        },
        "internal_url": app.internal_url,
        "address": app.address,
        "public_urls": app.public_urls,
        "volume_gb": round(app.app.volume.size / 1024, 3) if app.app.volume else None,
        "writable": [{"path": w.path, "size_mb": w.size} for w in app.app.writable],
        "profile": dict(s.answers),
        "secrets": list(app.secrets),
        "after": list(app.app.after),
        "release_step": {
            "command": list(app.release.command),
            "timeout_s": app.release.timeout_s,
            "cpu": app.release.size.cpu_request,
            "memory_mb": app.release.size.memory_mb,
        }
        if app.release
        else None,
        "cost_eur_month": cost_json(cost.min, cost.max),
    }


def _job_json(job: JobPlan, cost: JobCost) -> dict[str, Any]:
    spec = job.job
    return {
        "name": job.name,
        "image": spec.image,
        "image_digest": split_pinned(spec.image)[1],
        "schedule": spec.schedule,
        "timezone": spec.timezone,
        "runs_a_month": round(job.runs_a_month, 1),
        "timeout_s": spec.timeout,
        "retries": spec.retries,
        "overlap": spec.overlap,
        "cpu": {"request": job.size.cpu_request, "limit": job.size.cpu_limit},
        "memory_mb": {"request": job.size.memory_mb, "limit": job.size.memory_mb},
        "secrets": list(job.secrets),
        "cost_eur_run": float(round(cost.run, 4)),
        "cost_eur_month": cost_json(cost.month, cost.month),
    }


def warnings(plan: Plan) -> list[dict[str, Any]]:
    """Each warning once, with the app and every environment it concerns ("environment" is the
    first of them, as the field was before the list was added)."""
    found: dict[tuple[str, str], list[str]] = {}
    for env in plan.environments:
        owners: list[AppPlan | JobPlan] = [*env.apps, *env.jobs]
        for app in owners:
            for message in app.warnings:
                where = found.setdefault((app.name, message), [])
                if env.name not in where:
                    where.append(env.name)
    return [
        {"app": app, "environment": envs[0], "environments": envs, "message": message}
        for (app, message), envs in found.items()
    ]


def where(warning: dict[str, Any]) -> str:
    """The environments a warning concerns, for a line of text."""
    return ", ".join(warning["environments"])


def eur_range(low: Decimal, high: Decimal) -> str:
    """12.40 EUR, or 12.40-62.00 EUR when scale changes the cost."""
    low, high = cents(low), cents(high)
    return f"{low} EUR" if low == high else f"{low}-{high} EUR"


def prices_line(cost: PlanCost) -> str:
    r = cost.rates
    estimated = f"; estimated: {', '.join(r.estimates)}" if r.estimates else ""
    return (
        f"prices of {r.table} (Hetzner, net of VAT): {r.node_type} servers give "
        f"{r.vcpu_eur_month:.4f} EUR per vCPU and {r.gb_eur_month:.4f} EUR per GB of memory a month"
        f"{estimated}"
    )


def runs_text(runs: float) -> str:
    """About how often a schedule runs, in words a person reads at a glance."""
    if runs >= 24 * 30:
        return f"about {_times(runs / (24 * 30.44))} an hour"
    if runs >= 60:
        return f"about {_times(runs / 30.44)} a day"
    return f"about {_times(runs)} a month" if runs >= 1 else f"{runs:.2f} times a month"


def _times(count: float) -> str:
    return "once" if round(count) == 1 else f"{count:.0f} times"


def plan_text(plan: Plan, cost: PlanCost | None = None) -> str:
    cost = cost or price_plan(plan, current_rates())
    lines = [f"{plan.project} (region {plan.region})", ""]
    for env in plan.environments:
        lines += _env_text(env, cost.environments[env.name])
    low, high = cost.total([env.name for env in plan.environments])
    lines += [f"total: {eur_range(low, high)} a month (at minimum-maximum scale)", prices_line(cost), ""]
    notes = warnings(plan)
    if notes:
        lines.append("warnings:")
        lines += [f"  {w['app']} ({where(w)}): {w['message']}" for w in notes]
    return "\n".join(lines).rstrip() + "\n"


def _env_text(env: EnvPlan, cost: EnvCost) -> list[str]:
    budget = f", budget {env.budget.max_monthly_eur:g} EUR" if env.budget else ""
    lines = [f"{env.name} [{env.badge}]  {eur_range(cost.min, cost.max)} a month{budget}"]
    width = max(len(name) for name in [*(a.name for a in env.apps), *(j.name for j in env.jobs)])
    for app in env.apps:
        s = app.sizing
        count = (
            f"{s.min_instances} instance{'s' * (s.min_instances > 1)}"
            if s.min_instances == s.max_instances
            else f"{s.min_instances}-{s.max_instances} instances"
        )
        scaling = (
            "no autoscaling"
            if s.min_instances == s.max_instances
            else f"autoscales at {s.target_cpu_percent}% CPU, up after {s.scale_up_cooldown_s} s, "
            f"down after {s.scale_down_cooldown_s} s"
        )
        lines.append(
            f"  {app.name:<{width}}  {count}  "
            f"{s.cpu_request:g} vCPU (up to {s.cpu_limit:g})  {s.memory_request_mb} MB  {scaling}"
        )
        pad = " " * (width + 4)
        image, digest = split_pinned(app.app.image)
        if digest:
            lines.append(f"{pad}image     {image} @ {digest}")
        lines.append(f"{pad}cost      {eur_range(cost.apps[app.name].min, cost.apps[app.name].max)} a month")
        if app.app.volume:
            lines.append(f"{pad}volume    {app.app.volume.size / 1024:g} GB at {app.app.volume.path}")
        if app.app.writable:
            folders = ", ".join(f"{w.path} ({size_text(w.size)})" for w in app.app.writable)
            lines.append(f"{pad}writable  {folders}; emptied at every start")
        if app.release:
            r = app.release
            lines.append(
                f"{pad}release   {' '.join(r.command)} before each new version rolls out; "
                f"{r.size.cpu_request:g} vCPU, {r.size.memory_mb} MB, at most {duration(r.timeout_s)}"
            )
        if app.app.after:
            lines.append(
                f"{pad}order     after {', '.join(app.app.after)}: "
                "its new version waits for theirs to be healthy"
            )
        if app.address:
            lines.append(f"{pad}internal  {app.address} (from the environment's other apps)")
        lines += [f"{pad}public    {url}" for url in app.public_urls]
    for job in env.jobs:
        lines += _job_text(job, cost.jobs[job.name], width)
    lines.append("")
    return lines


def _job_text(job: JobPlan, cost: JobCost, width: int) -> list[str]:
    spec, size = job.job, job.size
    pad = " " * (width + 4)
    overlap = "runs may overlap" if spec.overlap else "never two runs at once"
    return [
        f"  {job.name:<{width}}  job: {spec.schedule} ({spec.timezone}), {runs_text(job.runs_a_month)}; "
        f"{size.cpu_request:g} vCPU (up to {size.cpu_limit:g})  {size.memory_mb} MB",
        f"{pad}runs      at most {duration(spec.timeout)} each, "
        f"{spec.retries} retr{'y' if spec.retries == 1 else 'ies'}; {overlap}",
        f"{pad}cost      at most {small_eur(cost.run)} EUR a run, {cost.month} EUR a month",
    ]


def duration(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"
