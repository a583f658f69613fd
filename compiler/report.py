"""The plan as people and programs read it: text and the JSON of CONTRACT.md section 3.

Pure: a plan in, a string or a JSON-ready dict out. Words are the spec's own (apps, instances,
environments, size), never the cluster's.
"""

from __future__ import annotations

from typing import Any

from unhazzle.compiler.pin import split_pinned
from unhazzle.compiler.plan import AppPlan, EnvPlan, Plan


def plan_json(plan: Plan) -> dict[str, Any]:
    """The machine-readable plan; fields may be added, never renamed."""
    return {
        "project": plan.project,
        "region": plan.region,
        "environments": [_env_json(env) for env in plan.environments],
        "warnings": warnings(plan),
    }


def _env_json(env: EnvPlan) -> dict[str, Any]:
    return {"name": env.name, "badge": env.badge, "apps": [_app_json(app) for app in env.apps]}


def _app_json(app: AppPlan) -> dict[str, Any]:
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
        "public_urls": app.public_urls,
        "volume_gb": round(app.app.volume.size / 1024, 3) if app.app.volume else None,
        "profile": dict(s.answers),
        "secrets": list(app.secrets),
    }


def warnings(plan: Plan) -> list[dict[str, str]]:
    """Each warning once, with the app (and environment) it concerns."""
    seen: set[tuple[str, str]] = set()
    out: list[dict[str, str]] = []
    for env in plan.environments:
        for app in env.apps:
            for message in app.warnings:
                if (app.name, message) in seen:
                    continue
                seen.add((app.name, message))
                out.append({"app": app.name, "environment": env.name, "message": message})
    return out


def plan_text(plan: Plan) -> str:
    lines = [f"{plan.project} (region {plan.region})", ""]
    for env in plan.environments:
        lines += _env_text(env)
    notes = warnings(plan)
    if notes:
        lines.append("warnings:")
        lines += [f"  {w['app']} ({w['environment']}): {w['message']}" for w in notes]
    return "\n".join(lines).rstrip() + "\n"


def _env_text(env: EnvPlan) -> list[str]:
    lines = [f"{env.name} [{env.badge}]"]
    width = max(len(app.name) for app in env.apps)
    for app in env.apps:
        s = app.sizing
        count = (
            f"{s.min_instances} instance{'s' * (s.min_instances > 1)}"
            if s.min_instances == s.max_instances
            else f"{s.min_instances}-{s.max_instances} instances"
        )
        lines.append(
            f"  {app.name:<{width}}  {count}  "
            f"{s.cpu_request:g} vCPU (up to {s.cpu_limit:g})  {s.memory_request_mb} MB  "
            f"autoscales at {s.target_cpu_percent}% CPU, up after {s.scale_up_cooldown_s} s, "
            f"down after {s.scale_down_cooldown_s} s"
        )
        pad = " " * (width + 4)
        image, digest = split_pinned(app.app.image)
        if digest:
            lines.append(f"{pad}image     {image} @ {digest}")
        if app.app.volume:
            lines.append(f"{pad}volume    {app.app.volume.size / 1024:g} GB at {app.app.volume.path}")
        if app.internal_url:
            lines.append(f"{pad}internal  {app.internal_url}")
        lines += [f"{pad}public    {url}" for url in app.public_urls]
    lines.append("")
    return lines
